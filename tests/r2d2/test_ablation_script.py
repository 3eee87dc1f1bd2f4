"""benchmarks/ablation.py --quick end to end: every row recorded with its retrieval, matching and probe figures, and
the table printed from the records alone (``--table``), as the parallel-seed workflow uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "ablation.py"


@pytest.mark.slow
def test_quick_ablation_records_every_column(tmp_path):
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr[-2000:]
    records = [json.loads(line) for line in (tmp_path / "seed-0" / "ablation.jsonl").read_text().splitlines()]
    assert [r["objectives"] for r in records] == ["GCPR only", "+ TgD/FgD (all)"]
    for r in records:
        assert 0 <= r["dual_r_mean"] <= 100 and 0 <= r["rerank_r_mean"] <= 100
        assert 0 <= r["icm_auc"] <= 100 and 0 <= r["iqm_auc"] <= 100
        assert 0 <= r["shape_probe_cls"] <= 100 and 0 <= r["color_probe_cls"] <= 100
    table = subprocess.run(
        [sys.executable, str(SCRIPT), "--table", "--out", str(tmp_path)], capture_output=True, text=True, env=env
    )
    header, *rows = [line for line in table.stdout.splitlines() if line.startswith("| ")]
    assert "shape probe" in header and "IQM" in header
    assert [row.split(" | ")[0] for row in rows] == ["| GCPR only", "| + TgD/FgD (all)"]
