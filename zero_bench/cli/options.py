"""Parsing shared by several commands."""

from __future__ import annotations

import json
from typing import Any

from zero_bench.errors import ZeroBenchError


def key_values(pairs: list[str], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` strings to a dict; values are JSON when they parse (numbers, booleans), else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise ZeroBenchError(f"{option} expects KEY=VALUE, got {pair!r}")
        try:
            out[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            out[key.replace("-", "_")] = value
    return out
