"""Tie rules, and how far the order of tied scores can move a recall.

Two rules order candidates with equal scores:

* ``index`` (the default everywhere in zero-bench): ascending index, i.e. a stable sort by descending score, the
  order of Chinese-CLIP's scripts;
* ``official``: the order of R2D2's official ``itm_eval``, ``np.argsort(row)[::-1]`` (numpy's default sort, then
  reversed).  numpy's default sort promises no order among equal keys (which one it gives depends on the row,
  its length and the CPU's sort kernels), so it is reproduced by calling exactly that on the full score row of
  every query whose ranking has a tie.

Only the rank of a query's best gold matters for recall, and only ties at or above that rank can move it: the
best order puts the gold first among the items tied with it, the worst order last.  Every query's three ranks
(rule, best, worst) give the metrics and their tie range.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from zero_bench.metrics.rules import TieRule, check_tie_rule

# Full score rows of a batch of query positions.
Rows = Callable[[np.ndarray], np.ndarray]


def official_order(row: np.ndarray) -> np.ndarray:
    """Candidates best first as the official ``itm_eval`` orders them: ``np.argsort(row)[::-1]``."""
    return np.argsort(row)[::-1]


@dataclass
class QueryRanks:
    """0-based rank of every query's best gold in one direction: under the rule used, and under the best and
    the worst order of ties.  ``has_gold`` marks the queries that count (items without gold are no queries)."""

    rank: np.ndarray
    best: np.ndarray
    worst: np.ndarray
    has_gold: np.ndarray


def row_ranks(row: np.ndarray, golds: np.ndarray, rule: TieRule) -> tuple[int, int, int]:
    """(rank under ``rule``, best, worst) of the best gold among ``golds`` in one query's full score row."""
    golds = np.unique(golds)  # a gold pair listed twice is one item
    values = row[golds]
    top = values.max()
    higher = int(np.count_nonzero(row > top))
    tied = int(np.count_nonzero(row == top))
    gold_tied = int(np.count_nonzero(values == top))
    best, worst = higher, higher + tied - gold_tied
    if rule == "official":
        position = np.empty(row.size, dtype=np.int64)
        position[official_order(row)] = np.arange(row.size)
        return int(position[golds].min()), best, worst
    first = int(golds[values == top].min())  # the first tied gold by index, after the tied non-gold before it
    return higher + int(np.count_nonzero(row[:first] == top)), best, worst


def golds_by_query(query: np.ndarray, item: np.ndarray, n_queries: int) -> list[np.ndarray]:
    """Gold items of every query, from flat (query, item) pairs."""
    order = np.argsort(query, kind="stable")
    bounds = np.searchsorted(query[order], np.arange(n_queries + 1))
    items = item[order]
    return [items[bounds[q] : bounds[q + 1]] for q in range(n_queries)]


def resolve_rows(
    ranks: QueryRanks,
    queries: np.ndarray,
    rows: Rows,
    golds: list[np.ndarray],
    rule: TieRule,
    *,
    set_rank: bool,
    batch: int = 256,
) -> None:
    """Recompute the best and worst ranks of ``queries`` (the ones with ties) from their full score rows, in
    place, and their rank under ``rule`` where ``set_rank``."""
    for start in range(0, queries.size, batch):
        chunk = queries[start : start + batch]
        for query, row in zip(chunk, rows(chunk), strict=True):
            if golds[query].size:
                rank, ranks.best[query], ranks.worst[query] = row_ranks(row, golds[query], rule)
                if set_rank:
                    ranks.rank[query] = rank


def recall_at(ranks: dict[str, tuple[np.ndarray, np.ndarray]], ks: Sequence[int]) -> dict[str, float]:
    """Official keys from per-direction (ranks, has_gold): ``{prefix}_r{k}``, ``{prefix}_r_mean``, ``r_mean``."""
    levels = sorted(set(int(k) for k in ks))
    out: dict[str, float] = {}
    for prefix, (rank, has_gold) in ranks.items():
        if not has_gold.any():
            continue
        values = [100.0 * float(np.count_nonzero(rank[has_gold] < k)) / int(has_gold.sum()) for k in levels]
        for k, value in zip(levels, values, strict=True):
            out[f"{prefix}_r{k}"] = value
        out[f"{prefix}_r_mean"] = sum(values) / len(values)
    if "txt_r_mean" in out and "img_r_mean" in out:
        out["r_mean"] = (out["txt_r_mean"] + out["img_r_mean"]) / 2
    return out


def metrics_and_tie_range(
    ranks: dict[str, QueryRanks], ks: Sequence[int]
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """The metrics under the rule used, and per metric its (lowest, highest) value over all orders of ties.

    Recall only grows as ranks fall, so the best order of every query at once gives every maximum."""
    metrics = recall_at({p: (r.rank, r.has_gold) for p, r in ranks.items()}, ks)
    low = recall_at({p: (r.worst, r.has_gold) for p, r in ranks.items()}, ks)
    high = recall_at({p: (r.best, r.has_gold) for p, r in ranks.items()}, ks)
    return metrics, {key: (low[key], high[key]) for key in metrics}


def tied_queries(values: torch.Tensor, depth: int) -> np.ndarray:
    """Queries whose ranked values (best first) have two equal neighbours among the first ``depth`` + 1: the
    only ones whose top ``depth`` an order of ties can change."""
    head = values[:, : depth + 1]
    return torch.nonzero((head[:, 1:] == head[:, :-1]).any(dim=1)).squeeze(1).cpu().numpy()


def first_gold(ranked: np.ndarray, query: np.ndarray, item: np.ndarray, n_items: int) -> np.ndarray:
    """Position of each query's first gold (flat ``query``, ``item`` pairs) in its ranked list, or the list's
    length where none is listed."""
    gold_keys = np.unique(query * n_items + item)
    keys = np.arange(ranked.shape[0])[:, None] * n_items + ranked
    found = gold_keys[np.searchsorted(gold_keys, keys).clip(max=gold_keys.size - 1)] == keys
    found &= ranked >= 0
    return np.where(found.any(axis=1), found.argmax(axis=1), ranked.shape[1])


def rankings_under_rule(
    ranked: torch.Tensor,
    values: torch.Tensor,
    rows: Rows,
    query: np.ndarray,
    item: np.ndarray,
    n_items: int,
    rule: TieRule,
) -> tuple[torch.Tensor, QueryRanks]:
    """Rankings under ``rule`` and every query's three gold ranks, from rankings under the index rule.

    ``ranked`` [queries, length]: each query's items best first, ties by ascending index; ``values``: their
    scores in that order, at least ``length`` + 1 wide where more items exist (so that a tie across the cut
    shows); ``rows(queries)``: those queries' full score rows, called only for queries with a tie;
    ``query``, ``item``: the gold pairs."""
    rule = check_tie_rule(rule)
    n_queries, length = ranked.shape
    rank = first_gold(ranked.cpu().numpy(), query, item, n_items)
    ranks = QueryRanks(rank, rank.copy(), rank.copy(), np.bincount(query, minlength=n_queries) > 0)
    tied = tied_queries(values.cpu(), length)
    golds = golds_by_query(query, item, n_queries) if tied.size else []
    reordered = ranked.cpu().clone()
    for start in range(0, tied.size, 256):
        chunk = tied[start : start + 256]
        for q, row in zip(chunk, rows(chunk), strict=True):
            if rule == "official":
                reordered[q] = torch.from_numpy(official_order(row)[:length].copy())
            if golds[q].size:
                in_rule, ranks.best[q], ranks.worst[q] = row_ranks(row, golds[q], rule)
                if rule == "official":
                    ranks.rank[q] = in_rule
    return reordered.to(ranked.device), ranks


# Where the official ``compute_cross_score`` puts every item that is not one of a query's re-ranked candidates.
OFFICIAL_FILL = -100.0


def reranked_rows(candidates: np.ndarray, scores: np.ndarray, n_items: int) -> Rows:
    """Full score rows after re-ranking, as the official code builds them: the candidates' new scores, and
    :data:`OFFICIAL_FILL` for every other item (float32, as its ``torch.full``)."""

    def rows(queries: np.ndarray) -> np.ndarray:
        out = np.full((queries.size, n_items), OFFICIAL_FILL, dtype=np.float32)
        np.put_along_axis(out, candidates[queries], scores[queries].astype(np.float32), axis=1)
        return out

    return rows


def reranked_values(
    candidates: torch.Tensor, scores: torch.Tensor, n_items: int, width: int
) -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """Re-ranked candidates [queries, k] with their new scores: (candidates, scores) as numpy, and the scores
    best first (ties by index, as the re-ranked lists), padded with :data:`OFFICIAL_FILL` to ``width`` where
    other items follow, so that a tie across the end of the candidates shows."""
    by_index = torch.sort(candidates, dim=1, stable=True)
    ordered = torch.sort(scores.gather(1, by_index.indices), dim=1, descending=True, stable=True).values
    pad = min(width, n_items) - ordered.shape[1]
    if pad > 0:
        ordered = torch.cat([ordered, torch.full((ordered.shape[0], pad), OFFICIAL_FILL, dtype=ordered.dtype)], 1)
    return candidates.cpu().numpy(), scores.cpu().numpy(), ordered.cpu()
