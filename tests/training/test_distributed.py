"""torchrun with 2 processes (gloo) on a fixed batch == one process with the whole batch: losses and gradients."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

WORKER = Path(__file__).with_name("dist_worker.py")


def _run(args: list[str], tmp_path: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
def test_two_process_ddp_matches_single_process(tmp_path):
    single, dist = tmp_path / "single.pt", tmp_path / "dist.pt"
    _run([str(WORKER), str(single)], tmp_path)
    _run(["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(WORKER), str(dist)], tmp_path)
    a, b = torch.load(single, weights_only=True), torch.load(dist, weights_only=True)
    for step, (ra, rb) in enumerate(zip(a, b, strict=False)):
        assert set(ra["losses"]) == {"gcpr", "fgr", "mlm", "fgd", "loss"}
        for key, value in ra["losses"].items():
            assert abs(value - rb["losses"][key]) < 1e-4 * max(1.0, abs(value)), (step, key, value, rb["losses"][key])
        assert set(ra["grads"]) == set(rb["grads"])
        assert len(ra["grads"]) > 50
        for name, g in ra["grads"].items():
            tol = 1e-6 + 1e-4 * float(g.abs().max())
            assert torch.allclose(g, rb["grads"][name], rtol=1e-3, atol=tol), (
                step,
                name,
                (g - rb["grads"][name]).abs().max(),
            )
    # the second iteration really used the queue and a moved teacher: its losses differ from the first
    assert a[0]["losses"]["gcpr"] != a[1]["losses"]["gcpr"]
