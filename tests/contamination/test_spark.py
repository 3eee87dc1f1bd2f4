"""The same scan on pyspark (local mode) finds exactly what the local processes find."""

from __future__ import annotations

import os
import shutil
import sys

import pytest

from zero_bench.testing import skip_or_fail

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark():
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        skip_or_fail("pyspark needs a Java runtime (apt-get install -y default-jre-headless)")
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("zero-bench-contamination-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield session
    session.stop()


def _summary(found) -> dict:
    return {key: (count, sorted(m for _, m in heap)) for key, (count, heap) in found.hits.items()}


def test_spark_shards_and_dataframe_match_the_local_scan(spark, toy) -> None:
    import pyarrow.parquet as pq

    from zero_bench.contamination.audit import corpus_info, task_splits
    from zero_bench.contamination.evalside import build_index
    from zero_bench.contamination.runner import scan_shards
    from zero_bench.contamination.spark import scan_spark_dataframe, scan_spark_shards
    from zero_bench.data.corpus import load_corpus

    index = build_index(task_splits(["icr", "flickr30k-cna"]), toy["data_dir"])
    _, shards = corpus_info(toy["corpus"])
    local = scan_shards(index, shards, workers=1)
    on_shards = scan_spark_shards(spark, index, shards)
    assert local.rows == on_shards.rows == 1_500 + len(toy["truth"])
    assert local.hits and _summary(on_shards) == _summary(local)

    parquet = toy["corpus"].parent / "as-parquet"
    parquet.mkdir()
    table = load_corpus(str(toy["corpus"])).with_format("arrow")[:]
    pq.write_table(table, parquet / "part-0.parquet", row_group_size=300)
    frame = spark.read.parquet(str(parquet)).repartition(3)
    on_frame = scan_spark_dataframe(index, frame)
    assert on_frame.rows == local.rows
    assert _summary(on_frame) == _summary(local)
    assert on_frame.keys == local.keys
