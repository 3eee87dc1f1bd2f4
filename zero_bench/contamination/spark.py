"""The same scan on pyspark, for corpora too large for one machine (the 250M corpus).

Either the corpus' Arrow shards (on storage every executor reads) are spread over the cluster, one task each
(:func:`scan_shard`), or a DataFrame with the corpus columns is scanned batch by batch (:func:`scan_batch` in
``mapInArrow``).  The evaluation index is broadcast; each task returns its bounded :class:`Found`, merged on the
driver, so the driver's memory is bounded by the evaluation side too.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from zero_bench.contamination.evalside import EvalIndex
from zero_bench.contamination.runner import COLUMNS, scan_shard
from zero_bench.contamination.scan import Found, scan_batch


def scan_spark_shards(spark: Any, index: EvalIndex, shards: list[Path]) -> Found:
    """One Spark task per Arrow shard."""
    shared = spark.sparkContext.broadcast(index)

    def run(paths: Iterator[str]) -> Iterator[bytes]:
        for path in paths:
            yield pickle.dumps(scan_shard(path, shared.value))

    parts = spark.sparkContext.parallelize([str(s) for s in shards], max(1, len(shards))).mapPartitions(run)
    return _merge(index, parts.collect())


def scan_spark_dataframe(index: EvalIndex, frame: Any) -> Found:
    """A DataFrame with ``key``, ``image`` (binary, or the corpus' struct of bytes and path) and text columns."""
    shared = frame.sparkSession.sparkContext.broadcast(index)
    columns = [c for c in COLUMNS if c in frame.columns]

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        found = Found(limit=shared.value.thresholds.max_matches)
        for batch in batches:
            scan_batch(shared.value, batch, found)
        yield pa.RecordBatch.from_pydict({"found": [pickle.dumps(found)]})

    rows = frame.select(*columns).mapInArrow(run, "found binary").collect()
    return _merge(index, [bytes(row["found"]) for row in rows])


def _merge(index: EvalIndex, parts: list[bytes]) -> Found:
    total = Found(limit=index.thresholds.max_matches)
    for part in parts:
        total.merge(pickle.loads(part))
    return total
