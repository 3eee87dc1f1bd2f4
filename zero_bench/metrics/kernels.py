"""Fused rank-counting loop over a score matrix (numba): one pass counts, for every row query and every column
query, the items scoring above and at-or-above its reference score.  The equivalent torch code needs four
compare-and-reduce passes with temporaries; this needs none."""

from __future__ import annotations

import os

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _fused_counts(scores, row_ref, col_ref, n_blocks):  # noqa: ANN001, ANN202 - numba signature
    n_rows, n_cols = scores.shape
    row_gt = np.zeros(n_rows, np.int64)
    row_ge = np.zeros(n_rows, np.int64)
    col_gt = np.zeros((n_blocks, n_cols), np.int64)
    col_ge = np.zeros((n_blocks, n_cols), np.int64)
    step = (n_rows + n_blocks - 1) // n_blocks
    for block in prange(n_blocks):
        block_gt = col_gt[block]
        block_ge = col_ge[block]
        for i in range(block * step, min(n_rows, (block + 1) * step)):
            reference = row_ref[i]
            above = 0
            at_least = 0
            row = scores[i]
            for j in range(n_cols):
                value = row[j]
                above += value > reference
                at_least += value >= reference
                block_gt[j] += value > col_ref[j]
                block_ge[j] += value >= col_ref[j]
            row_gt[i] = above
            row_ge[i] = at_least
    return row_gt, row_ge, col_gt.sum(axis=0), col_ge.sum(axis=0)


def fused_counts(scores: np.ndarray, row_ref: np.ndarray, col_ref: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(row >, row >=, column >, column >=) counts of ``scores`` against per-row and per-column references."""
    scores = np.ascontiguousarray(scores)
    row_ref = np.ascontiguousarray(row_ref, dtype=scores.dtype)
    col_ref = np.ascontiguousarray(col_ref, dtype=scores.dtype)
    # Column counts are accumulated per block of rows (one per thread share), then summed.
    n_blocks = max(1, min(scores.shape[0], 4 * (os.cpu_count() or 1)))
    return _fused_counts(scores, row_ref, col_ref, n_blocks)


@njit(cache=True, inline="always")
def _insert(values, items, value, item):  # noqa: ANN001, ANN202
    """Insert into a list sorted by descending value; an equal value already kept stays ahead."""
    position = values.shape[0] - 1
    while position > 0 and values[position - 1] < value:
        values[position] = values[position - 1]
        items[position] = items[position - 1]
        position -= 1
    values[position] = value
    items[position] = item


@njit(parallel=True, cache=True)
def _update_topk(tile, row_values, row_items, col_values, col_items, row0, col0, col_block):  # noqa: ANN001, ANN202
    n_rows, n_cols = tile.shape
    last = row_values.shape[1] - 1
    for i in prange(n_rows):
        values = row_values[i]
        items = row_items[i]
        threshold = values[last]
        for j in range(n_cols):
            value = tile[i, j]
            if value > threshold:  # strict: a later column loses a tie
                _insert(values, items, value, col0 + j)
                threshold = values[last]
    last = col_values.shape[1] - 1
    for block in prange((n_cols + col_block - 1) // col_block):
        start = block * col_block
        stop = min(n_cols, start + col_block)
        thresholds = col_values[start:stop, last].copy()  # contiguous, so the compare loop vectorises
        for i in range(n_rows):
            row = tile[i]
            for j in range(start, stop):
                value = row[j]
                if value > thresholds[j - start]:  # strict: a later row loses a tie
                    _insert(col_values[j], col_items[j], value, row0 + i)
                    thresholds[j - start] = col_values[j, last]


def update_topk(tile: np.ndarray, row_values: np.ndarray, row_items: np.ndarray, col_values: np.ndarray,
                col_items: np.ndarray, row0: int, col0: int) -> None:
    """Fold one tile of scores (rows row0.., columns col0..) into the running top-k lists of its rows and
    columns.  Tiles must arrive in increasing column order for each row band and increasing row order for each
    column band, so that index order decides ties."""
    _update_topk(tile, row_values, row_items, col_values, col_items, row0, col0, 256)
