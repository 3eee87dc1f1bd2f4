"""Metrics with the official conventions: retrieval recall (chunked, exact) and matching ROC-AUC.

The names below load on first use, so that importing a light submodule (``zero_bench.metrics.rules``) does
not load torch and the compiled kernels."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, eagerly, for type checkers
    from zero_bench.metrics.matching import accuracy, matching_metrics, roc_auc
    from zero_bench.metrics.retrieval import (
        RetrievalRecall,
        gold_pairs,
        metrics_from_topk,
        retrieval_metrics,
        retrieval_metrics_from_scores,
        retrieval_metrics_with_ties,
        retrieval_topk,
    )
    from zero_bench.metrics.rules import TIE_RULES, TieRule

_HOME = {
    "accuracy": "matching",
    "matching_metrics": "matching",
    "roc_auc": "matching",
    "RetrievalRecall": "retrieval",
    "gold_pairs": "retrieval",
    "metrics_from_topk": "retrieval",
    "retrieval_metrics": "retrieval",
    "retrieval_metrics_from_scores": "retrieval",
    "retrieval_metrics_with_ties": "retrieval",
    "retrieval_topk": "retrieval",
    "TieRule": "rules",
    "TIE_RULES": "rules",
}

__all__ = [
    "TIE_RULES",
    "RetrievalRecall",
    "TieRule",
    "accuracy",
    "gold_pairs",
    "matching_metrics",
    "metrics_from_topk",
    "retrieval_metrics",
    "retrieval_metrics_from_scores",
    "retrieval_metrics_with_ties",
    "retrieval_topk",
    "roc_auc",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
