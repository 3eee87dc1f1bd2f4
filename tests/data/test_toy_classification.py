"""zero-toy's shape x colour classification set: the ELEVATER-CN layout the reader accepts, deterministic, and
evaluated zero-shot with the toy's own templates."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_task_dir
from zero_bench.data.toy_classes import FOLDER, TEMPLATES, classes
from zero_bench.evaluation.evaluator import evaluate
from zero_bench.formats import ClassificationData, load_split
from zero_bench.taskspec import get_task
from zero_bench.testing import ColourModel

SMALL = ToySizes(
    corpus=1, itr_train=1, itr_val=1, itm_train=2, itm_val=2, flickr_train=1, flickr_val=1, flickr_test=1,
    shapes_per_class=2,
)  # fmt: skip


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("toy-shapes")
    generate_zero_toy(root, seed=3, sizes=SMALL, corpus=False)
    return toy_task_dir(root)


def test_layout_read_by_the_classification_reader(toy: Path) -> None:
    data = load_split(get_task("zero-toy-shapes"), toy)
    assert isinstance(data, ClassificationData)
    assert data.num_classes == 49 and data.num_images == 98 and data.class_folders[0] == "000"
    assert data.class_names is not None and data.class_names[0] == "红色圆形" and len(set(data.class_names)) == 49
    assert (toy / FOLDER / "templates.json").is_file()


def test_same_seed_same_files(toy: Path, tmp_path: Path) -> None:
    generate_zero_toy(tmp_path, seed=3, sizes=SMALL, corpus=False)
    assert _digests(toy / FOLDER) == _digests(toy_task_dir(tmp_path) / FOLDER)
    generate_zero_toy(tmp_path / "other", seed=4, sizes=SMALL, corpus=False)
    assert _digests(toy / FOLDER) != _digests(toy_task_dir(tmp_path / "other") / FOLDER)


def test_zero_shot_with_the_toy_templates(toy: Path) -> None:
    result = evaluate(
        ColourModel(),
        "zero-toy-shapes",
        data_dir=toy,
        templates=toy / FOLDER / "templates.json",
        use_cache=False,
        device="cpu",
    )
    assert result.classification is not None and result.classification.prompts_per_class == len(TEMPLATES)
    assert result.num_queries == {"images": 98, "classes": len(classes())}
    assert result.classification.templates_source == "file templates.json"
    assert set(result.metrics) == {"acc1", "acc5", "mean_per_class_recall"}
