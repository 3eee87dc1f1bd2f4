"""The names of the tie rules (a module without heavy imports, for the Result schema and the CLI)."""

from __future__ import annotations

from typing import Literal

from zero_bench.errors import ZeroBenchError

TieRule = Literal["index", "official"]
TIE_RULES: tuple[TieRule, ...] = ("index", "official")


def check_tie_rule(rule: str) -> TieRule:
    if rule not in TIE_RULES:
        raise ZeroBenchError(f"unknown tie rule {rule!r}: expected one of {', '.join(TIE_RULES)}")
    return rule
