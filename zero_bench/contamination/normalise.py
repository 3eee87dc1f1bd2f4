"""Text normalisation and character n-grams for duplicate detection.

Two texts are exact duplicates when they are equal after :func:`normalise`: NFKC folds full-width letters, digits
and punctuation to half width; then every punctuation or symbol character and all whitespace is dropped and Latin
letters are lower-cased.  What is left is the words themselves, so re-punctuated, re-spaced or full-width copies of
a caption compare equal.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Set

_DROP = {"P", "S", "Z", "C"}  # punctuation, symbols, separators (whitespace), control / format characters


def normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in folded if unicodedata.category(ch)[0] not in _DROP).lower()


def shingles(normalised: str, n: int) -> set[str]:
    """The set of character n-grams of a normalised text (the whole text when it is shorter than n)."""
    if len(normalised) <= n:
        return {normalised} if normalised else set()
    return {normalised[i : i + n] for i in range(len(normalised) - n + 1)}


def jaccard(a: Set[str], b: Set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
