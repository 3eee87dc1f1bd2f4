"""The ELEVATER-CN and ImageNet val/ readers: image order and ids as torchvision's ImageFolder takes them, and one
line naming the file for every broken layout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from torchvision.datasets import ImageFolder

from zero_bench.errors import DataFormatError
from zero_bench.formats import ClassificationData, load_split
from zero_bench.taskspec import get_task, suite_tasks
from zero_bench.testing import colour_image, make_elevater_folder, write_jpeg


def _load(root: Path, task: str = "cifar-10-cn") -> ClassificationData:
    data = load_split(get_task(task), root)
    assert isinstance(data, ClassificationData)
    return data


def test_suites_and_task_files() -> None:
    elevater = suite_tasks("elevater-cn")
    assert len(elevater) == 20 and all(name.endswith("-cn") for name in elevater)
    assert suite_tasks("classification") == sorted([*elevater, "imagenet-cn", "zero-toy-shapes"])
    assert get_task("food-101-cn").cn_clip_templates == "food_templates"
    assert get_task("imagenet-cn").clip_benchmark_dataset == "imagenet1k"


def test_order_equals_image_folder(tmp_path: Path) -> None:
    folder = make_elevater_folder(tmp_path, n_classes=12, per_class=2)
    (folder / "test" / "003" / "notes.txt").write_text("not an image")  # skipped, as ImageFolder skips it
    data = _load(tmp_path)
    reference = ImageFolder(str(folder / "test"))
    assert [Path(p) for p, _ in reference.samples] == [item.path for item in data.images]
    assert data.labels.tolist() == [t for _, t in reference.samples]
    assert data.image_ids.tolist() == list(range(24)) and data.num_classes == 12
    assert data.class_names is not None and data.class_names[0] == "红色"


def test_index_json_sets_the_image_order(tmp_path: Path) -> None:
    folder = make_elevater_folder(tmp_path, index=True)
    order = json.loads((folder / "index.json").read_text())
    plain = ImageFolder(str(folder / "test")).samples
    data = _load(tmp_path)
    assert [item.path for item in data.images] == [Path(plain[p][0]) for p in order]
    assert data.labels.tolist() == [plain[p][1] for p in order]


def test_checksum_follows_the_listing(tmp_path: Path) -> None:
    folder = make_elevater_folder(tmp_path)
    before = _load(tmp_path).annotation_sha256
    assert _load(tmp_path).annotation_sha256 == before
    write_jpeg(folder / "test" / "0" / "img_999.jpg", colour_image(0))
    assert _load(tmp_path).annotation_sha256 != before


def _broken(tmp_path: Path, damage) -> str:
    folder = make_elevater_folder(tmp_path)
    damage(folder)
    with pytest.raises(DataFormatError) as caught:
        _load(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_id_folder_without_a_label_line(tmp_path: Path) -> None:
    def damage(folder: Path) -> None:
        lines = (folder / "label_cn.txt").read_text(encoding="utf-8").splitlines()
        (folder / "label_cn.txt").write_text("\n".join(lines[:9]) + "\n", encoding="utf-8")

    assert "class id 9 has no line in label_cn.txt" in _broken(tmp_path, damage)


def test_label_line_without_a_folder(tmp_path: Path) -> None:
    message = _broken(tmp_path, lambda folder: shutil.rmtree(folder / "test" / "4"))
    assert "label_cn.txt" in message and "class 4 has a label line but no folder" in message


def test_empty_class(tmp_path: Path) -> None:
    def damage(folder: Path) -> None:
        for image in (folder / "test" / "2").iterdir():
            image.unlink()

    assert "class 2 has no image" in _broken(tmp_path, damage)


def test_unreadable_image(tmp_path: Path) -> None:
    def damage(folder: Path) -> None:
        (folder / "test" / "5" / "img_001.jpg").write_bytes(b"not a jpeg")

    message = _broken(tmp_path, damage)
    assert (
        message.startswith(str(tmp_path / "cifar-10" / "test" / "5" / "img_001.jpg")) and "unreadable image" in message
    )


def test_folder_name_against_the_id_rule(tmp_path: Path) -> None:
    message = _broken(tmp_path, lambda folder: (folder / "test" / "7").rename(folder / "test" / "007"))
    assert "'007' does not follow the id rule: 0-9" in message


def test_empty_label_line(tmp_path: Path) -> None:
    def damage(folder: Path) -> None:
        text = (folder / "label_cn.txt").read_text(encoding="utf-8").replace("蓝色\n", "\n")
        (folder / "label_cn.txt").write_text(text, encoding="utf-8")

    assert "label_cn.txt:3: empty class name" in _broken(tmp_path, damage)


@pytest.mark.parametrize("index", ["[0, 1]", "{}", "[1, 1, 2]", "nonsense"])
def test_bad_index_json(tmp_path: Path, index: str) -> None:
    message = _broken(tmp_path, lambda folder: (folder / "index.json").write_text(index))
    assert "index.json" in message


def test_duplicate_names_are_reported_not_dropped(tmp_path: Path, capsys) -> None:
    folder = make_elevater_folder(tmp_path)
    text = (folder / "label_cn.txt").read_text(encoding="utf-8").replace("绿色", "红色")
    (folder / "label_cn.txt").write_text(text, encoding="utf-8")
    data = _load(tmp_path)
    assert data.class_names is not None and data.class_names[:2] == ["红色", "红色"] and data.num_classes == 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "label_cn.txt" in err[0] and "lines 1, 2" in err[0]


def test_missing_label_file(tmp_path: Path) -> None:
    message = _broken(tmp_path, lambda folder: (folder / "label_cn.txt").unlink())
    assert "label_cn.txt: class-name file for cifar-10-cn not found" in message


def _imagenet(root: Path, wnids: list[str], per_class: int = 2) -> Path:
    for c, wnid in enumerate(wnids):
        for k in range(per_class):
            write_jpeg(root / "val" / wnid / f"ILSVRC2012_val_{c * per_class + k:08d}.JPEG", colour_image(c))
    return root


def test_imagenet_layout(tmp_path: Path) -> None:
    wnids = ["n01440764", "n01443537", "n01484850"]
    root = _imagenet(tmp_path, list(reversed(wnids)))
    data = load_split(get_task("imagenet-cn"), root)
    assert isinstance(data, ClassificationData)
    assert data.class_folders == wnids and data.class_names is None  # label file optional
    assert np.array_equal(data.labels, [0, 0, 1, 1, 2, 2])
    (root / "label_cn.txt").write_text("丁鲷\n金鱼\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="2 class names for 3 class folders"):
        load_split(get_task("imagenet-cn"), root)
    (root / "val" / "cat").mkdir()
    with pytest.raises(DataFormatError, match="'cat' is not a WordNet id"):
        load_split(get_task("imagenet-cn"), root)
