"""Real img2dataset against a loopback server: failure reasons, malformed records, Arrow round trip,
--retry-failed, lock-file refusal, SIGKILL resume, pyspark distributor."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.data.imageserver import record, write_records
from zero_bench.data.corpus import download_corpus, load_corpus, verify_corpus
from zero_bench.data.fetch import FetchOptions
from zero_bench.errors import ZeroBenchError
from zero_bench.testing import skip_or_fail

FAILURES = {
    "f404": ("/404/1", "http_404"),
    "f500": ("/500/1", "http_5xx"),
    "fstall": ("/stall/1", "timeout"),
    "ftrunc": ("/truncated.jpg", "undecodable_image"),
    "fcut": ("/cut.jpg", "truncated_transfer"),
    "fhtml": ("/notimage", "undecodable_image"),
    "fhuge": ("/huge.png", "image_too_large"),
    "foptout": ("/optout.jpg", "opt_out_header"),
}
FAST = dict(
    processes=2, threads=8, timeout=2, retries=0, samples_per_shard=8, max_image_area=4_000_000, show_progress=False
)


@pytest.fixture(scope="module")
def downloaded(image_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dl")
    base = image_server.base
    recs = [record(f"ok{i:02d}", f"{base}/img/{i}.jpg", i) for i in range(12)]
    recs += [record(k, base + u) for k, (u, _) in FAILURES.items()]
    recs += [record(f"flaky{i}", f"{base}/flaky/{i}.jpg", i) for i in range(2)]
    src = tmp / "src"
    write_records(
        src / "part-0.jsonl", recs[:15], extra_lines=("{not json", "[1, 2]", json.dumps({"ImageKey": "nourl"}))
    )
    with __import__("gzip").open(src / "part-1.json.gz", "wt", encoding="utf-8") as f:  # JSON array, gzip
        json.dump(
            recs[15:]
            + [{"ImageKey": "ok00", "ImageUrl": f"{base}/img/0.jpg"}, {"ImageKey": "x", "ImageUrl": "ftp://x"}],
            f,
        )
    root = tmp / "data"
    image_server.flaky_ok = False
    result = download_corpus(
        "zero-2.3m", source=str(src), root=root, options=FetchOptions(**FAST), echo=lambda *a: None
    )
    return {"root": root, "src": src, "result": result, "records": recs}


def test_failure_reasons_and_malformed_counts(downloaded):
    m = downloaded["result"].manifest
    assert m["records"]["malformed"] == {
        "invalid_json": 1,
        "not_an_object": 1,
        "missing_ImageUrl": 1,
        "duplicate_ImageKey": 1,
        "bad_ImageUrl": 1,
    }
    assert m["records"]["valid"] == 22
    dl = m["download"]
    assert dl["success"] == 12 and dl["rows"] == 22
    expected: dict[str, int] = {}
    for _, reason in FAILURES.values():
        expected[reason] = expected.get(reason, 0) + 1
    expected["http_5xx"] += 2  # the two flaky URLs fail with 500 the first time
    assert dl["failures"] == expected
    assert sum(s["count"] for s in dl["shards"]) == 22
    assert m["toolkit_version"]
    assert all(len(s["sha256"]) == 64 for s in m["corpus"]["shards"])


def test_load_corpus_round_trip(downloaded, image_server):
    ds = load_corpus("zero-2.3m", root=downloaded["root"])
    assert len(ds) == 12
    assert sorted(ds["key"]) == [f"ok{i:02d}" for i in range(12)]
    by_key = {r["ImageKey"]: r for r in downloaded["records"]}
    for row in ds:
        rec = by_key[row["key"]]
        assert row["title"] == rec["Title"] and row["query"] == rec["ImageQuery"] and row["url"] == rec["Url"]
        assert row["image_url"] == rec["ImageUrl"] and row["keywords"] == rec["Keywords"]
        assert row["image"].size == (96, 64) == (row["width"], row["height"])  # small images are never upscaled
    raw = ds.with_format("arrow")[:]
    data = raw["image"].to_pylist()[0]["bytes"]
    assert hashlib.sha256(data).hexdigest() == raw["sha256"].to_pylist()[0]
    import datasets

    again = datasets.load_from_disk(str(downloaded["root"] / "zero-2.3m" / "corpus"))
    assert again["key"] == ds["key"]
    # a path works as well as a name
    assert len(load_corpus(str(downloaded["root"] / "zero-2.3m"))) == 12


def test_lock_mismatch_refused_then_retry_failed_then_verify(downloaded, image_server, tmp_path):
    root, src = downloaded["root"], downloaded["src"]
    changed = tmp_path / "changed"
    changed.mkdir()
    for f in src.iterdir():
        (changed / f.name).write_bytes(f.read_bytes())
    with open(changed / "part-0.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(record("new", f"{image_server.base}/img/99.jpg")) + "\n")
    with pytest.raises(
        ZeroBenchError,
        match=r"part-0\.jsonl: checksum \w+. does not match \w+. recorded for zero-2\.3m in .*zero-bench\.lock\.json",
    ):
        download_corpus("zero-2.3m", source=str(changed), root=root, options=FetchOptions(**FAST), echo=lambda *a: None)
    assert b'"new"' not in (root / "zero-2.3m" / "records" / "part-0.jsonl").read_bytes()  # nothing copied in

    image_server.flaky_ok = True
    before = dict(image_server.route_hits)
    result = download_corpus(
        "zero-2.3m", root=root, options=FetchOptions(**FAST), retry_failed=True, echo=lambda *a: None
    )
    fetched = {k: image_server.route_hits.get(k, 0) - before.get(k, 0) for k in image_server.route_hits}
    assert fetched.get("img", 0) == 0  # successes are not fetched again
    assert fetched["flaky"] == 2 and fetched["404"] == 1
    ds = load_corpus("zero-2.3m", root=root)
    assert len(ds) == 14 and len(set(ds["key"])) == 14 and {"flaky0", "flaky1"} <= set(ds["key"])
    assert result.manifest["download"]["failures"].get("http_5xx", 0) == 1

    report = verify_corpus("zero-2.3m", root)
    assert report.clean and report.ok == report.checked > 0
    shard = next((root / "zero-2.3m" / "corpus").glob("data-*.arrow"))
    blob = bytearray(shard.read_bytes())
    blob[-10] ^= 0xFF
    shard.write_bytes(bytes(blob))
    report = verify_corpus("zero-2.3m", root)
    assert report.changed == [f"corpus/{shard.name}"] and not report.clean


def _keys(root: Path) -> list[str]:
    return list(load_corpus("zero-2.3m", root=root)["key"])


def _cli(root: Path, src: Path | None) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "zero_bench.cli.app",
        "download",
        "zero-2.3m",
        "--root",
        str(root),
        "--quiet",
        "--processes",
        "1",
        "--threads",
        "2",
        "--samples-per-shard",
        "4",
        "--retries",
        "0",
        "--timeout",
        "5",
    ]
    return cmd + (["--from", str(src)] if src else [])


@pytest.mark.slow
def test_sigkill_halfway_then_resume_gives_same_keys(tmp_path):
    from tests.data.imageserver import ImageServer

    server = ImageServer(delay_s=0.15).start()
    try:
        src = tmp_path / "src"
        n = 48
        recs = [record(f"k{i:03d}", f"{server.base}/img/{i}.jpg", i) for i in range(n)]
        recs[5]["ImageUrl"] = f"{server.base}/404/5"
        write_records(src / "records.jsonl", recs)
        env = os.environ | {"PYTHONUNBUFFERED": "1"}
        killed_root = tmp_path / "killed"
        proc = subprocess.Popen(
            _cli(killed_root, src),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        images = killed_root / "zero-2.3m" / "images"
        deadline = time.time() + 90
        while time.time() < deadline and len(list(images.glob("*_stats.json"))) < 3 and proc.poll() is None:
            time.sleep(0.05)
        done_at_kill = len(list(images.glob("*_stats.json")))
        os.killpg(proc.pid, signal.SIGKILL)  # the whole job, img2dataset's workers included
        proc.wait()
        assert 3 <= done_at_kill < n // 4, done_at_kill
        assert not (killed_root / "zero-2.3m" / "corpus").exists()
        rc = subprocess.run(_cli(killed_root, None), env=env, capture_output=True, text=True, timeout=180)
        assert rc.returncode == 0, rc.stderr[-2000:]
        clean_root = tmp_path / "clean"
        rc = subprocess.run(_cli(clean_root, src), env=env, capture_output=True, text=True, timeout=180)
        assert rc.returncode == 0, rc.stderr[-2000:]
    finally:
        server.stop()
    resumed, clean = _keys(killed_root), _keys(clean_root)
    assert len(resumed) == len(set(resumed)) == n - 1
    assert sorted(resumed) == sorted(clean)


@pytest.mark.slow
def test_resume_redoes_shards_whose_stats_file_a_kill_cut_short(image_server, tmp_path):
    """img2dataset writes ``NNNNN_stats.json`` after its shard, not atomically, and its resume skips any shard that
    has one: a kill during that write left an empty or cut file that the next run parsed (JSONDecodeError)."""
    src = tmp_path / "src"
    write_records(
        src / "records.jsonl", [record(f"k{i:02d}", f"{image_server.base}/img/{i}.jpg", i) for i in range(12)]
    )
    root = tmp_path / "data"
    options = FetchOptions(
        processes=1, threads=8, timeout=2, retries=0, samples_per_shard=4, max_image_area=4_000_000, show_progress=False
    )
    download_corpus("zero-2.3m", source=str(src), root=root, options=options, echo=lambda *a: None)
    keys = sorted(_keys(root))
    stats = sorted((root / "zero-2.3m" / "images").glob("*_stats.json"))
    assert len(stats) == 3 and len(keys) == 12
    stats[0].write_text("")  # killed before the first byte
    stats[1].write_text(stats[1].read_text()[:25])  # killed mid-write
    download_corpus("zero-2.3m", root=root, options=options, echo=lambda *a: None)  # resume
    assert sorted(_keys(root)) == keys
    assert all(isinstance(json.loads(p.read_text()), dict) for p in stats)  # the two shards were fetched again


def _need_java() -> None:
    """pyspark needs a Java runtime: skip locally without one, but fail under CI (where .ci/run installs it)."""
    import shutil

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        skip_or_fail("pyspark needs a Java runtime (apt-get install -y default-jre-headless)")


def test_missing_java_skips_locally_and_fails_under_ci(monkeypatch):
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run under CI: pyspark needs a Java runtime"):
        _need_java()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="default-jre-headless"):
        _need_java()


@pytest.mark.slow
def test_pyspark_distributor_local(image_server, tmp_path):
    pytest.importorskip("pyspark")  # the spark extra; .ci/run installs it
    _need_java()
    src = write_records(
        tmp_path / "src" / "r.jsonl",
        [record(f"s{i}", f"{image_server.base}/img/{i}.jpg", i) for i in range(6)]
        + [record("s404", f"{image_server.base}/404/9")],
    )
    opts = FetchOptions(**(FAST | {"distributor": "pyspark", "processes": 1, "samples_per_shard": 4}))
    result = download_corpus(
        "zero-2.3m", source=str(src.parent), root=tmp_path / "data", options=opts, echo=lambda *a: None
    )
    assert result.manifest["download"]["success"] == 6
    assert result.manifest["download"]["failures"] == {"http_404": 1}
    assert sorted(load_corpus("zero-2.3m", root=tmp_path / "data")["key"]) == [f"s{i}" for i in range(6)]
