"""Checks of size-like settings (counts, steps, rates, scale factors), shared by the library's entry points so that
every caller -- CLI, Python API, tests -- is refused the same way, with one line, before anything is written."""

from __future__ import annotations

import math
from numbers import Integral, Real

from zero_bench.errors import ZeroBenchError


def check_count(name: str, value: object, least: int = 1) -> int:
    """``value`` as an int, refused unless it is an integer >= ``least`` (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ZeroBenchError(f"{name} must be an integer >= {least}, got {value!r}")
    if value < least:
        raise ZeroBenchError(f"{name} must be an integer >= {least}, got {value}")
    return int(value)


def check_number(name: str, value: object, *, positive: bool = True, at_most: float | None = None) -> float:
    """``value`` as a float, refused unless it is a finite real number that is > 0 (``positive``) or >= 0, and
    <= ``at_most`` when given (NaN, infinities, bools and strings are refused)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        kind = "a positive" if positive else "a non-negative"
        raise ZeroBenchError(f"{name} must be {kind} finite number, got {value!r}")
    number = float(value)
    if (positive and number <= 0) or number < 0:
        raise ZeroBenchError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    if at_most is not None and number > at_most:
        raise ZeroBenchError(f"{name} must be <= {at_most:g}, got {value!r}")
    return number
