"""One pass over an Arrow corpus, parallel over its shards with processes on one machine."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import pyarrow as pa

from zero_bench.contamination.evalside import EvalIndex
from zero_bench.contamination.scan import Found, scan_batch
from zero_bench.data.corpus import TEXT_COLUMNS

COLUMNS = ("key", "image", *TEXT_COLUMNS)

_INDEX: EvalIndex | None = None  # the evaluation index, set once per worker process


def _init(index: EvalIndex | None) -> None:
    global _INDEX
    _INDEX = index


def scan_shard(path: str | Path, index: EvalIndex | None = None) -> Found:
    """Scan one Arrow IPC-stream shard of the corpus (memory-mapped, record batch by record batch)."""
    index = index or _INDEX
    assert index is not None, "scan_shard needs an index (or a worker set up by scan_shards)"
    found = Found(limit=index.thresholds.max_matches)
    with pa.memory_map(str(path)) as source, pa.ipc.open_stream(source) as reader:
        columns = [c for c in COLUMNS if c in reader.schema.names]
        for batch in reader:
            scan_batch(index, batch.select(columns), found)
    return found


def scan_shards(
    index: EvalIndex, shards: list[Path], workers: int | None = None, progress: Callable[[int], None] | None = None
) -> Found:
    """Scan every shard once; ``workers`` processes (default: the CPUs, at most one per shard)."""
    workers = max(1, min(workers or os.cpu_count() or 1, len(shards)))
    total = Found(limit=index.thresholds.max_matches)
    if workers == 1:
        for shard in shards:
            part = scan_shard(shard, index)
            total.merge(part)
            if progress:
                progress(part.rows)
        return total
    with ProcessPoolExecutor(workers, initializer=_init, initargs=(index,)) as pool:
        futures = [pool.submit(scan_shard, str(shard)) for shard in shards]
        for future in as_completed(futures):
            part = future.result()
            total.merge(part)
            if progress:
                progress(part.rows)
    return total
