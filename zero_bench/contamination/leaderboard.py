"""Contamination next to leaderboard scores.

Audit reports (``zero-bench contamination``) of training corpora are kept in ``leaderboard/contamination/`` (one
JSON report per corpus, keyed by the report's ``corpus.name``).  A model declares the corpora it was trained on in
its card (``training_corpora``: registry names such as ``zero-250m`` or Hub ids ``hf://datasets/ORG/NAME``); the
match is by those names only (the free text ``training_data`` is a description and is never searched).

For each entry, the reports of its declared corpora that cover the entry's split (same annotation checksum; a
published entry without one takes any) give the share of the split's evaluation images found in the training
data: one audited corpus, its image rate; several, the images found in at least one of them (the union of the
reports' matched evaluation image ids over the split's images; never a sum or a maximum).  No covering report,
no number.  The build writes each report's Markdown summary to ``contamination/<corpus>.md`` in the generated
site, and every number links to the summaries it comes from.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from zero_bench.contamination.report import read_report, summary
from zero_bench.errors import DataFormatError

FOLDER = "contamination"
COLUMN = "contamination"
CORPORA = "contamination_corpora"
LABEL = "Images in training corpora (%)"


@dataclass(frozen=True)
class Share:
    """The share (percent) of a split's evaluation images found in the model's audited training corpora."""

    percent: float
    corpora: tuple[str, ...]  # the audited corpora it covers, sorted


def report_page(corpus: str) -> str:
    """The generated Markdown summary of ``corpus``'s report, relative to the leaderboard root."""
    return f"{FOLDER}/{re.sub(r'[^a-z0-9.]+', '-', corpus.lower()).strip('-.')}.md"


def load_reports(root: Path) -> dict[str, dict]:
    """Corpus name (lower case) -> audit report, from ``<root>/contamination/*.json``; one report per corpus."""
    folder = Path(root) / FOLDER
    reports: dict[str, dict] = {}
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        report = read_report(path)
        name = str(report["corpus"].get("name", path.stem)).lower()
        if name in reports:
            raise DataFormatError(path, f"a second report of corpus {name!r} (also {seen[name].name}); keep one")
        same_page = next((other for other in reports if report_page(other) == report_page(name)), None)
        if same_page is not None:
            raise DataFormatError(path, f"corpus {name!r} and {same_page!r} would share the page {report_page(name)}")
        _check_images(report, path)
        reports[name], seen[name] = report, path
    return reports


def _matched_images(block: dict) -> set[str]:
    return {str(m["eval_id"]) for m in block["images"]["matches"]}


def _check_images(report: dict, path: Path) -> None:
    """Every split's image block lists each matched image (the union of several reports is built from them)."""
    for task, splits in report["tasks"].items():
        for split, block in splits.items():
            try:
                listed, count = len(_matched_images(block)), int(block["images"]["count"])
                total, rate = int(block["images"]["total"]), float(block["images"]["rate"])
            except (KeyError, TypeError, ValueError) as exc:
                raise DataFormatError(path, f"tasks.{task}.{split}.images: malformed ({exc!r})") from exc
            if listed != count or not 0 <= count <= total or not 0.0 <= rate <= 1.0:
                raise DataFormatError(
                    path, f"tasks.{task}.{split}.images: {listed} matched images listed, count {count} of {total}"
                )


def report_files(reports: dict[str, dict]) -> dict[str, bytes]:
    """The Markdown summary of every report, for the generated site (path -> bytes)."""
    return {report_page(name): summary(report).encode("utf-8") for name, report in sorted(reports.items())}


def _block(report: dict, task: str, split: str, annotation_sha256: str | None) -> dict | None:
    block = report["tasks"].get(task, {}).get(split)
    if not block or (annotation_sha256 and block.get("annotation_sha256") != annotation_sha256):
        return None
    return block


def _union(blocks: dict[str, dict]) -> float:
    """Percent of the split's images matched in at least one corpus (NaN when the reports disagree on the split)."""
    if len({b.get("annotation_sha256") for b in blocks.values()}) != 1:
        return math.nan
    totals = {int(b["images"]["total"]) for b in blocks.values()}
    found: set[str] = set()
    for block in blocks.values():
        found |= _matched_images(block)
    total = totals.pop() if len(totals) == 1 else 0
    return 100.0 * len(found) / total if total else math.nan


def image_share(
    declared: list[str], reports: dict[str, dict], task: str, split: str, annotation_sha256: str | None
) -> Share | None:
    """The share for one entry of a model that declares ``declared`` corpora; None when no report covers it."""
    blocks = {}
    for name in sorted({n.lower() for n in declared} & set(reports)):
        block = _block(reports[name], task, split, annotation_sha256)
        if block is not None:
            blocks[name] = block
    if not blocks:
        return None
    one = next(iter(blocks.values()))
    percent = 100.0 * float(one["images"]["rate"]) if len(blocks) == 1 else _union(blocks)
    return None if math.isnan(percent) else Share(percent, tuple(blocks))


def add_contamination(frame: pd.DataFrame, loaded: list[Any], root: Path) -> tuple[pd.DataFrame, dict[str, dict]]:
    """``frame`` (one row per entry: slug, task, setting, status) with the columns ``contamination`` (percent or
    NaN) and ``contamination_corpora`` (the audited corpora behind it); also the reports, by corpus name."""
    reports = load_reports(root)
    shares: dict[tuple[str, str, str, str], Share | None] = {}
    for item in loaded:
        declared = [c.name for c in item.file.model.training_corpora]
        for e in item.file.entries:
            key = (item.slug, e.task, e.setting, e.status)
            shares[key] = image_share(declared, reports, e.task, e.split, e.annotation_sha256)
    keys = list(zip(frame["slug"], frame["task"], frame["setting"], frame["status"], strict=True))
    found = [shares.get(k) for k in keys]
    return (
        frame.assign(
            **{
                COLUMN: [s.percent if s else math.nan for s in found],
                CORPORA: [s.corpora if s else () for s in found],
            }
        ),
        reports,
    )


def markdown_cell(percent: float, corpora: tuple[str, ...]) -> str:
    """``12.50 ([zero-250m](contamination/zero-250m.md))``; ``–`` without a number."""
    if not corpora or math.isnan(percent):
        return "–"
    links = ", ".join(f"[{name}]({report_page(name)})" for name in corpora)
    return f"{percent:.2f} ({links})"


def contamination_cell(table: pd.DataFrame, part: pd.DataFrame) -> pd.DataFrame:
    """Add the contamination column to a task table when any of its entries has an audited corpus."""
    if COLUMN in part and part[COLUMN].notna().any():
        cells = [markdown_cell(p, c) for p, c in zip(part[COLUMN].astype(float), part[CORPORA], strict=True)]
        table[LABEL] = cells
    return table
