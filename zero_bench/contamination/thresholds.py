"""The detection thresholds: one place, recorded in every report.  The defaults were chosen by measurement on
zero-toy (``tests/contamination/test_planted.py`` prints the recall / false-positive figures behind them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Thresholds:
    image_radius: int = 6  # Hamming radius on the 64-bit imagehash.phash (the look-up)
    image_thumb_diff: float = 20.0  # and 16x16 RGB thumbnail distance (images.thumb_diffs, 0..255) at most this
    crop_variants: tuple[float, ...] = (0.02, 0.04)  # evaluation images are also indexed cropped by these fractions
    text_ngram: int = 3  # characters per shingle
    text_jaccard: float = 0.9  # near-duplicate texts: Jaccard similarity of their n-gram sets at least this
    text_min_ngrams: int = 5  # shorter texts are compared exactly only (a few n-grams say nothing)
    num_perm: int = 64  # MinHash permutations
    max_matches: int = 5  # corpus rows kept per evaluation item in the report (all are counted)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["crop_variants"] = list(self.crop_variants)
        return out

    @classmethod
    def from_dict(cls, raw: dict) -> Thresholds:
        raw = dict(raw)
        if "crop_variants" in raw:
            raw["crop_variants"] = tuple(raw["crop_variants"])
        return cls(**raw)
