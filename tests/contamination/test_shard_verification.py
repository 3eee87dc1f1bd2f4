"""Trust the data, not the manifest: every shard is hashed as the audit reads it and checked against the
manifest (one line naming the shard, no report), and the corpus fingerprint is computed from the bytes read, so
``load_corpus(exclude=...)`` cannot match a report to other data."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import sha256_file

pytestmark = pytest.mark.slow


@pytest.fixture()
def corpus(toy, tmp_path) -> Path:
    """A copy of the planted toy corpus (four shards) that a test may damage."""
    folder = tmp_path / "corpus"
    shutil.copytree(toy["corpus"], folder)
    return folder


def _edit_manifest(folder: Path, shard: int, sha256: str) -> str:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["corpus"]["shards"][shard]["sha256"] = sha256
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest["corpus"]["shards"][shard]["file"]


def _edit_bytes(path: Path) -> None:
    """Change one row's key in place (same size; the shard still reads)."""
    data = path.read_bytes()
    at = data.index(b"toy-0")
    path.write_bytes(data[:at] + b"toy-9" + data[at + 5 :])


def test_an_edited_manifest_checksum_stops_the_audit_in_one_line(corpus, toy, tmp_path) -> None:
    name = _edit_manifest(corpus, 1, hashlib.sha256(b"not the shard").hexdigest())
    out = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "zero_bench.cli.app", "contamination", str(corpus), "-t", "ccmb"]
    cmd += ["--data-dir", str(toy["data_dir"]), "--workers", "2", "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert name in proc.stderr and "differs from the manifest" in proc.stderr
    assert not out.exists() and not out.with_suffix(".md").exists()

    from zero_bench.contamination.audit import audit

    with pytest.raises(ZeroBenchError, match=f"{name}: shard sha256"):  # one process: the same refusal
        audit(corpus, ["icr"], data_dir=toy["data_dir"], workers=1)


def test_the_fingerprint_is_computed_from_the_bytes_read(corpus, toy, tmp_path) -> None:
    from zero_bench.contamination.audit import audit
    from zero_bench.contamination.clean import load_clean_corpus
    from zero_bench.contamination.report import write_report
    from zero_bench.data.corpus import read_manifest

    before, _, _ = audit(corpus, ["icr"], data_dir=toy["data_dir"], workers=2)
    write_report(before, tmp_path / "before.json")
    shards = sorted(corpus.glob("data-*.arrow"))
    assert len(shards) == 4
    digests = "".join(sha256_file(s) for s in shards)
    assert before["corpus"]["fingerprint"] == hashlib.sha256(digests.encode()).hexdigest()
    full = len(load_clean_corpus(corpus, tmp_path / "before.json"))

    # the data changed under an untouched manifest: refused, naming the shard, before anything is loaded
    _edit_bytes(shards[3])
    with pytest.raises(ZeroBenchError, match=f"{shards[3].name}: shard sha256 .* differs from the manifest"):
        load_clean_corpus(corpus, tmp_path / "before.json")

    # the manifest edited to match: the audit runs, on other data, so with another fingerprint
    _edit_manifest(corpus, 3, sha256_file(shards[3]))
    after, _, _ = audit(corpus, ["icr"], data_dir=toy["data_dir"], workers=1)
    write_report(after, tmp_path / "after.json")
    assert after["corpus"]["fingerprint"] != before["corpus"]["fingerprint"]
    assert after["rows_scanned"] == before["rows_scanned"] == read_manifest(corpus)["corpus"]["rows"]
    with pytest.raises(ZeroBenchError, match="another corpus"):
        load_clean_corpus(corpus, tmp_path / "before.json")
    kept = load_clean_corpus(corpus, tmp_path / "after.json")
    assert len(kept) == full and "toy-9" in "".join(kept["key"])
