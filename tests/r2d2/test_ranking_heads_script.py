"""benchmarks/ranking_heads.py on a random r2d2-toy and a small zero-toy: one row per score, the cosine row equal to
the evaluator's dual-encoder result for the same checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys
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
