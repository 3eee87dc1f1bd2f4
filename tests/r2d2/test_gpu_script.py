"""benchmarks/gpu.sh in its CPU smoke mode: runs end to end and prints the one table, every figure measured."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_script_smoke_mode_prints_the_table() -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        ["bash", str(REPO / "benchmarks" / "gpu.sh"), "--device", "cpu"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=1500,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and not line.startswith("| what")]
    assert [row.split(" | ")[0][2:] for row in rows] == [
        "image encoding (images/s)",
        "text encoding (texts/s)",
        "re-ranking (pairs/s)",
        "pre-training step (samples/s)",
    ]
    for row in rows:
        ours = float(row.split(" | ")[1])
        assert ours > 0
    assert re.search(r"top-10 agree 1\.000", rows[2])  # both ways give the same rankings
    assert re.search(r"[0-9.]+ GFLOP/sample", rows[3]) and "MFU n/a" in rows[3]  # no peak known for a CPU
