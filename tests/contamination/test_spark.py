"""The same scan on pyspark (local mode) finds exactly what the local processes find, and
``zero-bench contamination zero-toy --spark local[2]`` writes the process-pool report (timing aside)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from zero_bench.testing import skip_or_fail

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def java() -> None:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        skip_or_fail("pyspark needs a Java runtime (apt-get install -y default-jre-headless)")


@pytest.fixture(scope="module")
def spark(java):
    from zero_bench.contamination.spark import spark_session

    with spark_session("local[2]", "zero-bench-contamination-test") as session:
        yield session


def _summary(found) -> dict:
    return {key: (count, sorted(m for _, m in heap)) for key, (count, heap) in found.hits.items()}


def test_spark_shards_and_dataframe_match_the_local_scan(spark, toy) -> None:
    import pyarrow.parquet as pq

    from zero_bench.contamination.audit import corpus_info, task_splits
    from zero_bench.contamination.evalside import build_index
    from zero_bench.contamination.runner import scan_shards
    from zero_bench.contamination.spark import scan_spark_dataframe, scan_spark_shards
    from zero_bench.data.corpus import load_corpus
    from zero_bench.fileio import sha256_file

    index = build_index(task_splits(["icr", "flickr30k-cna"]), toy["data_dir"])
    _, shards = corpus_info(toy["corpus"])
    local, local_digests = scan_shards(index, shards, workers=1)
    on_shards, spark_digests = scan_spark_shards(spark, index, shards)
    assert local.rows == on_shards.rows == 1_500 + len(toy["truth"])
    assert local.hits and _summary(on_shards) == _summary(local)
    assert local_digests == spark_digests == [sha256_file(s) for s in shards]

    parquet = toy["corpus"].parent / "as-parquet"
    parquet.mkdir()
    table = load_corpus(str(toy["corpus"])).with_format("arrow")[:]
    pq.write_table(table, parquet / "part-0.parquet", row_group_size=300)
    frame = spark.read.parquet(str(parquet)).repartition(3)
    on_frame = scan_spark_dataframe(index, frame)
    assert on_frame.rows == local.rows
    assert _summary(on_frame) == _summary(local)
    assert on_frame.keys == local.keys


def test_spark_refuses_a_shard_that_differs_from_the_manifest(spark, toy, tmp_path) -> None:
    from zero_bench.contamination.audit import audit
    from zero_bench.errors import ZeroBenchError

    corpus = tmp_path / "corpus"
    shutil.copytree(toy["corpus"], corpus)
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    shard = manifest["corpus"]["shards"][2]
    shard["sha256"] = "0" * 64
    (corpus / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(ZeroBenchError, match=f"{shard['file']}: shard sha256 .* differs from the manifest") as err:
        audit(corpus, ["icr"], data_dir=toy["data_dir"], spark=spark)
    assert "\n" not in str(err.value)


def _cli(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "zero_bench.cli.app", "contamination", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)


def test_cli_spark_report_equals_the_process_pool_report(java, toy, tmp_path) -> None:
    # zero-toy under a fresh data root: the planted corpus (toy rows and copies of evaluation items) in its place
    shutil.copytree(toy["corpus"], tmp_path / "zero-toy" / "corpus")
    common = ["zero-toy", "-t", "ccmb", "--root", str(tmp_path), "--data-dir", str(toy["data_dir"])]
    pool = _cli(*common, "--workers", "2", "-o", str(tmp_path / "pool.json"))
    assert pool.returncode == 0, pool.stderr
    spark = _cli(*common, "--spark", "local[2]", "-o", str(tmp_path / "spark.json"))
    assert spark.returncode == 0, spark.stderr
    reports = [json.loads((tmp_path / f"{n}.json").read_text(encoding="utf-8")) for n in ("pool", "spark")]
    for report in reports:
        assert report.pop("seconds") >= 0
    assert reports[0] == reports[1]
    assert reports[0]["rows_scanned"] == 1_500 + len(toy["truth"])
    assert sum(b["images"]["count"] for s in reports[0]["tasks"].values() for b in s.values()) > 0
    assert len(reports[0]["corpus"]["fingerprint"]) == 64


def test_cli_spark_errors_are_one_line(toy, tmp_path) -> None:
    pytest.importorskip("pyspark")
    common = [str(toy["corpus"]), "-t", "icr", "--data-dir", str(toy["data_dir"]), "-o", str(tmp_path / "r.json")]
    env = dict(os.environ, JAVA_HOME=str(tmp_path / "no-jre"))
    for extra, message, environ in (
        (["--spark", "sparkk://host:7077"], "not a Spark master", None),
        (["--spark", "local[2]"], f"JAVA_HOME={tmp_path / 'no-jre'} has no bin/java", env),
    ):
        cmd = [sys.executable, "-m", "zero_bench.cli.app", "contamination", *common, *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, env=environ)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr, proc.stderr
        assert not (tmp_path / "r.json").exists()
