"""``audit``: which evaluation images, texts and pairs of some task splits appear in a pre-training corpus."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zero_bench.contamination.evalside import EvalIndex, build_index
from zero_bench.contamination.report import build_report
from zero_bench.contamination.runner import scan_shards
from zero_bench.contamination.scan import Found
from zero_bench.contamination.thresholds import Thresholds
from zero_bench.data.corpus import corpus_dir, read_manifest
from zero_bench.errors import ZeroBenchError
from zero_bench.taskspec import get_task, resolve_tasks


def task_splits(tasks: list[str], splits: list[str] | None = None) -> list[tuple[str, str]]:
    """Task / suite names and split names -> (task, split) pairs.  No split: each task's default split;
    ``all``: every split of each task; else each named split (every task must have at least one of them)."""
    out = []
    for name in resolve_tasks(tasks):
        spec = get_task(name)
        if not splits:
            chosen = [spec.default_split]
        elif "all" in splits:
            chosen = list(spec.splits)
        else:
            chosen = [s for s in splits if s in spec.splits]
            if not chosen:
                raise ZeroBenchError(f"task {name} has none of the splits {splits} (splits: {', '.join(spec.splits)})")
        out += [(name, s) for s in chosen]
    return out


def corpus_info(folder: Path) -> tuple[dict, list[Path]]:
    """The corpus' name, row count and fingerprint (sha256 over its shards' sha256, from the manifest)."""
    manifest = read_manifest(folder)
    shards = manifest.get("corpus", {}).get("shards", [])
    paths = [folder / s["file"] for s in shards]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ZeroBenchError(f"{missing[0]}: corpus shard missing; run: zero-bench verify")
    fingerprint = hashlib.sha256("".join(s["sha256"] for s in shards).encode()).hexdigest()
    info = {
        "name": manifest.get("name", folder.parent.name),
        "rows": manifest.get("corpus", {}).get("rows"),
        "shards": len(shards),
        "fingerprint": fingerprint,
    }
    return info, paths


def audit(
    corpus: str | Path,
    tasks: list[str],
    *,
    splits: list[str] | None = None,
    root: str | Path | None = None,
    data_dir: str | Path | None = None,
    thresholds: Thresholds | None = None,
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    spark: Any = None,
) -> tuple[dict, EvalIndex, Found]:
    """Index the evaluation side of ``tasks`` (names or suites), stream the corpus past it once, and return
    (report, evaluation index, what was found).  The shards are scanned by ``workers`` local processes, or, given
    a ``SparkSession``, by Spark tasks (the shards must then be readable by every executor)."""
    start = time.perf_counter()
    folder = corpus_dir(corpus, root)
    info, shards = corpus_info(folder)
    index = build_index(task_splits(tasks, splits), data_dir, thresholds)
    if spark is not None:
        from zero_bench.contamination.spark import scan_spark_shards

        found = scan_spark_shards(spark, index, shards)
    else:
        found = scan_shards(index, shards, workers, progress)
    return build_report(index, found, info, time.perf_counter() - start), index, found
