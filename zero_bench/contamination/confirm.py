"""Near-image matching: candidates from the perceptual hashes of the evaluation side's variants, a loose check on
their 16x16 thumbnails, then a comparison at the best aligned cut of the evaluation image.

A corpus image is looked at as it is and, when it has a uniform frame (an added border), without it.  Its
perceptual hash finds the evaluation variants (as is, mirrored, cut by the crop pairs) within the Hamming radius;
those whose mean colour and grain are close enough (``image_colour_diff``, ``image_texture_diff``: the cheapest
test, and the only one that sees what the normalised, blurred thumbnails take away) are kept, and the closest of
their normalised thumbnails, if within ``image_loose_diff``, names the evaluation image and the cut (of its
:data:`STARTS` closest cuts, the one closest unmoved, then the next if that fails: the moves are greedy);
that cut of the stored evaluation image is then moved side by side to where it matches the corpus image best (moves
of one side by 1.25%, a round of eight moves cut from the stored pixels with one matrix product; so
an off-centre crop between grid points, or a border trimmed a pixel too much or too little, is compared where it
lines up; compared at 24 px, or a third of a smaller copy's side), and the match is kept at a distance of at
most ``image_thumb_diff``; a near miss (within ``image_second_look`` x that) is compared once more at its cut
under the changes of a copy's pixels the normalisation does not undo (:mod:`photometric`: a saturation change,
JPEG's colour bleeding), and kept if either comparison is within it.  Only when it is, the next few
evaluation images by the loose check are aligned too (an evaluation side can hold near-duplicates): the aligned
check is the costly part, and most corpus rows match nothing.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from zero_bench.contamination.evalside import THUMB_SCALE, EvalIndex, unpacked_thumbs
from zero_bench.contamination.images import (
    THUMB,
    Box,
    aligned_diffs,
    blurred,
    colours,
    cut_distances,
    cuts,
    integral,
    normalised,
    textures,
)
from zero_bench.contamination.photometric import second_look

STEPS = (0.0125,)  # alignment steps, in fractions of the side (the crop pairs are 2.5-5% apart)
ROUNDS = 8  # moves per step at most
EXTRA = 4  # once the closest evaluation image is confirmed, this many more candidates are aligned (near-duplicates)
LIMIT = (0.0, 0.16)  # how far each side of the cut may move
STARTS = 3  # unmoved cuts compared per evaluation image: those of its closest variants by the loose check
# Measured on 2,139 alignments of planted copies through the download's resizer, and the lookalikes of 4,000 toy rows:
START_FACTOR = 3.6  # a start farther than this x the limit is not aligned (confirmed copies started at most 3.3x)
# the second start only after the first descent ended within 2x the limit (rescued copies: <= 1.86x), the third only
# after the best of two within 1.5x (with the crop pairs, the third rescued 11 of 480 planted crops, all <= 1.45x)
RETRY_FACTORS = (2.0, 1.5)
DESCENTS = 1 + len(RETRY_FACTORS)  # starts aligned at most
MIN_SIDE = 8  # smallest comparison side


def view_thumb(view: Image.Image, side: int) -> np.ndarray:
    return blurred(normalised(np.asarray(view.resize((side, side), Image.Resampling.BOX))))


# a view's :func:`view_thumb` at 16 px, its mean colour and its grain (images.colours, images.textures)
Looks = tuple[np.ndarray, np.ndarray, np.ndarray]


def view_thumbs(views: list[Image.Image]) -> list[Looks]:
    """:data:`Looks` of many views at once (one normalisation and blur for the lot)."""
    if not views:
        return []
    raw = np.stack([np.asarray(v.resize((THUMB, THUMB), Image.Resampling.BOX)) for v in views])
    return list(zip(blurred(normalised(raw)), colours(raw), textures(raw), strict=True))


def _distances(stored: np.ndarray, table: np.ndarray, boxes: np.ndarray, query: np.ndarray, side: int) -> np.ndarray:
    """Distance of ``query`` (normalised, side x side) to each cut of ``stored`` (pixels; ``table``: their
    :func:`~images.integral`) by ``boxes`` [T, 4]."""
    return cut_distances(stored, boxes, query, table)


def _align(
    stored: np.ndarray, table: np.ndarray, box: Box, query: np.ndarray, side: int, start: float
) -> tuple[float, Box]:
    """(the smallest distance between ``query`` and a cut of ``stored`` near ``box`` (whose own distance is
    ``start``), that cut): up to :data:`ROUNDS` moves of one side by a step, all eight moves of a round cut and
    compared at once."""
    best = start
    current = np.asarray(box, dtype=np.float64)
    moves = np.concatenate([np.eye(4), -np.eye(4)])
    for step in STEPS:
        for _ in range(ROUNDS):
            trials = current + step * moves
            trials = trials[((trials >= LIMIT[0] - 1e-9) & (trials <= LIMIT[1] + 1e-9)).all(axis=1)]
            if not len(trials):
                break
            diffs = _distances(stored, table, trials, query, side)
            k = int(diffs.argmin())
            if diffs[k] >= best:
                break
            best, current = float(diffs[k]), trials[k]
    return best, tuple(current.tolist())


def near_matches(
    index: EvalIndex, view: Image.Image, phash: int, looks: Looks | None = None
) -> dict[int, tuple[int, float]]:
    """{global evaluation image: (Hamming distance, aligned distance)}: the confirmed near matches of one view of
    a corpus image (``looks``: its :data:`Looks`, computed here when not given).  The cheapest test first: the
    variants within the Hamming radius whose mean colour or grain is too far off are dropped before the
    thumbnails are compared (normalised, blurred thumbnails cannot tell a black square on grey from one on pink,
    nor a noisy background from a plain one)."""
    assert index.hamming is not None
    variants, distances = index.hamming.query(phash)
    if not len(variants):
        return {}
    th = index.thresholds
    order = loose_candidates(index, variants, view_thumbs([view])[0] if looks is None else looks)
    if not len(order):
        return {}
    side = compare_side(th.image_compare_side, view)
    query = view_thumb(view, side)
    owners = index.variant_image[variants[order]]
    firsts = np.unique(owners, return_index=True)[1]  # each evaluation image at its closest candidate
    out: dict[int, tuple[int, float]] = {}
    for g in owners[np.sort(firsts)][: EXTRA + 1].tolist():
        ks = order[owners == g][:STARTS]  # its closest variants
        diff, k, box = _aligned(index, g, variants[ks].tolist(), query, side, th.image_thumb_diff)
        if th.image_thumb_diff < diff <= th.image_second_look * th.image_thumb_diff:  # a near miss
            diff = min(diff, _second_look(index, g, int(variants[ks[k]]), box, view, side))
        if diff <= th.image_thumb_diff:
            out[g] = (int(distances[ks[k]]), diff)
        if not out:  # the closest is not confirmed: none is; else a few more are checked
            break
    return out


def loose_candidates(index: EvalIndex, variants: np.ndarray, looks: Looks) -> np.ndarray:
    """Positions in ``variants`` (entries of the index, int64) of those that pass the loose check, closest first
    (ties in their order in ``variants``): mean colour and grain near enough, then the thumbnails within
    ``image_loose_diff``.  One compiled pass (``_kernels.loose_diffs``); :func:`loose_candidates_numpy` is the
    definition, and a test holds the two equal."""
    from zero_bench.contamination.compiled import kernels

    thumb, colour, texture = looks
    th = index.thresholds
    positions = np.empty(len(variants), dtype=np.int64)
    loose = np.empty(len(variants), dtype=np.float32)
    thumbs = index.variant_thumb
    found = kernels().loose_diffs(
        np.ascontiguousarray(variants, dtype=np.int64),
        np.ascontiguousarray(index.variant_colour, dtype=np.float32),  # no copy for the index's own arrays
        np.ascontiguousarray(index.variant_texture, dtype=np.float32),
        np.ascontiguousarray(thumbs, dtype=np.int16).reshape(len(thumbs), int(np.prod(thumbs.shape[1:]))),
        np.ascontiguousarray(colour, dtype=np.float32),
        np.float32(texture),
        np.ascontiguousarray(thumb, dtype=np.float32).reshape(-1),
        np.float32(th.image_colour_diff / 3),  # numpy compares float32 values with a float32 limit (NEP 50)
        np.float32(th.image_texture_diff),
        np.float32(th.image_loose_diff),
        np.float32(1.0 / THUMB_SCALE),
        positions,
        loose,
    )
    return positions[:found][np.argsort(loose[:found], kind="stable")]


def loose_candidates_numpy(index: EvalIndex, variants: np.ndarray, looks: Looks) -> np.ndarray:
    """:func:`loose_candidates` in numpy: the definition."""
    thumb, colour, texture = looks
    th = index.thresholds
    shift = np.abs(index.variant_colour[variants] - colour)  # [n, 3]: the largest of three columns, not max(axis=1)
    near = np.maximum(np.maximum(shift[:, 0], shift[:, 1]), shift[:, 2]) <= th.image_colour_diff / 3  # (4x faster)
    near &= np.abs(index.variant_texture[variants] - texture) <= th.image_texture_diff
    close = np.flatnonzero(near)
    if not len(close):
        return close
    loose = aligned_diffs(thumb, unpacked_thumbs(index.variant_thumb[variants[close]]))
    kept = np.flatnonzero(loose <= th.image_loose_diff)
    return close[kept[np.argsort(loose[kept], kind="stable")]]


def compare_side(largest: int, view: Image.Image) -> int:
    """The side at which a view is compared: ``largest``, or a third of the view's shorter side when that is
    smaller (at least :data:`MIN_SIDE`, at most the side itself).  JPEG keeps colour at half the resolution (4:2:0)
    and a re-encode or a resampling moves edges by a pixel, so a small copy compared near its own size differs
    from the evaluation image at every edge; a third averages that away."""
    short = min(view.width, view.height)
    return min(largest, short, max(MIN_SIDE, short // 3))


def _cut_of(index: EvalIndex, g: int, variant: int) -> tuple[np.ndarray, Box]:
    """The stored pixels of evaluation image ``g`` (mirrored when the variant is) and the variant's box."""
    mirrored, box = index.boxes[int(index.variant_box[variant])]
    return (index.stored[g][:, ::-1] if mirrored else index.stored[g]), box


def _aligned(
    index: EvalIndex, g: int, variants: list[int], query: np.ndarray, side: int, limit: float
) -> tuple[float, int, Box]:
    """(distance at the best aligned cut, position in ``variants`` it started from, the cut): the unmoved cuts of
    the candidate ``variants`` of evaluation image ``g`` are compared first, and the alignment moves on from the
    closest; when that stays above ``limit`` but near it, from the next (the moves are greedy: started two grid
    points away from the copy's cut, they can stop in a worse minimum).  At most :data:`DESCENTS` starts; none when
    the closest start is far off (most lookalikes: the alignment is the audit's costliest step)."""
    starts = [_cut_of(index, g, v) for v in variants]
    first = np.empty(len(starts))
    # the summed-area table of each orientation of the stored pixels, for all of its cuts
    tables: dict[int, np.ndarray] = {}
    for mirrored in (False, True):  # one batch of cuts per orientation of the stored pixels
        picked = [k for k, v in enumerate(variants) if index.boxes[int(index.variant_box[v])][0] == mirrored]
        if picked:
            stored, table = starts[picked[0]][0], integral(starts[picked[0]][0])
            tables.update(dict.fromkeys(picked, table))
            boxes = np.asarray([starts[k][1] for k in picked])
            first[picked] = _distances(stored, table, boxes, query, side)
    order = np.argsort(first, kind="stable")[:DESCENTS].tolist()
    best, at = (round(float(first[order[0]]), 2), order[0]), starts[order[0]][1]
    if best[0] > START_FACTOR * limit:  # too far for any alignment to bring within the limit
        return (*best, at)
    for k, retry in zip(order, (*RETRY_FACTORS, 0.0), strict=False):  # fewer starts: fewer descents
        stored, box = starts[k]
        diff, moved = _align(stored, tables[k], box, query, side, float(first[k]))
        if (round(diff, 2), k) < best:
            best, at = (round(diff, 2), k), moved
        if best[0] <= limit or best[0] > retry * limit:
            break
    return (*best, at)


def _second_look(index: EvalIndex, g: int, variant: int, box: Box, view: Image.Image, side: int) -> float:
    """:func:`photometric.second_look` of ``view`` at evaluation image ``g``'s cut ``box`` (oriented as
    ``variant``), both at ``side``."""
    stored = _cut_of(index, g, variant)[0]
    target = np.asarray(view.resize((side, side), Image.Resampling.BOX), dtype=np.float32)
    saturation = index.thresholds.image_saturation
    return round(second_look(cuts(stored, np.asarray([box]), side)[0], target, saturation), 2)
