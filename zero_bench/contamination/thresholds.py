"""The detection thresholds: one place, recorded in every report.  The defaults were chosen by measurement on
zero-toy's planted copies (``tests/contamination/test_planted.py`` and ``benchmarks/planted_copies.py`` print the
recall / false-positive figures behind them) and on the first 5,000 rows of the downloaded zero-toy corpus against
its 2,100 evaluation images (false positives only; docs/contamination.md has the figures)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

_CORNERS = ((0.025, 0.025), (0.025, 0.075), (0.075, 0.025), (0.075, 0.075))


@dataclass(frozen=True)
class Thresholds:
    image_radius: int = 8  # Hamming radius on the 64-bit imagehash.phash of the variants (the look-up)
    # evaluation images are indexed as they are, mirrored, and cut: a variant cuts one (left, right) pair of these
    # fractions and one (top, bottom) pair (every combination).  The four corners of the 2.5% / 7.5% grid, and
    # the four edge midpoints of the 0-10% square: with the corners alone, a copy cut near 0%, 5% or 10% on every
    # side is 2.5% off on each and 4.8% of the planted 0-10% crops were beyond the Hamming radius (1.5% with both)
    crop_pairs: tuple[tuple[float, float], ...] = (
        *_CORNERS,
        (0.0, 0.05),
        (0.05, 0.0),
        (0.1, 0.05),
        (0.05, 0.1),
    )
    mirrored: bool = True
    mirrored_crop_pairs: tuple[tuple[float, float], ...] = _CORNERS  # mirrored: the corners only (fewer copies)
    # a uniform frame: corners and frame within this of one colour (0..255; at 48, JPEG's blur of the frame's
    # inner edge made 7.5% of the downloaded planted bordered copies unfindable, at 96 2.5%) ...
    border_tolerance: int = 96
    border_max: float = (
        0.12  # ... at most this share of the side on every side; corpus images are also hashed without it
    )
    # candidates: mean colours (shares of R, G, B) differ by at most this / 3 (saturation x1.12 and a re-encode
    # move a share by up to 0.017 on the planted copies)
    image_colour_diff: float = 0.06
    image_texture_diff: float = 0.3  # ... and their grain (images.textures) by at most this
    image_loose_diff: float = 30.0  # 16x16 normalised variant thumbnail distance (images.aligned_diffs): candidates
    # (off-centre crops between grid points reach 30 unaligned)
    image_compare_side: int = 24  # the confirmation compares at this side (or a third of the corpus image's)
    image_thumb_diff: float = 10.0  # confirmed: distance at the best aligned cut at most this
    # ... or, for a cut within this x that distance, at most that distance at the second look (photometric.py:
    # colour blurred once more, or re-saturated within ``image_saturation``); 1.0 turns the second look off
    image_second_look: float = 1.5
    image_saturation: tuple[float, float] = (0.8, 1.25)  # fitted saturation ratios the second look accepts
    text_ngram: int = 3  # characters per shingle
    text_jaccard: float = 0.9  # near-duplicate texts: Jaccard similarity of their n-gram sets at least this
    text_min_ngrams: int = 5  # shorter texts are compared exactly only (a few n-grams say nothing)
    max_matches: int = 5  # corpus rows kept per evaluation item in the report (all are counted)

    def as_dict(self) -> dict:
        out = asdict(self)
        for name in ("crop_pairs", "mirrored_crop_pairs"):
            out[name] = [list(pair) for pair in out[name]]
        out["image_saturation"] = list(out["image_saturation"])
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> Thresholds:
        raw = dict(raw)
        raw.pop("num_perm", None)  # reports before the exact text index recorded their MinHash permutations
        if "crop_grid" in raw:  # reports before the crop pairs: every side cut by each fraction of a grid
            grid = raw.pop("crop_grid")
            raw["crop_pairs"] = raw["mirrored_crop_pairs"] = [(a, b) for a in grid for b in grid]
        for name in ("crop_pairs", "mirrored_crop_pairs"):
            if name in raw:
                raw[name] = tuple((float(a), float(b)) for a, b in raw[name])
        raw.setdefault("image_second_look", 1.0)  # reports from before the second look ran without it
        if "image_saturation" in raw:
            low, high = raw["image_saturation"]
            raw["image_saturation"] = (float(low), float(high))
        return cls(**raw)
