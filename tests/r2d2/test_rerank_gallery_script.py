"""benchmarks/rerank_gallery.py on a random r2d2-toy: each row equal to the evaluator's dual-encoder and re-ranked
result on the val set the script generated, and a larger val set starting with the images of a smaller one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_rerank_gallery_rows_match_the_evaluator(tmp_path: Path) -> None:
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.plugin import create_r2d2
    from zero_bench_r2d2.testing import save_random_checkpoint

    ckpt = save_random_checkpoint(tmp_path / "toy.pt", config="r2d2-toy")
    root = tmp_path / "vals"
    cmd = [sys.executable, str(REPO / "benchmarks" / "rerank_gallery.py"), f"{ckpt}@3", "--sizes", "6", "12"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        cmd + ["--tasks", "iqr", "--data-root", str(root)], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split(" | ") for line in done.stdout.splitlines() if line.startswith(f"| {ckpt} |")]
    assert [(r[1], r[2], r[3]) for r in rows] == [("3", "iqr", "6"), ("3", "iqr", "12")]
    model = create_r2d2(checkpoint=str(ckpt), config="r2d2-toy")
    for row in rows:
        data = root / f"seed3-val{row[3]}" / "zero-toy" / "ccmb"
        dual, reranked = (
            evaluate(model, get_task("iqr"), "val", data_dir=data, top_k=k, use_cache=False, device="cpu")
            for k in (0, None)
        )
        assert float(row[4]) == pytest.approx(dual.metrics["r_mean"], abs=0.005)
        assert float(row[5]) == pytest.approx(reranked.metrics["r_mean"], abs=0.005)
    small, large = (
        (root / f"seed3-val{n}" / "zero-toy" / "ccmb" / "IQR" / "val" / "short_itr_val.json").read_text().splitlines()
        for n in (6, 12)
    )
    assert len(small) == 6 and len(large) == 12 and large[:6] == small
    assert [json.loads(line)["text"] for line in small] == [json.loads(line)["text"] for line in large[:6]]
    assert "| iqr | 12 | 1 |" in done.stdout


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (["x.pt", "--sizes", "0"], 2, "--sizes"),
        (["x.pt@one"], 2, "x.pt@one"),
        (["missing.pt@1", "--sizes", "4"], 1, "missing.pt"),
    ],
)
def test_rerank_gallery_refuses_bad_input_in_one_line(tmp_path: Path, args: list[str], code: int, named: str) -> None:
    cmd = [sys.executable, str(REPO / "benchmarks" / "rerank_gallery.py"), *args, "--data-root", str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == code and named in done.stderr.splitlines()[-1], done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert not any(tmp_path.iterdir())
