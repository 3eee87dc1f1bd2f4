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
CHUNK_SCORES = 1 << 24  # scores per chunk (64 MB of float32), whatever the number of classes


def ranking_length(n_classes: int) -> int:
    return min(RANKING_LENGTH, n_classes)


@dataclass
class ClassRanking:
    """Per image: its top classes best first (ties by ascending class id), and the 0-based rank of its gold class
    under the most (``best``) and least (``worst``) favourable order of tied scores."""

    ranked: torch.Tensor  # [n, L] int64
    best: torch.Tensor  # [n] int64
    worst: torch.Tensor  # [n] int64


def _top_by_index_rule(scores: torch.Tensor, length: int) -> torch.Tensor:
    """The ``length`` best columns of each row, best first, equal scores by ascending column."""
    values, columns = scores.topk(length, dim=1)
    boundary = values[:, -1:]
    crowded = (scores >= boundary).sum(dim=1) > length  # a tie across the cut: topk's pick is arbitrary there
    if bool(crowded.any()):
        rows = crowded.nonzero().squeeze(1)
        sub = scores[rows]
        above = sub > boundary[rows]
        at = sub == boundary[rows]
        room = length - above.sum(dim=1, keepdim=True)
        chosen = above | (at & (at.cumsum(dim=1) <= room))
        columns[rows] = chosen.nonzero()[:, 1].view(-1, length)
        values[rows] = sub.gather(1, columns[rows])
    # Order the chosen columns: ascending column first, then a stable sort by score keeps it among equals.
    by_column = columns.sort(dim=1).indices
    columns, values = columns.gather(1, by_column), values.gather(1, by_column)
    order = values.sort(dim=1, descending=True, stable=True).indices
    return columns.gather(1, order)


def rank_classes(
    images: torch.Tensor, classes: torch.Tensor, labels: torch.Tensor, *, chunk_rows: int | None = None
) -> ClassRanking:
    """Score every image against every class (cosine) chunk by chunk and keep only what the metrics need."""
    n_classes = classes.shape[0]
    length = ranking_length(n_classes)
    rows = chunk_rows or max(1, CHUNK_SCORES // max(n_classes, 1))
    images = torch.nn.functional.normalize(images.float(), dim=-1)
    classes_t = torch.nn.functional.normalize(classes.float(), dim=-1).T.contiguous()
    labels = labels.to(images.device)
    ranked, best, worst = [], [], []
    for start in range(0, images.shape[0], rows):
        scores = images[start : start + rows] @ classes_t
        gold = scores.gather(1, labels[start : start + rows, None])
        above = (scores > gold).sum(dim=1)
        ranked.append(_top_by_index_rule(scores, length).cpu())
        best.append(above.cpu())
        worst.append(((scores >= gold).sum(dim=1) - 1).cpu())
    return ClassRanking(torch.cat(ranked), torch.cat(best), torch.cat(worst))


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
