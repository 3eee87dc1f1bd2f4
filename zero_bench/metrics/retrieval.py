"""Retrieval recall in the official ``itm_eval`` convention, computed without the full score matrix.

Keys (percent): ``txt_r{k}`` image-to-text (an image query is a hit at k if ANY of its gold texts is in its top
k), ``img_r{k}`` text-to-image (a text query is a hit if a gold image is in its top k), ``txt_r_mean`` and
``img_r_mean`` (means over ``ks``) and ``r_mean`` (mean of both, the "mean of 6" for ks = 1, 5, 10).

Ties are ordered by ascending index by default (see :mod:`zero_bench.metrics.ranking`), or with
``tie_rule="official"`` as the official ``np.argsort(row)[::-1]`` orders them (see :mod:`zero_bench.metrics.ties`);
without ties both give the official numbers.  ``retrieval_metrics_with_ties`` also gives every metric's range
over all orders of ties.  Image queries without any gold text (distractor images in a gallery) are not counted
as queries.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from zero_bench.metrics.gemm import TILE_COLS as TILE_COLS  # the CPU tile shape, re-exported
from zero_bench.metrics.gemm import TILE_ROWS as TILE_ROWS
from zero_bench.metrics.gemm import cpu_gemm, single_threaded
from zero_bench.metrics.kernels import fused_counts, topk_of_product
from zero_bench.metrics.ranking import (
    DEFAULT_CHUNK_BYTES,
    TopK,
    rows_per_chunk,
    similarity_chunks,
    topk_both_ways,
)
from zero_bench.metrics.rules import TieRule, check_tie_rule
from zero_bench.metrics.ties import (
    QueryRanks,
    Rows,
    golds_by_query,
    metrics_and_tie_range,
    rankings_under_rule,
    resolve_rows,
)

GoldSpec = Sequence[int] | Sequence[Sequence[int]] | np.ndarray | torch.Tensor


def gold_pairs(text_to_image: GoldSpec) -> np.ndarray:
    """Normalise gold labels to [n, 2] (text, image) rows: ``text_to_image[t]`` is one image id or a list."""
    if isinstance(text_to_image, torch.Tensor):
        text_to_image = text_to_image.cpu().numpy()
    if isinstance(text_to_image, np.ndarray) and text_to_image.ndim == 1:
        pairs = np.stack([np.arange(len(text_to_image)), text_to_image.astype(np.int64)], axis=1)
    else:
        pairs = np.asarray(
            [
                (t, int(i))
                for t, images in enumerate(text_to_image)
                for i in (images if isinstance(images, (list, tuple, np.ndarray)) else [images])
            ],
            dtype=np.int64,
        ).reshape(-1, 2)
    if (pairs[:, 1] < 0).any():
        raise ValueError("text_to_image has a negative image id")
    return pairs


class RetrievalRecall:
    """Recall@k in both directions from ranked lists (update with query batches, then compute)."""

    def __init__(self, gold: np.ndarray, n_images: int, n_texts: int, ks: Sequence[int] = (1, 5, 10)) -> None:
        self.ks = tuple(sorted(set(int(k) for k in ks)))
        pairs = torch.as_tensor(gold, dtype=torch.int64)
        self.n_images, self.n_texts = n_images, n_texts
        # Dense relevance would be images x texts; keep hashed pair ids instead.
        self._pair_keys = torch.unique(pairs[:, 1] * n_texts + pairs[:, 0])
        self._image_has_gold = torch.zeros(n_images, dtype=torch.bool)
        self._image_has_gold[pairs[:, 1]] = True
        self._text_has_gold = torch.zeros(n_texts, dtype=torch.bool)
        self._text_has_gold[pairs[:, 0]] = True
        self._hits = {"txt": torch.zeros(len(self.ks)), "img": torch.zeros(len(self.ks))}
        self._queries = {"txt": 0, "img": 0}

    def _is_gold(self, images: torch.Tensor, texts: torch.Tensor) -> torch.Tensor:
        keys = images * self.n_texts + texts
        pos = torch.searchsorted(self._pair_keys, keys).clamp(max=self._pair_keys.numel() - 1)
        return (self._pair_keys[pos] == keys) & (images >= 0) & (texts >= 0)

    def _first_hit(self, relevant: torch.Tensor) -> torch.Tensor:
        width = relevant.shape[1]
        ranks = torch.where(relevant, torch.arange(width)[None, :], width)
        return ranks.min(dim=1).values

    def update_image_queries(self, images: torch.Tensor, ranked_texts: torch.Tensor) -> None:
        """``ranked_texts[q]``: the texts ranked for image ``images[q]``, best first (at least max(ks) long)."""
        images, ranked_texts = images.cpu(), ranked_texts.cpu()
        keep = self._image_has_gold[images]
        images, ranked_texts = images[keep], ranked_texts[keep]
        first = self._first_hit(self._is_gold(images[:, None].expand_as(ranked_texts), ranked_texts))
        self._hits["txt"] += torch.stack([(first < k).sum() for k in self.ks]).float()
        self._queries["txt"] += int(images.numel())

    def update_text_queries(self, texts: torch.Tensor, ranked_images: torch.Tensor) -> None:
        texts, ranked_images = texts.cpu(), ranked_images.cpu()
        keep = self._text_has_gold[texts]
        texts, ranked_images = texts[keep], ranked_images[keep]
        first = self._first_hit(self._is_gold(ranked_images, texts[:, None].expand_as(ranked_images)))
        self._hits["img"] += torch.stack([(first < k).sum() for k in self.ks]).float()
        self._queries["img"] += int(texts.numel())

    def compute(self) -> dict[str, float]:
        return summarise_recall(
            {
                prefix: [100.0 * float(h) / self._queries[prefix] for h in self._hits[prefix]]
                for prefix in ("txt", "img")
                if self._queries[prefix] > 0
            },
            self.ks,
        )


def summarise_recall(recalls: dict[str, list[float]], ks: Sequence[int]) -> dict[str, float]:
    """Official keys from per-direction recalls at ``ks``: ``{prefix}_r{k}``, ``{prefix}_r_mean``, ``r_mean``."""
    out: dict[str, float] = {}
    for prefix, values in recalls.items():
        for k, value in zip(ks, values, strict=False):
            out[f"{prefix}_r{k}"] = value
        out[f"{prefix}_r_mean"] = sum(values) / len(values)
    if "txt_r_mean" in out and "img_r_mean" in out:
        out["r_mean"] = (out["txt_r_mean"] + out["img_r_mean"]) / 2
    return out


def metrics_from_topk(
    i2t: TopK | None, t2i: TopK | None, gold: np.ndarray, n_images: int, n_texts: int, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    recall = RetrievalRecall(gold, n_images, n_texts, ks)
    if i2t is not None:
        recall.update_image_queries(torch.arange(n_images), i2t.indices)
    if t2i is not None:
        recall.update_text_queries(torch.arange(n_texts), t2i.indices)
    return recall.compute()


def retrieval_topk(
    image_emb: torch.Tensor,
    text_emb: torch.Tensor,
    k: int,
    *,
    normalize: bool = True,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> tuple[TopK, TopK]:
    """Top-k texts per image and top-k images per text by cosine similarity, in one pass over the matrix.

    On CPU the matrix is produced in tiles by the faster of numpy's and torch's GEMM, each tile folded into the
    running lists by a fused loop; on other devices in row chunks with torch operations.  Both follow the
    index tie rule exactly.
    """
    image_emb, text_emb = _prepared(image_emb, text_emb, normalize)
    return _topk_prepared(image_emb, text_emb, k, chunk_bytes)


def _topk_prepared(image_emb: torch.Tensor, text_emb: torch.Tensor, k: int, chunk_bytes: int) -> tuple[TopK, TopK]:
    n_images, n_texts = image_emb.shape[0], text_emb.shape[0]
    if image_emb.device.type != "cpu":
        chunks = similarity_chunks(image_emb, text_emb, rows_per_chunk(n_texts, chunk_bytes))
        return topk_both_ways(chunks, n_images, n_texts, k, k, image_emb.device)
    k_i2t, k_t2i = min(k, n_texts), min(k, n_images)
    row_values = np.full((n_images, k_i2t), -np.inf, dtype=np.float32)
    row_items = np.full((n_images, k_i2t), -1, dtype=np.int64)
    col_values = np.full((n_texts, k_t2i), -np.inf, dtype=np.float32)
    col_items = np.full((n_texts, k_t2i), -1, dtype=np.int64)
    images, texts = image_emb.numpy(), text_emb.numpy()
    gemm = cpu_gemm(n_images * n_texts, images.shape[1])
    with single_threaded():
        topk_of_product(gemm, images, texts, row_values, row_items, col_values, col_items)
    return (
        TopK(torch.from_numpy(row_items), torch.from_numpy(row_values)),
        TopK(torch.from_numpy(col_items), torch.from_numpy(col_values)),
    )


def _prepared(image_emb: torch.Tensor, text_emb: torch.Tensor, normalize: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """float32 (L2-normalised) embeddings on the images' device, checked finite."""
    image_emb, text_emb = torch.as_tensor(image_emb).detach().float(), torch.as_tensor(text_emb).detach().float()
    if normalize:
        image_emb = torch.nn.functional.normalize(image_emb, dim=-1)
        text_emb = torch.nn.functional.normalize(text_emb, dim=-1)
    text_emb = text_emb.to(image_emb.device)
    if not (_finite(image_emb) and _finite(text_emb)):
        raise ValueError("embeddings contain NaN or infinity")
    return image_emb.contiguous(), text_emb.contiguous()


def _finite(tensor: torch.Tensor) -> bool:
    # On CPU numpy's check: torch's, between BLAS calls on other thread pools, can wait for idle threads.
    if tensor.device.type == "cpu":
        return bool(np.isfinite(tensor.detach().numpy()).all())
    return bool(torch.isfinite(tensor).all())


def cosine_rows(queries: torch.Tensor, items: torch.Tensor) -> Rows:
    """Full cosine rows of a batch of query positions, as :func:`retrieval_topk` scores them."""
    queries, items = _prepared(queries, items, True)
    return full_rows(queries.cpu().numpy(), items.cpu().numpy())


def full_rows(queries: np.ndarray, items: np.ndarray) -> Rows:
    """Rows of ``queries @ items.T`` for a batch of query positions, by the same GEMM as the tiles."""
    gemm = cpu_gemm(queries.shape[0] * items.shape[0], queries.shape[1])

    def rows(positions: np.ndarray) -> np.ndarray:
        out = np.empty((positions.size, items.shape[0]), dtype=np.float32)
        gemm(np.ascontiguousarray(queries[positions]), items, out)
        return out

    return rows


def retrieval_ranks(
    image_emb: torch.Tensor | np.ndarray,
    text_emb: torch.Tensor | np.ndarray,
    text_to_image: GoldSpec,
    depth: int = 10,
    *,
    normalize: bool = True,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    tie_rule: TieRule = "index",
) -> dict[str, QueryRanks]:
    """Rank of every query's best gold both ways (exact up to ``depth``; deeper ranks read as ``depth`` + 1 or
    more), under ``tie_rule`` and under the best and worst order of ties.

    The top ``depth`` + 1 of every query come from the tiled pass; the queries with a tie among them (the only
    ones the order of ties can move) get their full score row recomputed by the same GEMM."""
    tie_rule = check_tie_rule(tie_rule)
    images, texts = _prepared(torch.as_tensor(image_emb), torch.as_tensor(text_emb), normalize)
    i2t, t2i = _topk_prepared(images, texts, depth + 1, chunk_bytes)
    images_np, texts_np = images.cpu().numpy(), texts.cpu().numpy()
    gold = gold_pairs(text_to_image)
    out = {}
    for prefix, topk, queries, items, query_col in (
        ("txt", i2t, images_np, texts_np, 1),
        ("img", t2i, texts_np, images_np, 0),
    ):
        width = min(depth, items.shape[0])
        _, out[prefix] = rankings_under_rule(
            topk.indices[:, :width],
            topk.scores,
            full_rows(queries, items),
            gold[:, query_col],
            gold[:, 1 - query_col],
            items.shape[0],
            tie_rule,
        )
    return out


def retrieval_metrics(
    image_emb: torch.Tensor | np.ndarray,
    text_emb: torch.Tensor | np.ndarray,
    text_to_image: GoldSpec,
    ks: Sequence[int] = (1, 5, 10),
    *,
    normalize: bool = True,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    tie_rule: TieRule = "index",
) -> dict[str, float]:
    """Recall@k both ways from embeddings by cosine similarity.

    Rows are L2-normalised here unless ``normalize=False`` (then the dot product is used as given).  Memory is
    bounded by ``chunk_bytes`` plus the embeddings, whatever the gallery size; the computation runs on the
    embeddings' device.  ``tie_rule``: ``"index"`` (ascending index) or ``"official"`` (``itm_eval``'s order);
    :func:`retrieval_metrics_with_ties` also gives each metric's range over all orders of ties.
    """
    return retrieval_metrics_with_ties(
        image_emb, text_emb, text_to_image, ks, normalize=normalize, chunk_bytes=chunk_bytes, tie_rule=tie_rule
    )[0]


def retrieval_metrics_with_ties(
    image_emb: torch.Tensor | np.ndarray,
    text_emb: torch.Tensor | np.ndarray,
    text_to_image: GoldSpec,
    ks: Sequence[int] = (1, 5, 10),
    *,
    normalize: bool = True,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    tie_rule: TieRule = "index",
) -> tuple[dict[str, float], dict[str, tuple[float, float]]]:
    """(metrics under ``tie_rule``, per metric its (lowest, highest) value over all orders of tied scores)."""
    ranks = retrieval_ranks(
        image_emb, text_emb, text_to_image, max(ks), normalize=normalize, chunk_bytes=chunk_bytes, tie_rule=tie_rule
    )
    return metrics_and_tie_range(ranks, ks)


def _best_gold(
    scores: np.ndarray,
    gold: np.ndarray,
    query_col: int,
    n_queries: int,
) -> np.ndarray:
    """Per query, the score of its best gold item; queries without gold get +inf (nothing ranks above it)."""
    query, item = gold[:, query_col], gold[:, 1 - query_col]
    values = scores[item, query] if query_col == 0 else scores[query, item]
    best_value = np.full(n_queries, -np.inf, dtype=scores.dtype)
    np.maximum.at(best_value, query, values)
    best_value[np.isneginf(best_value)] = np.inf
    return best_value


def retrieval_ranks_from_scores(
    scores: torch.Tensor | np.ndarray, text_to_image: GoldSpec, tie_rule: TieRule = "index"
) -> dict[str, QueryRanks]:
    """Rank of every query's best gold both ways in a full [images, texts] score matrix (higher = more
    similar), under ``tie_rule`` and under the best and worst order of ties.

    One fused pass counts, for every query, the items scoring above its best gold and at or above it; only
    queries where the two differ by more than the gold itself (a tie) look at their row again."""
    tie_rule = check_tie_rule(tie_rule)
    scores = scores.cpu().numpy() if isinstance(scores, torch.Tensor) else np.asarray(scores)
    n_images, n_texts = scores.shape
    gold = gold_pairs(text_to_image)
    image_value = _best_gold(scores, gold, 1, n_images)  # image queries: their best gold text's score
    text_value = _best_gold(scores, gold, 0, n_texts)  # text queries: their best gold image's score
    row_gt, row_ge, col_gt, col_ge = fused_counts(scores, image_value, text_value)
    out = {}
    for prefix, higher, at_least, value, query_col, lines in (
        ("txt", row_gt, row_ge, image_value, 1, lambda q: scores[q]),
        ("img", col_gt, col_ge, text_value, 0, lambda q: scores[:, q].T),
    ):
        query, item = gold[:, query_col], gold[:, 1 - query_col]
        golds = golds_by_query(query, item, value.size)
        ranks = QueryRanks(higher.copy(), higher.copy(), higher.copy(), np.isfinite(value))
        resolve_rows(ranks, np.flatnonzero(at_least - higher > 1), lines, golds, tie_rule, set_rank=True)
        out[prefix] = ranks
    return out


def retrieval_metrics_from_scores(
    scores: torch.Tensor | np.ndarray,
    text_to_image: GoldSpec,
    ks: Sequence[int] = (1, 5, 10),
    *,
    tie_rule: TieRule = "index",
) -> dict[str, float]:
    """Recall@k both ways from a precomputed [images, texts] score matrix (higher = more similar).

    Each query's rank is counted directly in one fused pass over the matrix, with no sorting and no
    temporaries; ``tie_rule`` orders tied scores (``"index"``: ascending index; ``"official"``: ``itm_eval``'s
    ``np.argsort(row)[::-1]``).
    """
    return metrics_and_tie_range(retrieval_ranks_from_scores(scores, text_to_image, tie_rule), ks)[0]
