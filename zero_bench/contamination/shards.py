"""The corpus' shards as the manifest claims them, and the checks that hold those claims to the bytes read.

A shard's sha256 is computed over its memory-mapped bytes, by the pass that reads it (the scan, or
:func:`zero_bench.contamination.clean.load_clean_corpus`), and compared with the manifest's; the corpus
fingerprint is a sha256 over these computed digests, so a report is tied to the data that was read, never to what
the manifest says.  Nothing heavy is imported here (the leaderboard and ``load_clean_corpus`` read reports).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from zero_bench.data.corpus import read_manifest
from zero_bench.errors import ZeroBenchError


def corpus_shards(folder: Path) -> tuple[dict, list[Path], list[str]]:
    """(name, rows and shard count; the shard paths; the sha256 the manifest claims for each), in manifest order."""
    manifest = read_manifest(folder)
    shards = manifest.get("corpus", {}).get("shards", [])
    paths = [folder / s["file"] for s in shards]
    for path, shard in zip(paths, shards, strict=True):
        if not path.is_file():
            raise ZeroBenchError(f"{path}: corpus shard missing; run: zero-bench verify")
        if not isinstance(shard.get("sha256"), str):
            raise ZeroBenchError(f"{folder / 'manifest.json'}: no sha256 for shard {shard['file']}")
    info = {"name": manifest.get("name", folder.parent.name), "rows": manifest.get("corpus", {}).get("rows")}
    return info | {"shards": len(shards)}, paths, [s["sha256"] for s in shards]


def sha256_mapped(path: str | Path) -> str:
    """sha256 of a file's bytes, memory-mapped (no copy)."""
    import pyarrow as pa

    with pa.memory_map(str(path)) as source:
        return hashlib.sha256(source.read_buffer()).hexdigest()


def check_shard(path: str | Path, digest: str, claimed: str) -> None:
    """One line naming the shard when the bytes read are not those the manifest records."""
    if digest != claimed:
        raise ZeroBenchError(
            f"{path}: shard sha256 {digest[:12]}... differs from the manifest's {claimed[:12]}...: the shard or "
            "manifest.json was changed since the corpus was written; nothing reported (run: zero-bench verify)"
        )


def fingerprint(digests: list[str]) -> str:
    """The corpus fingerprint: sha256 over the shards' computed sha256, in manifest order."""
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def verified_fingerprint(folder: Path) -> str:
    """Hash every shard's bytes, check each against the manifest, and return the fingerprint of what was read."""
    _, paths, claimed = corpus_shards(folder)
    digests = [sha256_mapped(p) for p in paths]
    for path, digest, claim in zip(paths, digests, claimed, strict=True):
        check_shard(path, digest, claim)
    return fingerprint(digests)
