"""Result files -> one table: a row per model and setting (zero-shot or fine-tuned, and the precision it ran
at), a column per task's primary metric, and the mean over complete coverage only (a row missing any task of the
table has no mean)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from zero_bench.errors import ZeroBenchError
from zero_bench.results import Result
from zero_bench.taskspec import get_task

KEY_COLUMNS = ["model", "weights", "setting", "precision", "random_init"]
MEAN = "mean"


def result_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Files as given; folders searched recursively for ``*.json``."""
    found: list[Path] = []
    paths = list(paths)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.rglob("*.json")))
        elif path.is_file():
            found.append(path)
        else:
            raise ZeroBenchError(f"{path}: no such file or folder")
    if not found:
        raise ZeroBenchError(f"no result files (*.json) in {', '.join(str(p) for p in paths) or 'the paths given'}")
    return found


def _column(result: Result) -> str:
    """The task name for its default split, ``task/split`` otherwise; a classification protocol other than the
    default, or a templates file, is named too (``[clip_benchmark]``, ``[templates ab12cd34]``), so runs that differ
    there are never one cell."""
    spec = get_task(result.task.name)
    column = spec.name if result.task.split == spec.default_split else f"{spec.name}/{result.task.split}"
    record = result.classification
    if record is not None and record.protocol != "cn_clip":
        column += f" [{record.protocol}]"
    if record is not None and record.templates_source.startswith("file "):
        column += f" [templates {record.templates_sha256[:8]}]"
    return column


def load_results(paths: Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Result JSON files (or folders of them) as a DataFrame: one row per model and setting; a column per task
    holding its primary metric; ``mean`` over the task columns, only where the row has every one of them."""
    rows: dict[tuple, dict[str, float]] = {}
    origin: dict[tuple, Path] = {}
    for path in result_files(paths):
        result = Result.read(path)
        info = result.model
        weights = "random init" if info.random_init else (info.checkpoint_sha256 or "unhashed")[:12]
        key = (info.label, weights, result.setting, result.run.precision, info.random_init)
        column = _column(result)
        metric = get_task(result.task.name).primary_metric
        if metric not in result.metrics:
            raise ZeroBenchError(f"{path}: primary metric {metric!r} missing from the result")
        if (key, column) in origin:
            raise ZeroBenchError(f"{path}: same model, setting and task as {origin[(key, column)]}")
        origin[(key, column)] = path
        rows.setdefault(key, {})[column] = result.metrics[metric]
    tasks = sorted({column for values in rows.values() for column in values})
    frame = pd.DataFrame(
        [dict(zip(KEY_COLUMNS, key, strict=True), **values) for key, values in rows.items()],
        columns=KEY_COLUMNS + tasks,
    )
    complete = frame[tasks].notna().all(axis=1)
    frame[MEAN] = frame[tasks].mean(axis=1).where(complete)
    return frame.sort_values(["model", "weights", "setting"], ignore_index=True)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.2f}"
    return str(value)


def to_markdown(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" if c in KEY_COLUMNS else "---:" for c in frame.columns) + "|"
    body = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body]) + "\n"


def to_text_rows(frame: pd.DataFrame) -> list[list[str]]:
    return [[_cell(v) for v in row] for row in frame.itertuples(index=False)]
