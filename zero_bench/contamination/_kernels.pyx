# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The audit's inner loops, compiled when the package is installed: the Hamming look-up, the loose check of the
candidates it finds, and the aligned comparison's distance.

The loose check (:func:`confirm.loose_candidates`) tests each candidate's mean colour, grain and 16x16 thumbnail
against the corpus view's; on the toy corpus a view has hundreds of candidates, and numpy's twenty calls a view on
arrays that small cost more than the arithmetic.

The Hamming look-up (:class:`hamming.HammingIndex`) probes each block's table for the query's block value and its
one-bit neighbours, checks every entry found there by its full distance, and keeps each entry once, in the order
found.  With the tables as sorted arrays, that is a few binary searches and a pass over a few thousand entries;
in Python (dictionaries, numpy on each probe's entries) it cost more than the rest of a row's look-up.

The aligned comparison's distance:

``images.aligned_diffs(query, images.blurred(images.normalised(images.cuts(...))))`` spelled out for each cut: its
box means read off the summed-area table, each channel's mean removed and spread scaled, the 3x3 mean with edges
repeated, the channel-mean absolute difference to ``query``, and the 99th percentile of it.  In numpy that is some
fifty calls on arrays of a few thousand values, and their overhead was most of the audit's alignment; here it is one
loop (the numpy composition stays the definition: a test holds the two equal).
"""

from cython cimport floating
from libc.math cimport fabs, fabsf, sqrt
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport calloc, free, malloc

import numpy as np


cdef extern from *:
    int popcount64 "__builtin_popcountll"(unsigned long long) nogil


cdef Py_ssize_t _bound(const uint64_t* keys, Py_ssize_t size, uint64_t key, bint above) noexcept nogil:
    """The first position in sorted ``keys`` whose key is not below ``key`` (``above``: above ``key``)."""
    cdef Py_ssize_t low = 0, high = size, middle
    while low < high:
        middle = (low + high) // 2
        if keys[middle] < key or (above and keys[middle] == key):
            low = middle + 1
        else:
            high = middle
    return low


def hamming_query(
    const uint64_t[:, ::1] ordered,
    const uint64_t[:, ::1] keys,
    const int64_t[:, ::1] order,
    const int64_t[::1] shifts,
    const int64_t[::1] widths,
    uint64_t dealt,
    uint64_t value,
    int radius,
):
    """(entries, distances) of :meth:`hamming.HammingIndex.query`: block ``b`` of the dealt query is
    ``(dealt >> shifts[b])`` masked to ``widths[b]`` bits, looked up (with each one-bit change) in ``keys[b]`` (the
    entries' block values, sorted; ``order[b]``: the entries in that order; ``ordered[b]``: their hashes in that
    order); each entry within ``radius`` of ``value`` is kept once, in the order found."""
    cdef Py_ssize_t blocks = keys.shape[0], entries = keys.shape[1], b, p, start, stop, total = 0, found = 0
    cdef Py_ssize_t ranges = 0  # at most 64 + blocks: each block's value and one change of each of its bits
    cdef uint64_t key, probe, mask
    cdef Py_ssize_t* spans = <Py_ssize_t*>malloc(2 * (64 + blocks) * sizeof(Py_ssize_t))
    cdef Py_ssize_t* owner = <Py_ssize_t*>malloc((64 + blocks) * sizeof(Py_ssize_t))
    if spans == NULL or owner == NULL:
        free(spans)
        free(owner)
        raise MemoryError()
    try:
        with nogil:  # the probes' ranges, and how many entries they hold
            for b in range(blocks):
                mask = ~(<uint64_t>0) if widths[b] >= 64 else ((<uint64_t>1) << widths[b]) - 1
                key = (dealt >> shifts[b]) & mask
                for p in range(widths[b] + 1):
                    probe = key if p == 0 else key ^ ((<uint64_t>1) << (p - 1))
                    start = _bound(&keys[b, 0], entries, probe, False)
                    stop = _bound(&keys[b, 0], entries, probe, True)
                    if stop > start:
                        spans[2 * ranges] = start
                        spans[2 * ranges + 1] = stop
                        owner[ranges] = b
                        ranges = ranges + 1
                        total = total + stop - start
        out_entries = np.empty(total, dtype=np.int64)
        out_distances = np.empty(total, dtype=np.int64)
        _gather(ordered, order, spans, owner, ranges, value, radius, out_entries, out_distances, &found)
        return out_entries[:found], out_distances[:found]
    finally:
        free(spans)
        free(owner)


cdef void _gather(
    const uint64_t[:, ::1] ordered,
    const int64_t[:, ::1] order,
    Py_ssize_t* spans,
    Py_ssize_t* owner,
    Py_ssize_t ranges,
    uint64_t value,
    int radius,
    int64_t[::1] out_entries,
    int64_t[::1] out_distances,
    Py_ssize_t* found,
) except *:
    """Each entry of the ranges within ``radius``, once (the first time it is met), into the outputs."""
    cdef Py_ssize_t r, k, n = 0
    cdef int64_t entry
    cdef int distance
    cdef unsigned char* seen = <unsigned char*>calloc(ordered.shape[1], 1)
    if seen == NULL:
        raise MemoryError()
    with nogil:
        for r in range(ranges):
            for k in range(spans[2 * r], spans[2 * r + 1]):
                entry = order[owner[r], k]
                if seen[entry]:
                    continue
                seen[entry] = 1
                distance = popcount64(ordered[owner[r], k] ^ value)
                if distance <= radius:
                    out_entries[n] = entry
                    out_distances[n] = distance
                    n = n + 1
    free(seen)
    found[0] = n


cdef inline void _keep_largest(floating* largest, Py_ssize_t keep, floating value) noexcept nogil:
    """Adds ``value`` to the ``keep`` largest values seen so far, kept ascending (``largest[0]``, the smallest of
    them, is the percentile once every value is in): the 99th-percentile selection of both distances."""
    cdef Py_ssize_t k = 1
    if value > largest[0]:
        while k < keep and largest[k] < value:
            largest[k - 1] = largest[k]
            k = k + 1
        largest[k - 1] = value


def cut_distances(
    const floating[:, :, ::1] table,
    const int64_t[:, :, ::1] spans,
    const float[:, :, ::1] query,
    double[::1] out,
):
    """``out[t]``: the distance of ``query`` [S, S, 3] to cut ``t``, whose output row i averages the table's rows
    ``spans[t, 0, i]`` to ``spans[t, 1, i]`` and output column j its columns ``spans[t, 2, j]`` to
    ``spans[t, 3, j]`` (``table``: the summed-area table [H + 1, 3, W + 1] of :func:`images.integral`)."""
    cdef Py_ssize_t trials = spans.shape[0], side = spans.shape[2], n = side * side
    cdef Py_ssize_t rank = <Py_ssize_t>(0.99 * (n - 1))  # as images.aligned_diffs
    cdef Py_ssize_t keep = n - rank  # the largest ``keep`` values: the smallest of them is at ``rank``
    cdef Py_ssize_t t, i, j, c, k, up, down, left, right
    cdef int64_t y0, y1, x0, x1
    cdef double value, count
    cdef double mean[3]
    cdef double scale[3]
    cdef double sums[3]
    cdef double squares[3]
    cdef double* cut = <double*>malloc(n * 3 * sizeof(double))
    cdef double* across = <double*>malloc(n * 3 * sizeof(double))  # each pixel plus its left and right ones
    cdef double* largest = <double*>malloc(keep * sizeof(double))
    if cut == NULL or across == NULL or largest == NULL:
        free(cut)
        free(across)
        free(largest)
        raise MemoryError()
    try:
        with nogil:
            for t in range(trials):
                for c in range(3):
                    sums[c] = 0.0
                    squares[c] = 0.0
                for i in range(side):
                    y0 = spans[t, 0, i]
                    y1 = spans[t, 1, i]
                    for j in range(side):
                        x0 = spans[t, 2, j]
                        x1 = spans[t, 3, j]
                        count = <double>((y1 - y0) * (x1 - x0))
                        for c in range(3):
                            value = (
                                table[y1, c, x1] - table[y0, c, x1] - table[y1, c, x0] + table[y0, c, x0]
                            ) / count
                            cut[(i * side + j) * 3 + c] = value
                            sums[c] += value
                            squares[c] += value * value
                for c in range(3):  # images.normalised: mean removed, spread (+ 8) scaled to 40
                    mean[c] = sums[c] / n
                    value = squares[c] / n - mean[c] * mean[c]
                    scale[c] = 40.0 / (sqrt(value if value > 0.0 else 0.0) + 8.0)
                for i in range(side):  # images.blurred, edges repeated: along each row first ...
                    for j in range(side):
                        left = j - 1 if j > 0 else 0
                        right = j + 1 if j < side - 1 else side - 1
                        for c in range(3):
                            across[(i * side + j) * 3 + c] = (
                                cut[(i * side + left) * 3 + c] + cut[(i * side + j) * 3 + c]
                                + cut[(i * side + right) * 3 + c]
                            )
                for k in range(keep):
                    largest[k] = -1.0
                for i in range(side):  # ... then down each column, compared as it is made
                    up = i - 1 if i > 0 else 0
                    down = i + 1 if i < side - 1 else side - 1
                    for j in range(side):
                        value = 0.0  # the channel-summed absolute difference to the query
                        for c in range(3):
                            value = value + fabs(
                                (
                                    (across[(up * side + j) * 3 + c] + across[(i * side + j) * 3 + c]
                                     + across[(down * side + j) * 3 + c]) / 9.0 - mean[c]
                                ) * scale[c] - query[i, j, c]
                            )
                        _keep_largest(largest, keep, value)
                out[t] = largest[0] / 3.0
    finally:
        free(cut)
        free(across)
        free(largest)


def loose_diffs(
    const int64_t[::1] variants,
    const float[:, ::1] variant_colour,
    const float[::1] variant_texture,
    const short[:, ::1] variant_thumb,
    const float[::1] colour,
    float texture,
    const float[::1] thumb,
    float colour_limit,
    float texture_limit,
    float loose_limit,
    float scale,
    int64_t[::1] positions,
    float[::1] loose,
):
    """The loose check of :func:`confirm.near_matches` for each of ``variants`` (rows of the index's arrays) in one
    pass: kept when every channel of its mean colour is within ``colour_limit`` of ``colour``, its grain within
    ``texture_limit`` of ``texture``, and its thumbnail (``variant_thumb``: packed, [N, S * S * 3], unpacked by
    ``scale``) within ``loose_limit`` of ``thumb`` by :func:`images.aligned_diffs`.  Writes the kept ones' positions
    in ``variants`` (ascending) and distances to ``positions`` / ``loose``, returns how many.  The same float32
    steps as the numpy definition, so the same values (a test holds them equal)."""
    cdef Py_ssize_t n = variants.shape[0], values = thumb.shape[0], pixels = values // 3
    cdef Py_ssize_t rank = <Py_ssize_t>(0.99 * (pixels - 1))  # as images.aligned_diffs
    cdef Py_ssize_t keep = pixels - rank  # the largest ``keep`` values: the smallest of them is at ``rank``
    cdef Py_ssize_t p, i, k, c, found = 0
    cdef int64_t v
    cdef float d0, d1, d2, value, distance
    cdef float* largest = <float*>malloc(keep * sizeof(float))
    if largest == NULL:
        raise MemoryError()
    if variant_thumb.shape[1] != values or colour.shape[0] != 3 or variant_colour.shape[1] != 3:
        free(largest)
        raise ValueError("loose_diffs: thumbnails or colours of different shapes")
    with nogil:
        for p in range(n):
            v = variants[p]
            d0 = variant_colour[v, 0] - colour[0]
            d1 = variant_colour[v, 1] - colour[1]
            d2 = variant_colour[v, 2] - colour[2]
            if not (fabsf(d0) <= colour_limit and fabsf(d1) <= colour_limit and fabsf(d2) <= colour_limit):
                continue
            if not (fabsf(variant_texture[v] - texture) <= texture_limit):
                continue
            for k in range(keep):
                largest[k] = -1.0
            for i in range(pixels):
                c = 3 * i
                d0 = fabsf(<float>variant_thumb[v, c] * scale - thumb[c])
                d1 = fabsf(<float>variant_thumb[v, c + 1] * scale - thumb[c + 1])
                d2 = fabsf(<float>variant_thumb[v, c + 2] * scale - thumb[c + 2])
                value = d0 + d1
                value = value + d2
                _keep_largest(largest, keep, value)
            distance = largest[0] / <float>3.0
            if distance <= loose_limit:
                positions[found] = p
                loose[found] = distance
                found = found + 1
    free(largest)
    return found
