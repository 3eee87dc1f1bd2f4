"""Zero-shot classification metrics: top-k accuracy and mean per-class recall, computed in row chunks.

Scores are cosines of L2-normalised image embeddings against the class embeddings.  Among equal scores the lower
class id ranks first (the ``index`` tie rule of retrieval), and each metric's range over every order of tied scores
is kept, as for retrieval.  The whole [images x classes] matrix is never held: rows are scored ``chunk_rows`` at a
time and reduced at once to each image's top classes and its gold class's best and worst rank.

The definitions are those of the anchors: ``acc@k`` is scikit-learn's ``top_k_accuracy_score`` (CLIP_benchmark's and
Chinese-CLIP's ``accuracy``), mean per-class recall is ``balanced_accuracy_score`` of the top-1 predictions (the
mean of the recalls of the classes present in the gold labels); all in percent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

RANKING_LENGTH = 5
# Scores per chunk (8 MB of float32): the top-k pass then reads the product while it is in cache.  Measured on this
# project's 2-core machine (benchmarks/classification.py, 50,000 x 1,000 from 512-d, product + top-k): torch's GEMM
# 0.35 s at 2,048-row chunks against 0.41-0.47 s at 4,096-16,777 rows; numpy's 0.38 s at its best (16,777 rows) and
# 0.53-0.78 s at 1,024-2,048 rows.  So torch's GEMM at this size, without a timing probe (0.22 s, more than it saves).
CHUNK_SCORES = 1 << 21


def ranking_length(n_classes: int) -> int:
    return min(RANKING_LENGTH, n_classes)


@dataclass
class ClassRanking:
    """Per image: its top classes best first (ties by ascending class id), and the 0-based rank of its gold class
    under the most (``best``) and the least (``worst``) favourable order of tied scores, both capped at
    ``RANKING_LENGTH`` (every metric looks at the first five places only)."""

    ranked: torch.Tensor  # [n, L] int64
    best: torch.Tensor  # [n] int64
    worst: torch.Tensor  # [n] int64


def class_vectors(prompt_embeddings: torch.Tensor, owners: list[int], n_classes: int) -> torch.Tensor:
    """[classes, d] from every prompt's embedding (``owners[k]``: the class of prompt k): each prompt L2-normalised,
    averaged per class, renormalised, as CLIP_benchmark's and Chinese-CLIP's ``zero_shot_classifier`` build them."""
    unit = torch.nn.functional.normalize(prompt_embeddings.float(), dim=-1)
    owner = torch.tensor(owners, device=unit.device)
    sums = torch.zeros(n_classes, unit.shape[1], device=unit.device).index_add_(0, owner, unit)
    counts = torch.bincount(owner, minlength=n_classes).unsqueeze(1)
    return torch.nn.functional.normalize(sums / counts, dim=-1)


def _fix_crowded(scores: torch.Tensor, columns: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The kept columns of ``rows``, whose boundary value is tied beyond the cut: the lowest columns among the tied
    ones (topk's pick is arbitrary there).  Rare with real scores; duplicated class names make it structural."""
    length = columns.shape[1]
    sub = scores[torch.from_numpy(rows).to(scores.device)]
    boundary = sub.gather(1, torch.from_numpy(columns[rows]).to(scores.device)).min(dim=1, keepdim=True).values
    above, at = sub > boundary, sub == boundary
    room = length - above.sum(dim=1, keepdim=True)
    chosen = above | (at & (at.cumsum(dim=1) <= room))
    return chosen.nonzero()[:, 1].view(-1, length).cpu().numpy()


def _reduce_chunk(scores: torch.Tensor, labels: np.ndarray, length: int) -> tuple[np.ndarray, ...]:
    """Top ``length`` columns (index tie rule) and the gold's capped best / worst rank, from one topk pass: one more
    value than kept shows whether the boundary is tied beyond the cut.  The bookkeeping on the few kept values is
    numpy: torch's per-row kernels on [rows, 5] tensors cost more than the top-k pass itself."""
    n_classes = scores.shape[1]
    probe = min(length + 1, n_classes)
    top_values, top_columns = scores.topk(probe, dim=1)
    values, columns = top_values.cpu().numpy(), top_columns.cpu().numpy()
    gold = scores.gather(1, torch.from_numpy(labels[:, None]).to(scores.device)).cpu().numpy()[:, 0]
    crowded = values[:, probe - 1] == values[:, length - 1] if probe > length else np.zeros(len(labels), bool)
    values, columns = values[:, :length], columns[:, :length]
    if crowded.any():
        rows = np.flatnonzero(crowded)
        columns[rows] = _fix_crowded(scores, columns, rows)
        values[rows] = np.take_along_axis(scores[torch.from_numpy(rows)].cpu().numpy(), columns[rows], axis=1)
    # Equal kept values: ascending column first (a lexicographic sort of the few rows that have any).
    tied = np.flatnonzero((values[:, 1:] == values[:, :-1]).any(axis=1) | crowded)
    if tied.size:
        order = np.lexsort((columns[tied], -values[tied]), axis=-1)
        columns[tied] = np.take_along_axis(columns[tied], order, axis=1)
        values[tied] = np.take_along_axis(values[tied], order, axis=1)
    # Every score above the boundary is among the kept ones, so both ranks are exact below ``length``.
    last = values[:, -1]
    inside = gold >= last
    best = np.where(inside, (values > gold[:, None]).sum(axis=1), length)
    worst = (values >= gold[:, None]).sum(axis=1) - 1 + (crowded & (gold == last)) * length
    worst = np.where(inside, worst, length)
    return columns.astype(np.int64), np.minimum(best, RANKING_LENGTH), np.minimum(worst, RANKING_LENGTH)


def rank_classes(
    images: torch.Tensor, classes: torch.Tensor, labels: torch.Tensor, *, chunk_rows: int | None = None
) -> ClassRanking:
    """Score every image against every class (cosine) chunk by chunk and keep only what the metrics need."""
    n_classes = classes.shape[0]
    length = ranking_length(n_classes)
    rows = chunk_rows or max(1, CHUNK_SCORES // max(n_classes, 1))
    # Ranking one image's classes does not depend on that image's norm, so only the classes are normalised.
    images = images.float().contiguous()
    classes_t = torch.nn.functional.normalize(classes.float(), dim=-1).T.contiguous()
    labels_np = labels.cpu().numpy().astype(np.int64)
    buffer = torch.empty(min(rows, images.shape[0]), n_classes, device=images.device)
    parts: list[tuple[np.ndarray, ...]] = []
    for start in range(0, images.shape[0], rows):
        block = images[start : start + rows]
        scores = torch.matmul(block, classes_t, out=buffer[: block.shape[0]])
        parts.append(_reduce_chunk(scores, labels_np[start : start + rows], length))
    ranked, best, worst = (torch.from_numpy(np.concatenate(column)) for column in zip(*parts, strict=True))
    return ClassRanking(ranked, best, worst)


def _per_class_recall_mean(labels: np.ndarray, correct: np.ndarray) -> float:
    """Mean over the classes present in ``labels`` of the share of their images with ``correct`` set."""
    classes, inverse = np.unique(labels, return_inverse=True)
    hits = np.bincount(inverse, weights=correct.astype(np.float64), minlength=classes.size)
    counts = np.bincount(inverse, minlength=classes.size)
    return float((hits / counts).mean())


def classification_metrics(labels: np.ndarray, ranked: np.ndarray, n_classes: int) -> dict[str, float]:
    """acc1, acc5 (only with at least 5 classes) and mean per-class recall, in percent, from ranked class ids."""
    labels = np.asarray(labels, dtype=np.int64)
    ranked = np.asarray(ranked, dtype=np.int64)
    hit = ranked == labels[:, None]
    metrics = {"acc1": 100.0 * float(hit[:, :1].any(axis=1).mean())}
    if n_classes >= RANKING_LENGTH:
        metrics["acc5"] = 100.0 * float(hit[:, :RANKING_LENGTH].any(axis=1).mean())
    metrics["mean_per_class_recall"] = 100.0 * _per_class_recall_mean(labels, hit[:, 0])
    return metrics


def classification_tie_range(
    labels: np.ndarray, ranking: ClassRanking, n_classes: int
) -> dict[str, tuple[float, float]]:
    """Each metric's (lowest, highest) value over every order of tied scores."""
    best, worst = ranking.best.numpy(), ranking.worst.numpy()
    out = {"acc1": (100.0 * float((worst < 1).mean()), 100.0 * float((best < 1).mean()))}
    if n_classes >= RANKING_LENGTH:
        out["acc5"] = (100.0 * float((worst < 5).mean()), 100.0 * float((best < 5).mean()))
    out["mean_per_class_recall"] = (
        100.0 * _per_class_recall_mean(labels, worst < 1),
        100.0 * _per_class_recall_mean(labels, best < 1),
    )
    return out
