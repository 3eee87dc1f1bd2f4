"""The same scan on pyspark, for corpora too large for one machine (the 250M corpus).

Either the corpus' Arrow shards (on storage every executor reads) are spread over the cluster, one task each
(:func:`~zero_bench.contamination.runner.read_shard`: hashed, checked, scanned), or a DataFrame with the corpus
columns is scanned batch by batch (:func:`scan_batch` in ``mapInArrow``).  The evaluation index is broadcast; each
task returns its bounded :class:`Found`, merged on the driver, so the driver's memory is bounded by the evaluation
side too.  A DataFrame has no shard files, so its scan has no fingerprint: only a shard scan makes a report that
``load_corpus(exclude=...)`` accepts.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa

from zero_bench.contamination.evalside import EvalIndex
from zero_bench.contamination.runner import COLUMNS, read_shard
from zero_bench.contamination.scan import Found, scan_batch
from zero_bench.contamination.shards import check_shard
from zero_bench.errors import ZeroBenchError

MASTER = re.compile(r"local(\[(\d+|\*)(,\d+)?\])?|(spark|k8s|mesos)://\S+|yarn")
SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def check_spark(master: str) -> None:
    """One line, before any JVM starts, when pyspark or Java is missing or ``master`` is not a master URL."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise ZeroBenchError(f"--spark needs pyspark: pip install 'zero-bench[spark]' ({exc})") from exc
    if not MASTER.fullmatch(master):
        raise ZeroBenchError(f"--spark {master!r}: not a Spark master (local[N], spark://HOST:PORT, yarn, k8s://...)")
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).is_file():
        where = f"JAVA_HOME={home} has no bin/java" if home else "no java on PATH"
        raise ZeroBenchError(f"--spark needs a Java runtime: {where} (e.g. apt-get install default-jre-headless)")


@contextmanager
def spark_session(master: str, app_name: str = "zero-bench-contamination") -> Iterator[Any]:
    """A SparkSession on ``master`` (``local[N]``, ``spark://HOST:7077``, ``yarn``, ...), stopped on exit.  The
    executors run this Python (``PYSPARK_PYTHON``, unless set: on a cluster it must exist on every node)."""
    check_spark(master)
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in SETTINGS.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # no Java runtime, an unreachable master, a bad URL
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ZeroBenchError(f"cannot start Spark on {master!r}: {first}") from exc
    try:
        session.sparkContext.setLogLevel("ERROR")
        yield session
    finally:
        session.stop()


def scan_spark_shards(
    spark: Any, index: EvalIndex, shards: list[Path], claimed: list[str] | None = None
) -> tuple[Found, list[str]]:
    """One Spark task per Arrow shard: (what was found, each shard's computed sha256).  With ``claimed`` (the
    manifest's sha256 per shard), a shard whose bytes differ is not decoded and fails the audit on the driver."""
    shared = spark.sparkContext.broadcast(index)
    expect = list(claimed) if claimed is not None else [None] * len(shards)
    tasks = [(k, str(Path(s).resolve()), c) for k, (s, c) in enumerate(zip(shards, expect, strict=True))]

    def run(items: Iterator[tuple[int, str, str | None]]) -> Iterator[tuple[int, str, bytes]]:
        for k, path, claim in items:
            digest, found = read_shard(path, shared.value, claim)
            yield k, digest, pickle.dumps(found)

    results = sorted(spark.sparkContext.parallelize(tasks, max(1, len(tasks))).mapPartitions(run).collect())
    digests = [digest for _, digest, _ in results]
    for (_, path, claim), digest in zip(tasks, digests, strict=True):
        if claim is not None:
            check_shard(path, digest, claim)
    return _merge(index, [part for _, _, part in results]), digests


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
