"""Cross-encoder re-ranking of each query's dual-encoder top k, both directions at once.

The candidate pairs of both directions are pooled and de-duplicated, so a pair that is a candidate for its image
and for its text is scored once; pairs are scored in batches across queries and split across ranks.  As in the
official ``compute_cross_score``, a candidate's new score is the cross-encoder score (+ the cosine when the model
asks for it), and every non-candidate ranks below all candidates (the official -100 fill), in index order.
"""

from __future__ import annotations

import time

import torch

from zero_bench.evaluation.distributed import gather_rows, rank_and_world, shard
from zero_bench.evaluation.encode import autocast, progress_bar
from zero_bench.metrics.ranking import TopK
from zero_bench.models.protocol import Encoded


def candidate_keys(i2t: TopK, t2i: TopK, k: int, n_texts: int) -> torch.Tensor:
    """Sorted unique pair keys ``image * n_texts + text`` of every query's top-k candidates."""
    n_images = i2t.indices.shape[0]
    from_images = torch.arange(n_images, device=i2t.indices.device)[:, None] * n_texts + i2t.indices[:, :k]
    from_texts = t2i.indices[:, :k] * n_texts + torch.arange(t2i.indices.shape[0], device=t2i.indices.device)[:, None]
    return torch.unique(torch.cat([from_images.reshape(-1), from_texts.reshape(-1)]))


def score_candidate_pairs(
    model: object,
    keys: torch.Tensor,
    images: Encoded,
    texts: Encoded,
    n_texts: int,
    *,
    batch_size: int,
    device: torch.device,
    precision: str,
    show_progress: bool,
) -> torch.Tensor:
    """``model.score_pairs`` for every key, batched; each rank scores a contiguous share."""
    rank, world = rank_and_world()
    mine = shard(keys.numel(), rank, world)
    local_keys = keys[mine.start : mine.stop]
    out = torch.empty(local_keys.numel(), dtype=torch.float32, device=device)
    began = time.perf_counter()
    with progress_bar(show_progress and rank == 0) as bar, torch.inference_mode():
        task = bar.add_task("re-ranking pairs", total=local_keys.numel(), rate="")
        for start in range(0, local_keys.numel(), batch_size):
            batch = local_keys[start : start + batch_size]
            image_idx, text_idx = batch // n_texts, batch % n_texts
            image_states = {name: value[image_idx] for name, value in images.states.items()}
            text_states = {name: value[text_idx] for name, value in texts.states.items()}
            with autocast(device, precision):
                scores = model.score_pairs(image_states, text_states)
            out[start : start + batch.numel()] = scores.float().reshape(-1)
            done = start + batch.numel()
            bar.update(task, advance=batch.numel(), rate=f"{done / max(time.perf_counter() - began, 1e-9):.1f} pairs/s")
    if world == 1:
        return out
    return gather_rows(out, [len(shard(keys.numel(), r, world)) for r in range(world)])


def candidate_scores(
    topk: TopK,
    k: int,
    keys: torch.Tensor,
    pair_scores: torch.Tensor,
    *,
    queries_are_images: bool,
    n_texts: int,
    add_similarity: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each query's top-k candidates [n_queries, k] and their new scores (cross score, + cosine if asked)."""
    cand = topk.indices[:, :k]
    query = torch.arange(cand.shape[0], device=cand.device)[:, None]
    pair_key = query * n_texts + cand if queries_are_images else cand * n_texts + query
    scores = pair_scores[torch.searchsorted(keys, pair_key)]
    if add_similarity:
        scores = scores + topk.scores[:, :k]
    return cand, scores


def rerank_rankings(
    topk: TopK,
    k: int,
    keys: torch.Tensor,
    pair_scores: torch.Tensor,
    *,
    queries_are_images: bool,
    n_texts: int,
    n_candidates: int,
    add_similarity: bool,
    length: int,
) -> torch.Tensor:
    """Ranked positions [n_queries, length] after re-scoring each query's top k (ties by ascending index)."""
    cand, scores = candidate_scores(
        topk,
        k,
        keys,
        pair_scores,
        queries_are_images=queries_are_images,
        n_texts=n_texts,
        add_similarity=add_similarity,
    )
    n_queries = cand.shape[0]
    by_index = torch.sort(cand, dim=1, stable=True)
    cand, scores = by_index.values, scores.gather(1, by_index.indices)
    by_score = torch.sort(scores, dim=1, descending=True, stable=True).indices
    ranked = cand.gather(1, by_score)
    if k >= length:
        return ranked[:, :length]
    # Fewer candidates than the ranking length: the rest follow in index order (the official -100 cells).
    pool = torch.arange(min(n_candidates, length + k), device=cand.device).expand(n_queries, -1)
    is_candidate = (pool[:, :, None] == cand[:, None, :]).any(dim=2)
    order = torch.sort(is_candidate.to(torch.int8), dim=1, stable=True).indices
    rest = pool.gather(1, order)[:, : length - k]
    return torch.cat([ranked, rest], dim=1)
