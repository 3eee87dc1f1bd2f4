"""Fused loops over a score matrix, run on threads: the compiled blocks (:mod:`zero_bench.metrics._kernels`,
built when the package is installed) release the GIL, so each thread takes a block of rows or columns.

* :func:`fused_counts`: one pass counts, for every row query and every column query, the items scoring above
  and at-or-above its reference score (the equivalent torch code needs four compare-and-reduce passes with
  temporaries; this needs none).
* :func:`topk_of_product`: computes a similarity matrix tile by tile and folds each tile, right after its
  product, into running top-k lists of its rows and columns.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np

from zero_bench.errors import ZeroBenchError
from zero_bench.metrics.gemm import TILE_COLS, TILE_ROWS, Gemm

try:
    from zero_bench.metrics import _kernels
except ImportError as exc:  # a source checkout used without installing it
    raise ZeroBenchError(
        "zero_bench.metrics._kernels is not built: install the package (pip install -e . builds it; it needs a "
        "C compiler) or run python setup.py build_ext --inplace"
    ) from exc


def n_threads() -> int:
    """The CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=n_threads(), thread_name_prefix="zero-bench-kernels", initializer=_one_torch_thread
    )


def _one_torch_thread() -> None:
    """A pool thread's torch ops on one thread.  Its products are one tile each by design; and a live thread that
    had opened an OpenMP team of its own (torch's default) halved the speed of the process's later torch work on
    other threads: a training loop after an evaluation ran 2x slower (the quickstart's matching heads after its
    zero-shot evaluation, 2026-12-07)."""
    import torch

    torch.get_num_threads()  # the thread's own start-up in torch, which would later reset the count to every core
    torch.set_num_threads(1)


def _bounds(n: int, parts: int, multiple: int = 1) -> list[tuple[int, int]]:
    """``parts`` consecutive ranges covering 0..n (fewer if n is small), sizes a multiple of ``multiple``."""
    step = -(-n // max(1, parts))
    step = max(multiple, -(-step // multiple) * multiple)
    return [(start, min(n, start + step)) for start in range(0, n, step)]


def _run(tasks: list) -> None:
    for future in [_pool().submit(*task) for task in tasks]:
        future.result()


def fused_counts(
    scores: np.ndarray,
    row_ref: np.ndarray,
    col_ref: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(row >, row >=, column >, column >=) counts of ``scores`` against per-row and per-column references."""
    # float32 scores stay float32; anything else is compared in float64, where every float32 and int32 is exact.
    dtype = np.float32 if scores.dtype in (np.float32, np.float16) else np.float64
    scores = np.ascontiguousarray(scores, dtype=dtype)
    row_ref = np.ascontiguousarray(row_ref, dtype=dtype)
    col_ref = np.ascontiguousarray(col_ref, dtype=dtype)
    n_rows, n_cols = scores.shape
    row_gt = np.zeros(n_rows, np.int64)
    row_ge = np.zeros(n_rows, np.int64)
    # Column counts are accumulated per block of rows (one block per thread), then summed.
    blocks = _bounds(n_rows, n_threads())
    col_gt = np.zeros((len(blocks), n_cols), np.int64)
    col_ge = np.zeros((len(blocks), n_cols), np.int64)
    _run(
        [
            (_kernels.count_block, scores, row_ref, col_ref, a, b, row_gt, row_ge, col_gt[n], col_ge[n])
            for n, (a, b) in enumerate(blocks)
        ]
    )
    return row_gt, row_ge, col_gt.sum(axis=0), col_ge.sum(axis=0)


# Columns per block are a multiple of the kernel's group of scores (32).
_GROUP = 32


def _column_block(
    gemm: Gemm,
    rows: np.ndarray,
    cols: np.ndarray,
    part_values: np.ndarray,
    part_items: np.ndarray,
    col_values: np.ndarray,
    col_items: np.ndarray,
    row0: int,
    col0: int,
) -> None:
    """One thread's share of a group of rows (row0..): every row against its block of columns, tile by tile
    (row bands in order, the block's columns in order within each band), each tile folded right after its
    product while in cache."""
    buffer = np.empty(min(TILE_ROWS, rows.shape[0]) * min(TILE_COLS, cols.shape[0]), dtype=np.float32)
    for r0 in range(0, rows.shape[0], TILE_ROWS):
        band = rows[r0 : r0 + TILE_ROWS]
        r1 = r0 + band.shape[0]
        for c0 in range(0, cols.shape[0], TILE_COLS):
            chunk = cols[c0 : c0 + TILE_COLS]
            c1 = c0 + chunk.shape[0]
            tile = buffer[: band.shape[0] * chunk.shape[0]].reshape(band.shape[0], chunk.shape[0])
            gemm(band, chunk, tile)
            _kernels.topk_block(
                tile,
                part_values[r0:r1],  # the block's own lists are the rows' running lists here
                part_values[r0:r1],
                part_items[r0:r1],
                col_values[c0:c1],
                col_items[c0:c1],
                0,
                chunk.shape[0],
                row0 + r0,
                col0 + c0,
            )


# Bytes of the blocks' candidate lists of rows held at once: rows are taken in groups that fit (one group on a
# few cores; many cores would otherwise hold one list per row per core).
ROW_GROUP_BYTES = 64 << 20


def topk_of_product(
    gemm: Gemm,
    rows: np.ndarray,
    cols: np.ndarray,
    row_values: np.ndarray,
    row_items: np.ndarray,
    col_values: np.ndarray,
    col_items: np.ndarray,
) -> None:
    """Fill the top-k lists of every row and column of ``rows @ cols.T`` (lists given at -inf / -1).

    Each thread owns one block of columns: their lists, and its own candidate lists of the rows.  It computes
    its tiles by ``gemm`` and folds each right after its product, with no barrier between tiles, so one
    thread's fold overlaps the other's product; the rows' candidates of all blocks are merged once per group of
    rows (one group unless there are many cores), blocks in column order.  Call inside
    :func:`zero_bench.metrics.gemm.single_threaded`; index order decides ties."""
    blocks = _bounds(cols.shape[0], n_threads(), _GROUP)
    per_row = max(1, len(blocks) * row_values.shape[1]) * (row_values.itemsize + row_items.itemsize)
    group = max(TILE_ROWS, ROW_GROUP_BYTES // per_row // TILE_ROWS * TILE_ROWS)
    for g0 in range(0, rows.shape[0], group):
        g1 = min(rows.shape[0], g0 + group)
        values = np.full((len(blocks), g1 - g0, row_values.shape[1]), -np.inf, dtype=row_values.dtype)
        items = np.full(values.shape, -1, dtype=row_items.dtype)
        _run(
            [
                (
                    _column_block,
                    gemm,
                    rows[g0:g1],
                    cols[a:b],
                    values[n],
                    items[n],
                    col_values[a:b],
                    col_items[a:b],
                    g0,
                    a,
                )
                for n, (a, b) in enumerate(blocks)
            ]
        )
        _run(
            [
                (_kernels.merge_rows, values, items, row_values[g0:g1], row_items[g0:g1], a, b)
                for a, b in _bounds(g1 - g0, n_threads())
            ]
        )
