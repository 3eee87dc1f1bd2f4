"""Classification metrics equal scikit-learn's on the same scores; ties rank by ascending class id with the range
over every order of ties; chunking changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, balanced_accuracy_score, top_k_accuracy_score

from zero_bench.metrics.classification import classification_metrics, classification_tie_range, rank_classes


def _scores(images: torch.Tensor, classes: torch.Tensor) -> np.ndarray:
    return (torch.nn.functional.normalize(images, dim=-1) @ torch.nn.functional.normalize(classes, dim=-1).T).numpy()


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 40),
    n_classes=st.integers(3, 12),  # scikit-learn's top-k takes 1-d scores for two classes: see below
    dim=st.integers(2, 6),
    seed=st.integers(0, 10_000),
    chunk=st.integers(1, 50),
)
def test_equal_to_scikit_learn(n: int, n_classes: int, dim: int, seed: int, chunk: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    images, classes = torch.randn(n, dim, generator=gen), torch.randn(n_classes, dim, generator=gen)
    labels = torch.randint(0, n_classes, (n,), generator=gen)
    ranking = rank_classes(images, classes, labels, chunk_rows=chunk)
    metrics = classification_metrics(labels.numpy(), ranking.ranked.numpy(), n_classes)
    scores = _scores(images, classes)
    everything = np.arange(n_classes)
    assert metrics["acc1"] == pytest.approx(100 * top_k_accuracy_score(labels, scores, k=1, labels=everything))
    if n_classes >= 5:
        assert metrics["acc5"] == pytest.approx(100 * top_k_accuracy_score(labels, scores, k=5, labels=everything))
    else:
        assert "acc5" not in metrics
    balanced = balanced_accuracy_score(labels.numpy(), ranking.ranked[:, 0].numpy())
    assert metrics["mean_per_class_recall"] == pytest.approx(100 * balanced)
    assert ranking.ranked.numpy().tolist() == np.argsort(-scores, kind="stable")[:, :5].tolist()


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_two_classes_equal_to_scikit_learn() -> None:
    gen = torch.Generator().manual_seed(3)
    images, classes, labels = torch.randn(30, 4, generator=gen), torch.randn(2, 4, generator=gen), torch.arange(30) % 2
    ranking = rank_classes(images, classes, labels)
    metrics = classification_metrics(labels.numpy(), ranking.ranked.numpy(), 2)
    predicted = _scores(images, classes).argmax(axis=1)
    assert set(metrics) == {"acc1", "mean_per_class_recall"}
    assert metrics["acc1"] == pytest.approx(100 * accuracy_score(labels, predicted))
    assert metrics["mean_per_class_recall"] == pytest.approx(100 * balanced_accuracy_score(labels, predicted))


def test_ties_rank_by_class_id_and_report_their_range() -> None:
    # Classes 1 and 3 are the same vector (e.g. a duplicated class name): every image ties between them.
    classes = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    images = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    labels = torch.tensor([1, 3, 0])
    ranking = rank_classes(images, classes, labels)
    assert ranking.ranked[:2, :2].tolist() == [[1, 3], [1, 3]]
    metrics = classification_metrics(labels.numpy(), ranking.ranked.numpy(), 5)
    assert metrics["acc1"] == pytest.approx(200 / 3)  # image 1's class 3 loses the tie to class 1
    ranges = classification_tie_range(labels.numpy(), ranking, 5)
    assert ranges["acc1"] == pytest.approx((100 / 3, 100.0))
    assert ranges["mean_per_class_recall"] == pytest.approx((100 / 3, 100.0))
    assert ranges["acc5"] == (100.0, 100.0)


def test_tie_across_the_cut_keeps_the_lowest_ids() -> None:
    classes = torch.tensor([[1.0, 0.0]] * 8)  # eight identical classes
    ranking = rank_classes(torch.tensor([[1.0, 0.0]]), classes, torch.tensor([6]))
    assert ranking.ranked.tolist() == [[0, 1, 2, 3, 4]]
    assert (ranking.best.item(), ranking.worst.item()) == (0, 5)  # capped at the five places the metrics read
