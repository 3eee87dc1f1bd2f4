"""Cross-encoder re-ranking of each query's dual-encoder top k, both directions at once.

The candidate pairs of both directions are pooled and de-duplicated, so a pair that is a candidate for its image
and for its text is scored once; pairs are scored image block by image block (bounded memory, see
:func:`score_candidate_pairs`), in batches across queries, and split across ranks by image.  As in the
official ``compute_cross_score``, a candidate's new score is the cross-encoder score (+ the cosine when the model
asks for it), and every non-candidate ranks below all candidates (the official -100 fill), in index order.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import torch

from zero_bench.evaluation.distributed import gather_rows, rank_and_world
from zero_bench.evaluation.encode import autocast, progress_bar
from zero_bench.evaluation.states import HeapTrim, StateStore, chunk_starts, owned_starts
from zero_bench.metrics.ranking import TopK


def candidate_keys(i2t: TopK, t2i: TopK, k: int, n_texts: int) -> torch.Tensor:
    """Sorted unique pair keys ``image * n_texts + text`` of every query's top-k candidates."""
    n_images = i2t.indices.shape[0]
    from_images = torch.arange(n_images, device=i2t.indices.device)[:, None] * n_texts + i2t.indices[:, :k]
    from_texts = t2i.indices[:, :k] * n_texts + torch.arange(t2i.indices.shape[0], device=t2i.indices.device)[:, None]
    return torch.unique(torch.cat([from_images.reshape(-1), from_texts.reshape(-1)]))


@runtime_checkable
class ImageGroupScorer(Protocol):
    """A cross encoder that scores pairs sharing images once per image where it can (R2D2: the image's keys and
    values in each cross-attention layer).  ``image_states`` holds distinct images; pair k is image row
    ``pair_image[k]`` with text row k.  Same scores as ``score_pairs`` on the expanded rows."""

    def score_pairs_by_image(
        self, image_states: dict[str, torch.Tensor], text_states: dict[str, torch.Tensor], pair_image: torch.Tensor
    ) -> torch.Tensor: ...


def _score_batch(
    model: object,
    image_states: dict[str, torch.Tensor],
    text_states: dict[str, torch.Tensor],
    pair_image: torch.Tensor,
) -> torch.Tensor:
    if isinstance(model, ImageGroupScorer):
        return model.score_pairs_by_image(image_states, text_states, pair_image)
    expanded = {name: value[pair_image] for name, value in image_states.items()}
    return model.score_pairs(expanded, text_states)  # type: ignore[attr-defined]


# The default pair batch: as many pairs as keep ACTIVATION_FACTOR x their float32 states within PAIR_BATCH_BYTES,
# a power of two in [MIN_PAIR_BATCH, MAX_PAIR_BATCH] (measurements: docs/performance.md, "re-ranking").
PAIR_BATCH_BYTES = 256 << 20
ACTIVATION_FACTOR = 8  # an estimate of a cross-encoder layer's live activations, in multiples of its inputs
MIN_PAIR_BATCH, MAX_PAIR_BATCH = 32, 1024


def default_pair_batch(images: StateStore, texts: StateStore, image_start: int = 0) -> int:
    """Pairs per batch when none is given, from the size of one image's and one text's states (the image read from
    its chunk at ``image_start``): 1024 for r2d2-tiny (per-batch overhead dominates there), 32 at ViT-B width
    (activations dominate)."""
    per_pair = ACTIVATION_FACTOR * (images.row_bytes(image_start) + texts.row_bytes())
    fits = max(1, PAIR_BATCH_BYTES // max(per_pair, 1))
    return min(MAX_PAIR_BATCH, max(MIN_PAIR_BATCH, 1 << (fits.bit_length() - 1)))


def score_candidate_pairs(
    model: object,
    keys: torch.Tensor,
    images: StateStore,
    texts: StateStore,
    n_texts: int,
    *,
    batch_size: int | None,
    device: torch.device,
    precision: str,
    show_progress: bool,
) -> torch.Tensor:
    """``model.score_pairs`` for every pair key, in the order of ``keys``; returned on every rank.

    Pairs are taken image block by image block (a block is one chunk of the image store), sorted by image, and
    scored in batches of ``batch_size`` (None: :func:`default_pair_batch`); each batch reads its own images' and
    texts' rows (copies, widened to float32 as scored) and drops them, so memory is set by ``batch_size``, not the
    block or the split.  Each rank scores the pairs of the image chunks it encoded, so it reads only its own.
    """
    rank, world = rank_and_world()
    order = torch.sort(keys, stable=True)
    sorted_keys = order.values
    image_of = torch.div(sorted_keys, n_texts, rounding_mode="floor")
    block_starts = chunk_starts(images.n_items, images.chunk_size)
    block_bounds = torch.tensor([*block_starts, images.n_items], device=keys.device)
    pair_bounds = torch.searchsorted(image_of, block_bounds).tolist()  # pairs of block b: [pair_bounds[b], ..[b+1])
    ends = {s: pair_bounds[i + 1] for i, s in enumerate(block_starts)}
    firsts = {s: pair_bounds[i] for i, s in enumerate(block_starts)}
    shares = [owned_starts(images.n_items, images.chunk_size, r, world) for r in range(world)]
    if not batch_size:  # from a chunk this rank holds (a rank without image chunks scores nothing)
        batch_size = default_pair_batch(images, texts, shares[rank][0]) if shares[rank] else MIN_PAIR_BATCH
    sizes = [sum(ends[s] - firsts[s] for s in share) for share in shares]
    out = torch.empty(sizes[rank], dtype=torch.float32, device=device)
    began, done, trim = time.perf_counter(), 0, HeapTrim()
    with progress_bar(show_progress and rank == 0) as bar, torch.inference_mode():
        task = bar.add_task("re-ranking pairs", total=sizes[rank], rate="")
        for block in shares[rank]:
            first, end = firsts[block], ends[block]
            if end == first:
                continue
            for start in range(first, end, batch_size):
                batch = sorted_keys[start : min(start + batch_size, end)]
                distinct, pair_image = torch.unique(image_of[start : start + batch.numel()], return_inverse=True)
                image_states = images.rows(distinct, device)  # this batch's images only (at most batch_size)
                text_states = texts.rows(batch % n_texts, device)
                with autocast(device, precision):
                    scores = _score_batch(model, image_states, text_states, pair_image.to(device))
                out[done : done + batch.numel()] = scores.float().reshape(-1)
                done += batch.numel()
                del image_states, text_states, scores
                trim()  # batch-sized blocks freed on the heap must not pile up with the pairs
                rate = done / max(time.perf_counter() - began, 1e-9)
                bar.update(task, advance=batch.numel(), rate=f"{rate:.1f} pairs/s")
    scores = out if world == 1 else gather_rows(out, sizes)
    result = torch.empty_like(scores)
    result[order.indices.to(scores.device)] = scores
    return result


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
