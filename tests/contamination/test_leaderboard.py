"""The leaderboard shows, next to a score, the share of the task's evaluation images in the declared corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from zero_bench.contamination.leaderboard import LABEL, declared_corpus
from zero_bench.contamination.report import FORMAT
from zero_bench.leaderboard.build import render

REPO = Path(__file__).resolve().parents[2]


def _report(name: str, task: str, split: str, rate: float, sha: str | None = None) -> dict:
    block = {"total": 8, "count": round(rate * 8), "rate": rate, "corpus_rows": 1, "matches": []}
    return {
        "format": FORMAT,
        "corpus": {"name": name, "fingerprint": "f" * 64},
        "thresholds": {},
        "tasks": {
            task: {split: {"annotation_sha256": sha or "a" * 64, "images": block, "texts": block, "pairs": block}}
        },
        "corpus_rows": {"images": [], "texts": []},
    }


def test_declared_corpus_needs_the_whole_name() -> None:
    reports: dict[str, dict] = {"zero-250m": {}, "zero-23m": {}, "zero-2.3m": {}}
    assert declared_corpus("Zero-250M (250M images, 750M texts)", reports) == "zero-250m"
    assert declared_corpus("pre-trained on zero-2.3m", reports) == "zero-2.3m"
    assert declared_corpus("Zero-2.3M plus Zero-23M", reports) is None  # two corpora: no single audit applies
    assert declared_corpus("Wukong (100M Chinese image-text pairs)", reports) is None


def test_task_table_shows_the_rate_for_the_audited_corpus_only(tmp_path) -> None:
    lb = tmp_path / "lb"
    shutil.copytree(REPO / "leaderboard", lb)
    before = render(lb)["README.md"].decode()
    assert LABEL not in before
    (lb / "contamination").mkdir()
    (lb / "contamination" / "zero-250m.json").write_text(json.dumps(_report("zero-250m", "muge", "valid", 0.125)))
    readme = render(lb)["README.md"].decode()
    muge = readme.split("(`muge`")[1].split("\n### ")[0]
    assert LABEL in muge
    rows = [line for line in muge.splitlines() if line.startswith("| ") and "---" not in line and "Model" not in line]
    r2d2 = [line for line in rows if "R2D2" in line]
    others = [line for line in rows if "R2D2" not in line]
    assert r2d2 and all("| 12.50 |" in line for line in r2d2)
    assert others and all("| 12.50 |" not in line for line in others)
    # a task the report does not cover gets no column
    assert LABEL not in readme.split("(`coco-cn`")[1].split("\n### ")[0]
