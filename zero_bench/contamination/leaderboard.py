"""Contamination next to leaderboard scores.

Audit reports (``zero-bench contamination``) of pre-training corpora are kept in ``leaderboard/contamination/``
(one JSON report per corpus).  A model declares its pre-training data in its Result (``model.training_data``);
when that declaration names an audited corpus (its registry name, e.g. ``Zero-250M`` for ``zero-250m``), each of
its entries shows the share of the task split's evaluation images found in that corpus.  The report must cover
the entry's split with the same annotation checksum, otherwise nothing is shown.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from zero_bench.contamination.report import read_report

FOLDER = "contamination"
COLUMN = "contamination"
LABEL = "Images in training corpus (%)"


def load_reports(root: Path) -> dict[str, dict]:
    """Corpus name -> audit report, from ``<root>/contamination/*.json``."""
    folder = Path(root) / FOLDER
    reports: dict[str, dict] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        report = read_report(path)
        reports[str(report["corpus"].get("name", path.stem)).lower()] = report
    return reports


def declared_corpus(training_data: str, reports: dict[str, dict]) -> str | None:
    """The audited corpus the declaration names (whole name, case-insensitive), if exactly one."""
    named = [
        name
        for name in reports
        if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", training_data.lower()) is not None
    ]
    return named[0] if len(named) == 1 else None


def image_rate(report: dict, task: str, split: str, annotation_sha256: str | None) -> float:
    """Percentage of the split's evaluation images found in the corpus; NaN when the report does not cover it."""
    block = report["tasks"].get(task, {}).get(split)
    if not block or (annotation_sha256 and block.get("annotation_sha256") != annotation_sha256):
        return math.nan
    return 100.0 * float(block["images"]["rate"])


def add_contamination(frame: pd.DataFrame, loaded: list[Any], root: Path) -> pd.DataFrame:
    """``frame`` (one row per entry: slug, task, setting, status) with the column ``contamination``."""
    reports = load_reports(root)
    rates: dict[tuple[str, str, str, str], float] = {}
    for item in loaded:
        corpus = declared_corpus(item.file.model.training_data, reports)
        for e in item.file.entries:
            rate = image_rate(reports[corpus], e.task, e.split, e.annotation_sha256) if corpus else math.nan
            rates[(item.slug, e.task, e.setting, e.status)] = rate
    keys = zip(frame["slug"], frame["task"], frame["setting"], frame["status"], strict=True)
    return frame.assign(**{COLUMN: [rates.get(k, math.nan) for k in keys]})


def contamination_cell(table: pd.DataFrame, part: pd.DataFrame) -> pd.DataFrame:
    """Add the contamination column to a task table when any of its entries has an audited corpus."""
    if COLUMN in part and part[COLUMN].notna().any():
        table[LABEL] = part[COLUMN].astype(float).to_numpy()
    return table
