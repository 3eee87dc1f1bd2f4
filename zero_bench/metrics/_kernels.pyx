# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Fused loops over a score matrix, compiled when the package is installed (so no first call pays a compile).

Each function works on one block of rows or columns with the GIL released; :mod:`zero_bench.metrics.kernels`
runs the blocks on threads and combines them."""

import numpy as np
from cython cimport floating
from libc.stdint cimport int64_t


def count_block(
    const floating[:, ::1] scores,
    const floating[::1] row_ref,
    const floating[::1] col_ref,
    Py_ssize_t start,
    Py_ssize_t stop,
    int64_t[::1] row_gt,
    int64_t[::1] row_ge,
    int64_t[::1] col_gt,
    int64_t[::1] col_ge,
):
    """For rows start..stop: per row the items above / at-or-above its reference, and (added into this block's
    own column arrays) per column the rows above / at-or-above the column's reference."""
    cdef Py_ssize_t i, j, n_cols = scores.shape[1]
    cdef floating reference, value
    cdef int64_t above, at_least
    cdef const floating* row
    cdef const floating* col_reference = &col_ref[0]
    cdef int64_t* gt = &col_gt[0]
    cdef int64_t* ge = &col_ge[0]
    with nogil:
        for i in range(start, stop):
            reference = row_ref[i]
            row = &scores[i, 0]
            above = 0
            at_least = 0
            for j in range(n_cols):
                value = row[j]
                above += value > reference
                at_least += value >= reference
                gt[j] += value > col_reference[j]
                ge[j] += value >= col_reference[j]
            row_gt[i] = above
            row_ge[i] = at_least


cdef inline void _insert(float* values, int64_t* items, Py_ssize_t length, float value, int64_t item) noexcept nogil:
    """Insert into a list sorted by descending value; an equal value already kept stays ahead."""
    cdef Py_ssize_t position = length - 1
    while position > 0 and values[position - 1] < value:
        values[position] = values[position - 1]
        items[position] = items[position - 1]
        position -= 1
    values[position] = value
    items[position] = item


# Scores are visited in groups of this many: two vectorised reductions per group decide whether any of them can
# enter the row's list or a column's list; after the first rows and columns that is rare.
cdef enum:
    GROUP = 32


def topk_block(
    const float[:, ::1] tile,
    const float[:, ::1] row_values,
    float[:, ::1] part_values,
    int64_t[:, ::1] part_items,
    float[:, ::1] col_values,
    int64_t[:, ::1] col_items,
    Py_ssize_t start,
    Py_ssize_t stop,
    int64_t row0,
    int64_t col0,
):
    """Fold tile columns start..stop into their columns' running lists (owned by this block) and into this
    block's own candidate lists of every row (``part_*``, merged into the rows' lists afterwards).  Strict
    comparisons: a later row or column loses a tie, so index order decides ties."""
    cdef Py_ssize_t n_rows = tile.shape[0]
    cdef Py_ssize_t row_k = row_values.shape[1], col_k = col_values.shape[1]
    cdef Py_ssize_t row_last = row_k - 1, col_last = col_k - 1
    cdef Py_ssize_t i, j, g0, g1
    cdef float best, kept, row_threshold, value
    cdef int beats
    cdef const float* row
    cdef float[::1] thresholds = col_values[start:stop, col_last].copy()
    cdef float* col_threshold = &thresholds[0] - start  # indexed by tile column
    with nogil:
        for i in range(n_rows):
            row = &tile[i, 0]
            kept = row_values[i, row_last]  # the row's k-th best from earlier tiles
            row_threshold = max(kept, part_values[i, row_last])
            g0 = start
            while g0 < stop:
                g1 = min(stop, g0 + GROUP)
                # Two vectorised reductions per group: the best score (for the row's list) and whether any
                # score beats its column's k-th best (for the columns' lists); both are rarely true.
                best = row[g0]
                beats = 0
                for j in range(g0, g1):
                    best = max(best, row[j])
                    beats |= row[j] > col_threshold[j]
                if best > row_threshold:
                    for j in range(g0, g1):
                        value = row[j]
                        if value > row_threshold:
                            _insert(&part_values[i, 0], &part_items[i, 0], row_k, value, col0 + j)
                            row_threshold = max(kept, part_values[i, row_last])
                if beats:
                    for j in range(g0, g1):
                        value = row[j]
                        if value > col_threshold[j]:
                            _insert(&col_values[j, 0], &col_items[j, 0], col_k, value, row0 + i)
                            col_threshold[j] = col_values[j, col_last]
                g0 = g1

def merge_rows(
    const float[:, :, ::1] part_values,
    const int64_t[:, :, ::1] part_items,
    float[:, ::1] row_values,
    int64_t[:, ::1] row_items,
    Py_ssize_t start,
    Py_ssize_t stop,
):
    """Merge every block's candidates of rows start..stop into the rows' lists, blocks in column order (an
    earlier block wins a tie)."""
    cdef Py_ssize_t i, block, k, n_blocks = part_values.shape[0], row_k = row_values.shape[1]
    cdef float value
    with nogil:
        for i in range(start, stop):
            for block in range(n_blocks):
                for k in range(row_k):
                    value = part_values[block, i, k]
                    if not value > row_values[i, row_k - 1]:
                        break
                    _insert(&row_values[i, 0], &row_items[i, 0], row_k, value, part_items[block, i, k])
