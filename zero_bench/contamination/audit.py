"""``audit``: which evaluation images, texts and pairs of some task splits appear in a pre-training corpus."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from zero_bench.contamination.evalside import EvalIndex, build_index
from zero_bench.contamination.report import build_report
from zero_bench.contamination.runner import scan_shards
from zero_bench.contamination.scan import Found
from zero_bench.contamination.shards import corpus_shards, fingerprint
from zero_bench.contamination.thresholds import Thresholds
from zero_bench.data.corpus import corpus_dir
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
    """The corpus' name, row count (as the manifest says) and shard count, and its shard paths.  The fingerprint
    is added by the scan, from the shard bytes it reads (:func:`zero_bench.contamination.shards.fingerprint`)."""
    info, paths, _ = corpus_shards(folder)
    return info, paths


def _scan(
    index: EvalIndex, shards: list[Path], claimed: list[str], workers: int | None, progress: Any, spark: Any
) -> tuple[Found, list[str]]:
    """Local processes, or Spark given a ``SparkSession`` or a master URL (made here and stopped)."""
    if spark is None:
        return scan_shards(index, shards, workers, progress, claimed)
    from zero_bench.contamination.spark import scan_spark_shards, spark_session

    if isinstance(spark, str):
        with spark_session(spark) as session:
            return scan_spark_shards(session, index, shards, claimed)
    return scan_spark_shards(spark, index, shards, claimed)


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
    descriptor: str | None = None,
    descriptor_threshold: float | None = None,
) -> tuple[dict, EvalIndex, Found]:
    """Index the evaluation side of ``tasks`` (names or suites), stream the corpus past it once, and return
    (report, evaluation index, what was found).  The shards are scanned by ``workers`` local processes, or, given
    a ``SparkSession`` or a master URL (``local[2]``, ``spark://HOST:7077``), by Spark tasks (the shards must
    then be readable by every executor); a shard whose bytes differ from the manifest stops it.  ``descriptor``: a
    model name (zoo, ``hf:``, ``open_clip:``, ...) whose image embeddings also find near copies, in a second pass
    on this machine, at cosine >= ``descriptor_threshold`` (None: calibrated on planted copies)."""
    start = time.perf_counter()
    learned = None
    if descriptor is not None:  # loaded first: a bad name fails before the scan
        from zero_bench.contamination.descriptor import load_descriptor

        learned = load_descriptor(descriptor)
    folder = corpus_dir(corpus, root)
    info, shards, claimed = corpus_shards(folder)
    if isinstance(spark, str):  # no pyspark, no Java or a bad master URL: one line before any indexing
        from zero_bench.contamination.spark import check_spark

        check_spark(spark)
    index = build_index(task_splits(tasks, splits), data_dir, thresholds)
    found, digests = _scan(index, shards, claimed, workers, progress, spark)
    info["fingerprint"] = fingerprint(digests)  # of the bytes read, each checked against the manifest
    block = None
    if learned is not None:
        from zero_bench.contamination.descriptor_scan import run_descriptor

        block = run_descriptor(learned, index, data_dir, shards, found, descriptor_threshold, info.get("rows"), digests)
    report = build_report(index, found, info, time.perf_counter() - start)
    if block is not None:
        report["descriptor"] = block
    return report, index, found
