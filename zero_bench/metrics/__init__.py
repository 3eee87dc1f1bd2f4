"""Metrics with the official conventions: retrieval recall (chunked, exact) and matching ROC-AUC."""

from zero_bench.metrics.matching import accuracy, matching_metrics, roc_auc
from zero_bench.metrics.retrieval import (
    RetrievalRecall,
    gold_pairs,
    metrics_from_topk,
    retrieval_metrics,
    retrieval_metrics_from_scores,
    retrieval_topk,
)

__all__ = [
    "RetrievalRecall",
    "accuracy",
    "gold_pairs",
    "matching_metrics",
    "metrics_from_topk",
    "retrieval_metrics",
    "retrieval_metrics_from_scores",
    "retrieval_topk",
    "roc_auc",
]
