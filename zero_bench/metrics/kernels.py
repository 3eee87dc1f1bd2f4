"""Fused rank-counting loop over a score matrix (numba): one pass counts, for every row query and every column
query, the items scoring above and at-or-above its reference score.  The equivalent torch code needs four
compare-and-reduce passes with temporaries; this needs none."""

from __future__ import annotations

import os

import numba
import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def _fused_counts(scores, row_ref, col_ref, n_blocks):
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


def fused_counts(
    scores: np.ndarray,
    row_ref: np.ndarray,
    col_ref: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(row >, row >=, column >, column >=) counts of ``scores`` against per-row and per-column references."""
    scores = np.ascontiguousarray(scores)
    row_ref = np.ascontiguousarray(row_ref, dtype=scores.dtype)
    col_ref = np.ascontiguousarray(col_ref, dtype=scores.dtype)
    # Column counts are accumulated per block of rows (one per thread share), then summed.
    n_blocks = max(1, min(scores.shape[0], 4 * (os.cpu_count() or 1)))
    return _fused_counts(scores, row_ref, col_ref, n_blocks)


@njit(cache=True, inline="always")
def _insert(values, items, value, item):
    """Insert into a list sorted by descending value; an equal value already kept stays ahead."""
    position = values.shape[0] - 1
    while position > 0 and values[position - 1] < value:
        values[position] = values[position - 1]
        items[position] = items[position - 1]
        position -= 1
    values[position] = value
    items[position] = item


# Scores are visited in groups of this many: one vectorised maximum per group decides whether any of them can
# enter a row's or a column's list; after the first tiles that is rare, so each score costs about one compare.
_GROUP = 32


# fastmath is safe here: inputs are finite (checked by the caller), and max / compare are exact.
@njit(parallel=True, cache=True, fastmath=True)
def _update_topk(tile, row_values, row_items, col_values, col_items, row0, col0, n_blocks):
    n_rows, n_cols = tile.shape
    row_last = row_values.shape[1] - 1
    col_last = col_values.shape[1] - 1
    block_cols = ((n_cols + n_blocks - 1) // n_blocks + _GROUP - 1) // _GROUP * _GROUP
    n_blocks = (n_cols + block_cols - 1) // block_cols
    # Each column block owns its columns' lists; row lists are collected per block and merged after.
    part_values = np.full((n_blocks, n_rows, row_last + 1), -np.inf, dtype=row_values.dtype)
    part_items = np.full((n_blocks, n_rows, row_last + 1), -1, dtype=row_items.dtype)
    for block in prange(n_blocks):
        start = block * block_cols
        stop = min(n_cols, start + block_cols)
        n_groups = (stop - start + _GROUP - 1) // _GROUP
        col_threshold = col_values[start:stop, col_last].copy()
        group_min = np.empty(n_groups, dtype=col_threshold.dtype)
        for g in range(n_groups):
            group_min[g] = col_threshold[g * _GROUP : min(stop - start, (g + 1) * _GROUP)].min()
        values_b = part_values[block]
        items_b = part_items[block]
        for i in range(n_rows):
            row = tile[i]
            kept = row_values[i, row_last]  # the row's k-th best from earlier tiles
            row_threshold = max(kept, values_b[i, row_last])
            for g in range(n_groups):
                g0 = start + g * _GROUP
                g1 = min(stop, g0 + _GROUP)
                best = row[g0]
                for j in range(g0 + 1, g1):
                    best = max(best, row[j])
                if best > row_threshold:
                    for j in range(g0, g1):
                        if row[j] > row_threshold:  # strict: a later column loses a tie
                            _insert(values_b[i], items_b[i], row[j], col0 + j)
                            row_threshold = max(kept, values_b[i, row_last])
                if best > group_min[g]:
                    for j in range(g0, g1):
                        if row[j] > col_threshold[j - start]:  # strict: a later row loses a tie
                            _insert(col_values[j], col_items[j], row[j], row0 + i)
                            col_threshold[j - start] = col_values[j, col_last]
                    group_min[g] = col_threshold[g0 - start : g1 - start].min()
    for i in prange(n_rows):
        for block in range(n_blocks):  # block order is column order: earlier blocks win ties
            for k in range(row_last + 1):
                value = part_values[block, i, k]
                if not value > row_values[i, row_last]:
                    break
                _insert(row_values[i], row_items[i], value, part_items[block, i, k])


def update_topk(
    tile: np.ndarray,
    row_values: np.ndarray,
    row_items: np.ndarray,
    col_values: np.ndarray,
    col_items: np.ndarray,
    row0: int,
    col0: int,
) -> None:
    """Fold one tile of scores (rows row0.., columns col0..) into the running top-k lists of its rows and
    columns.  Tiles must arrive in increasing column order for each row band and increasing row order for each
    column band, so that index order decides ties."""
    _update_topk(tile, row_values, row_items, col_values, col_items, row0, col0, 2 * numba.get_num_threads())
