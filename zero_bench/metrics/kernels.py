"""Fused loops over a score matrix, run on threads: the compiled blocks (:mod:`zero_bench.metrics._kernels`,
built when the package is installed) release the GIL, so each thread takes a block of rows or columns.

* :func:`fused_counts`: one pass counts, for every row query and every column query, the items scoring above
  and at-or-above its reference score (the equivalent torch code needs four compare-and-reduce passes with
  temporaries; this needs none).
* :func:`topk_of_product`: computes a tile of the similarity matrix and, in the same pass, folds it into running
  top-k lists of its rows and columns.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import numpy as np

from zero_bench.errors import ZeroBenchError
from zero_bench.metrics.gemm import Gemm

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
    return ThreadPoolExecutor(max_workers=n_threads(), thread_name_prefix="zero-bench-kernels")


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


# Rows of a sub-tile that one thread computes and folds at once: small enough to stay in its core's cache.
SUB_ROWS = 128


def _product_block(
    gemm: Gemm,
    rows: np.ndarray,
    cols: np.ndarray,
    row_values: np.ndarray,
    part_values: np.ndarray,
    part_items: np.ndarray,
    col_values: np.ndarray,
    col_items: np.ndarray,
    row0: int,
    col0: int,
) -> None:
    buffer = np.empty(min(SUB_ROWS, rows.shape[0]) * cols.shape[0], dtype=np.float32)
    for start in range(0, rows.shape[0], SUB_ROWS):
        sub = rows[start : start + SUB_ROWS]
        tile = buffer[: sub.shape[0] * cols.shape[0]].reshape(sub.shape[0], cols.shape[0])
        gemm(sub, cols, tile)
        stop = start + sub.shape[0]
        _kernels.topk_block(
            tile,
            row_values[start:stop],
            part_values[start:stop],
            part_items[start:stop],
            col_values,
            col_items,
            0,
            cols.shape[0],
            row0 + start,
            col0,
        )


def topk_of_product(
    gemm: Gemm,
    rows: np.ndarray,
    cols: np.ndarray,
    row_values: np.ndarray,
    row_items: np.ndarray,
    col_values: np.ndarray,
    col_items: np.ndarray,
    row0: int,
    col0: int,
) -> None:
    """Fold the tile ``rows @ cols.T`` (rows row0.., columns col0..) into the running top-k lists of its rows
    and columns.  It is computed by ``gemm`` in blocks of columns, one per thread, each in sub-tiles folded
    right after their product while in cache; call inside :func:`zero_bench.metrics.gemm.single_threaded`.
    Tiles must arrive in increasing column order for each row band and increasing row order for each column
    band, so that index order decides ties."""
    blocks = _bounds(cols.shape[0], n_threads(), _GROUP)
    part_values = np.full((len(blocks), rows.shape[0], row_values.shape[1]), -np.inf, dtype=row_values.dtype)
    part_items = np.full((len(blocks), rows.shape[0], row_values.shape[1]), -1, dtype=row_items.dtype)
    _run(
        [
            (
                _product_block,
                gemm,
                rows,
                cols[a:b],
                row_values,
                part_values[n],
                part_items[n],
                col_values[a:b],
                col_items[a:b],
                row0,
                col0 + a,
            )
            for n, (a, b) in enumerate(blocks)
        ]
    )
    _run(
        [
            (_kernels.merge_rows, part_values, part_items, row_values, row_items, a, b)
            for a, b in _bounds(rows.shape[0], n_threads())
        ]
    )
