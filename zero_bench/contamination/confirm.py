"""Near-image matching: candidates from the perceptual hashes of the evaluation side's variants, a loose check on
their 16x16 thumbnails, then a comparison at the best aligned cut of the evaluation image.

A corpus image is looked at as it is and, when it has a uniform frame (an added border), without it.  Its
perceptual hash finds the evaluation variants (as is, mirrored, cut by the crop grid) within the Hamming radius;
those whose mean colour and grain are close enough (``image_colour_diff``, ``image_texture_diff``: the cheapest
test, and the only one that sees what the normalised, blurred thumbnails take away) are kept, and the closest of
their normalised thumbnails, if within ``image_loose_diff``, names the evaluation image and the cut;
that cut of the stored evaluation image is then moved side by side to where it matches the corpus image best (moves
of one side by 1.25%, a round of eight moves cut from the stored pixels with one matrix product; so
an off-centre crop between grid points, or a border trimmed a pixel too much or too little, is compared where it
lines up), and the match is kept at a distance of at most ``image_thumb_diff``.  Only when it is, the next few
evaluation images by the loose check are aligned too (an evaluation side can hold near-duplicates): the aligned
check is the costly part, and most corpus rows match nothing.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from zero_bench.contamination.evalside import EvalIndex
from zero_bench.contamination.images import THUMB, Box, aligned_diffs, blurred, colours, cuts, normalised, textures

STEPS = (0.0125,)  # alignment steps, in fractions of the side (the crop grid is 0.05 apart)
ROUNDS = 8  # moves per step at most
EXTRA = 4  # once the closest evaluation image is confirmed, this many more candidates are aligned (near-duplicates)
LIMIT = (0.0, 0.16)  # how far each side of the cut may move


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


def _align(stored: np.ndarray, box: Box, query: np.ndarray, side: int) -> float:
    """The smallest distance between ``query`` (normalised, side x side) and a cut of ``stored`` (pixels) near
    ``box``: up to :data:`ROUNDS` moves of one side by a step, all eight moves of a round cut and compared at once."""
    best = float(aligned_diffs(query, blurred(normalised(cuts(stored, np.asarray([box]), side))))[0])
    current = np.asarray(box, dtype=np.float64)
    moves = np.concatenate([np.eye(4), -np.eye(4)])
    for step in STEPS:
        for _ in range(ROUNDS):
            trials = current + step * moves
            trials = trials[((trials >= LIMIT[0] - 1e-9) & (trials <= LIMIT[1] + 1e-9)).all(axis=1)]
            if not len(trials):
                break
            diffs = aligned_diffs(query, blurred(normalised(cuts(stored, trials, side))))
            k = int(diffs.argmin())
            if diffs[k] >= best:
                break
            best, current = float(diffs[k]), trials[k]
    return best


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
    thumb, colour, texture = view_thumbs([view])[0] if looks is None else looks
    near = np.abs(index.variant_colour[variants] - colour).max(axis=1) <= th.image_colour_diff / 3
    near &= np.abs(index.variant_texture[variants] - texture) <= th.image_texture_diff
    close = np.flatnonzero(near)
    if not len(close):
        return {}
    loose = aligned_diffs(thumb, index.variant_thumb[variants[close]])
    kept = np.flatnonzero(loose <= th.image_loose_diff)
    order = close[kept[np.argsort(loose[kept], kind="stable")]].tolist()
    side = min(th.image_compare_side, view.width, view.height)
    query = view_thumb(view, side) if order else thumb
    out: dict[int, tuple[int, float]] = {}
    tried: set[int] = set()
    for k in order:
        variant, distance = int(variants[k]), int(distances[k])
        g = int(index.variant_image[variant])
        if g in tried:
            continue
        tried.add(g)
        diff = _aligned(index, g, variant, query, side)
        if diff <= th.image_thumb_diff:
            out[g] = (distance, diff)
        if not out or len(tried) > EXTRA:  # the closest is not confirmed: none is; else a few more are checked
            break
    return out


def _aligned(index: EvalIndex, g: int, variant: int, query: np.ndarray, side: int) -> float:
    mirrored, box = index.boxes[int(index.variant_box[variant])]
    stored = index.stored[g][:, ::-1] if mirrored else index.stored[g]
    return round(_align(stored, box, query, side), 2)
