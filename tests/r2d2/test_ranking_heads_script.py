"""benchmarks/ranking_heads.py on a random r2d2-toy and a small zero-toy: one row per score, the cosine row equal to
the evaluator's dual-encoder result for the same checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_ranking_heads_rows_and_cosine_row_match_the_evaluator(small_toy_and_checkpoint: tuple[Path, Path]) -> None:
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.plugin import create_r2d2

    data_dir, ckpt = small_toy_and_checkpoint
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(REPO / "benchmarks" / "ranking_heads.py"), str(ckpt), "--data-dir", str(data_dir)]
    done = subprocess.run(cmd + ["--top-k", "8"], capture_output=True, text=True, env=env, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {
        line.split(" | ")[0][2:]: line.split(" | ")[1:]
        for line in done.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| score")
    }
    assert list(rows) == ["cosine", "text-query head", "image-query head", "P(match)", "P(match) + cosine"]
    for values in rows.values():
        assert 0.0 <= float(values[-1].rstrip(" |")) <= 100.0
    dual = evaluate(
        create_r2d2(checkpoint=str(ckpt), config="r2d2-toy"),
        get_task("icr"),
        "val",
        data_dir=data_dir,
        top_k=0,
        use_cache=False,
        device="cpu",
    )
    assert float(rows["cosine"][0]) == pytest.approx(dual.metrics["r_mean"], abs=0.005)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["missing.pt", "--data-dir", ".", "--task", "no-such-task"], "no-such-task"),
        (["missing.pt", "--data-dir", "."], "missing.pt"),
        (["CKPT", "--data-dir", "no-such-folder"], "no-such-folder"),
        (["CKPT", "--data-dir", "no-such-folder", "--split", "test"], "'test'"),
    ],
)
def test_ranking_heads_refuses_bad_input_in_one_line(tmp_path: Path, args: list[str], named: str) -> None:
    from zero_bench_r2d2.testing import save_random_checkpoint

    ckpt = save_random_checkpoint(tmp_path / "ckpt" / "toy.pt", config="r2d2-toy")
    work = tmp_path / "work"
    work.mkdir()
    cmd = [
        sys.executable,
        str(REPO / "benchmarks" / "ranking_heads.py"),
        *(str(ckpt) if a == "CKPT" else a for a in args),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=work, check=False)
    assert done.returncode == 1 and named in done.stderr.splitlines()[-1], done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert not any(work.iterdir())


def _script():
    import importlib.util

    spec = importlib.util.spec_from_file_location("ranking_heads", REPO / "benchmarks" / "ranking_heads.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("query", "image", "kind"),
    [
        ("红色圆形 蓝色星形", "蓝色星形 红色圆形", "same objects"),
        ("红色圆形", "红色圆形 蓝色星形", "superset"),
        ("红色圆形 红色圆形", "红色圆形 蓝色星形", "otherwise"),
        ("红色圆形 红色圆形", "红色圆形", "other count"),
        ("红色圆形 蓝色星形", "红色圆形", "other count"),
        ("红色圆形 蓝色星形", "红色星形 蓝色圆形", "other shapes"),
        ("红色圆形 蓝色星形", "蓝色圆形 红色星形", "other shapes"),
        ("红色圆形 蓝色星形", "绿色圆形 蓝色星形", "other colours"),
        ("红色圆形 蓝色星形", "绿色十字形 蓝色星形", "otherwise"),
    ],
)
def test_miss_kinds_of_toy_queries(query: str, image: str, kind: str) -> None:
    from zero_bench.data.toy import query_objects

    assert _script().miss_kind(query_objects(query), query_objects(image)) == kind


def test_top1_misses_counts_hits_and_kinds_and_refuses_other_texts() -> None:
    import numpy as np

    heads = _script()
    texts = ["红色圆形", "蓝色星形", "蓝色星形 红色圆形"]
    t2i = np.array([0, 1, 2])
    scores = np.array([[0.9, 0.1, 0.8], [0.2, 0.5, 0.1], [0.1, 0.6, 0.2]])  # [images, texts]
    # text 0 -> image 0 (hit); text 1 -> image 2 (a superset); text 2 -> image 0 (one object of two)
    # image 0 -> text 0 and image 1 -> text 1 (hits); image 2 -> text 1 (it names one of the image's two objects)
    assert heads.top1_misses(scores, texts, t2i) == {
        "text to image": {"hit": 1, "superset": 1, "other count": 1},
        "image to text": {"hit": 2, "superset": 1},
    }
    with pytest.raises(ValueError, match="not a zero-toy query"):
        heads.top1_misses(scores, ["红色圆形", "一只猫", "蓝色星形"], t2i)
    from zero_bench.data.toy import query, query_objects, random_scene

    with pytest.raises(ValueError, match="not a zero-toy query"):
        query_objects("红色三角")
    rng = np.random.default_rng(0)
    for _ in range(50):  # the parser reads back what the generator writes
        scene = random_scene(rng)
        assert query_objects(query(scene)) == Counter((o.color, o.shape) for o in scene.objects)
