"""Text normalisation and character n-grams for duplicate detection.

Two texts are exact duplicates when they are equal after :func:`normalise`: NFKC folds full-width letters, digits
and punctuation to half width; then everything but letters and digits (punctuation, symbols, whitespace) is dropped and Latin
letters are lower-cased.  What is left is the words themselves, so re-punctuated, re-spaced or full-width copies of
a caption compare equal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Set

_NOT_WORD = re.compile(r"[\W_]+")  # punctuation, symbols, whitespace, control characters: all but letters, digits


def normalise(text: str) -> str:
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text)).lower()


def shingles(normalised: str, n: int) -> set[str]:
    """The set of character n-grams of a normalised text (the whole text when it is shorter than n)."""
    if len(normalised) <= n:
        return {normalised} if normalised else set()
    return {normalised[i : i + n] for i in range(len(normalised) - n + 1)}


def jaccard(a: Set[str], b: Set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)
