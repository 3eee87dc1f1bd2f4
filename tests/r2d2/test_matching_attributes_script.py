"""benchmarks/matching_attributes.py on a random r2d2-toy and a small zero-toy: the generator's replay of which
attribute each negative changes agrees with the task file, the P(match) AUC row equals the evaluator's IQM AUC,
and a toy made with another seed is refused in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "matching_attributes.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=600)


def _table(stdout: str) -> dict[str, list[str]]:
    return {
        cells[0]: cells[1:]
        for line in stdout.splitlines()
        if line.startswith("| ") and not line.startswith(("| negatives", "| image encoder"))
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }


@pytest.mark.slow
@pytest.mark.toy_sizes(itr_val=4, itm_val=40)
def test_attribute_rows_and_auc_match_the_evaluator(small_toy_and_checkpoint: tuple[Path, Path]) -> None:
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.plugin import create_r2d2

    data_dir, ckpt = small_toy_and_checkpoint
    common = [str(ckpt), "--data-dir", str(data_dir), "--pairs", "40"]
    done = _run(*common, "--toy-seed", "3", "--probe", "--probe-scenes", "90")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _table(done.stdout)
    assert int(rows["all"][0]) == 20 and set(rows) >= {"AUC over all rows", "color", "shape"}
    assert int(rows["color"][0]) + int(rows["shape"][0]) == 20  # a query negative changes a colour or a shape
    assert {"this checkpoint", "pre-training's init"} <= set(rows)
    iqm = evaluate(create_r2d2(checkpoint=str(ckpt), config="r2d2-toy"), get_task("iqm"), "val", data_dir=data_dir)
    assert float(rows["AUC over all rows"][-1]) == pytest.approx(iqm.metrics["auc"], abs=0.05)

    wrong = _run(*common, "--toy-seed", "4")
    assert wrong.returncode != 0
    assert "short_itm_val.json:1: not the toy generated with --toy-seed 4" in wrong.stderr.strip().splitlines()[-1]
