"""One pass over an Arrow corpus, parallel over its shards with processes on one machine.

Each shard is memory-mapped once: its sha256 is computed over the mapped bytes (checked against the manifest's
before anything is decoded), then its record batches are scanned from the same mapping.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pyarrow as pa

from zero_bench.contamination.evalside import EvalIndex
from zero_bench.contamination.scan import Found, scan_batch
from zero_bench.contamination.shards import check_shard
from zero_bench.data.corpus import TEXT_COLUMNS

COLUMNS = ("key", "image", *TEXT_COLUMNS)

_INDEX: EvalIndex | None = None  # the evaluation index, set once per worker process


def _init(index: EvalIndex | None) -> None:
    global _INDEX
    _INDEX = index


def read_shard(path: str | Path, index: EvalIndex | None = None, claimed: str | None = None) -> tuple[str, Found]:
    """(sha256 of the shard's bytes, what its rows match): one Arrow IPC-stream shard, memory-mapped and scanned
    record batch by record batch.  When the digest is not ``claimed``, nothing is decoded (the caller refuses)."""
    index = index or _INDEX
    assert index is not None, "read_shard needs an index (or a worker set up by scan_shards)"
    found = Found(limit=index.thresholds.max_matches)
    with pa.memory_map(str(path)) as source:
        data = source.read_buffer()
        digest = hashlib.sha256(data).hexdigest()
        if claimed is not None and digest != claimed:
            return digest, found
        with pa.ipc.open_stream(data) as reader:
            columns = [c for c in COLUMNS if c in reader.schema.names]
            for batch in reader:
                scan_batch(index, batch.select(columns), found)
    return digest, found


def scan_shard(path: str | Path, index: EvalIndex | None = None) -> Found:
    """What one shard's rows match (its bytes hashed all the same, as the audit does)."""
    return read_shard(path, index)[1]


def _checked(path: str | Path, result: tuple[str, Found], claimed: str | None) -> tuple[str, Found]:
    if claimed is not None:
        check_shard(path, result[0], claimed)
    return result


def scan_shards(
    index: EvalIndex,
    shards: list[Path],
    workers: int | None = None,
    progress: Callable[[int], None] | None = None,
    claimed: list[str] | None = None,
) -> tuple[Found, list[str]]:
    """Scan every shard once with ``workers`` processes (default: the CPUs, at most one per shard): (what was
    found, each shard's computed sha256).  With ``claimed`` (the manifest's sha256 per shard), the first shard
    whose bytes differ stops the scan with one line naming it."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(shards)))
    expect: list[Any] = list(claimed) if claimed is not None else [None] * len(shards)
    total, digests = Found(limit=index.thresholds.max_matches), [""] * len(shards)

    def add(i: int, result: tuple[str, Found]) -> None:
        digests[i], part = _checked(shards[i], result, expect[i])
        total.merge(part)
        if progress:
            progress(part.rows)

    if workers == 1:
        for i, shard in enumerate(shards):
            add(i, read_shard(shard, index, expect[i]))
        return total, digests
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(index,)) as pool:
        futures = {pool.submit(read_shard, str(s), None, expect[i]): i for i, s in enumerate(shards)}
        try:
            for future in as_completed(futures):
                add(futures[future], future.result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return total, digests
