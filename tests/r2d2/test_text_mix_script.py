"""benchmarks/text_mix.py smoke run: one run per mix asked for, its record written, the table built from the
records (one row per mix, seven task columns and the chance row)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quick_run_writes_records_and_table(tmp_path: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(REPO / "benchmarks" / "text_mix.py"), "--out", str(tmp_path), "--quick"]
    done = subprocess.run(
        cmd + ["--mixes", "uniform (the quickstart)", "query only"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("seed-0/*/run.json"))]
    assert sorted(r["mix"] for r in records) == ["query only", "uniform (the quickstart)"]
    assert all(r["steps"] == 2 for r in records)
    assert next(r for r in records if r["mix"] == "query only")["text_mix"] == {"query": 1.0}
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert len(table) == 2 + 2 + 1  # header, rule, two mixes, chance
    assert all(len(line.strip("|").split("|")) == 9 for line in table)
    assert "| chance |" in table[-1]
