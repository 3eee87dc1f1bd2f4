"""Metrics against straightforward implementations of the official rules."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zero_bench.metrics import matching_metrics, retrieval_metrics, retrieval_metrics_from_scores, roc_auc
from zero_bench.metrics.ranking import exact_row_topk, topk_both_ways


def matrix_chunks(scores: torch.Tensor, rows: int):
    for start in range(0, scores.shape[0], rows):
        yield start, scores[start : start + rows]


def official_itm_eval(scores_i2t: np.ndarray, scores_t2i: np.ndarray, img2txt: dict, txt2img: dict) -> dict:
    """The official per-query algorithm: argsort each row, rank of the best gold."""
    ranks = np.zeros(scores_i2t.shape[0])
    for index, score in enumerate(scores_i2t):
        inds = np.argsort(score)[::-1]
        ranks[index] = min(np.where(inds == i)[0][0] for i in img2txt[index])
    tr = [100.0 * np.mean(ranks < k) for k in (1, 5, 10)]
    ranks = np.zeros(scores_t2i.shape[0])
    for index, score in enumerate(scores_t2i):
        inds = np.argsort(score)[::-1]
        ranks[index] = np.where(inds == txt2img[index])[0][0]
    ir = [100.0 * np.mean(ranks < k) for k in (1, 5, 10)]
    out = {
        "txt_r1": tr[0],
        "txt_r5": tr[1],
        "txt_r10": tr[2],
        "txt_r_mean": np.mean(tr),
        "img_r1": ir[0],
        "img_r5": ir[1],
        "img_r10": ir[2],
        "img_r_mean": np.mean(ir),
    }
    out["r_mean"] = (out["txt_r_mean"] + out["img_r_mean"]) / 2
    return out


def _random_task(rng: np.random.Generator, n_images: int, per_image: int):
    text_to_image = np.repeat(np.arange(n_images), per_image)
    rng.shuffle(text_to_image)
    img2txt = {i: list(np.where(text_to_image == i)[0]) for i in range(n_images)}
    txt2img = dict(enumerate(text_to_image))
    return text_to_image, img2txt, txt2img


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_equal_official_itm_eval(seed: int) -> None:
    rng = np.random.default_rng(seed)
    text_to_image, img2txt, txt2img = _random_task(rng, 37, 3)
    # A model that is better than chance, so that every rank bucket is populated.
    scores = rng.normal(size=(37, 111)).astype(np.float32)
    scores[text_to_image, np.arange(111)] += 1.5
    ours = retrieval_metrics_from_scores(scores, text_to_image)
    reference = official_itm_eval(scores, scores.T, img2txt, txt2img)
    assert ours.keys() == reference.keys()
    for key in reference:
        assert ours[key] == pytest.approx(reference[key], abs=1e-9), key


def test_embeddings_equal_official_on_cosine() -> None:
    rng = np.random.default_rng(5)
    text_to_image, img2txt, txt2img = _random_task(rng, 50, 5)
    images = rng.normal(size=(50, 16)).astype(np.float32)
    texts = images[text_to_image] + rng.normal(scale=1.2, size=(250, 16)).astype(np.float32)
    ours = retrieval_metrics(images, texts, text_to_image, chunk_bytes=4 * 250 * 8)
    ni = images / np.linalg.norm(images, axis=1, keepdims=True)
    nt = texts / np.linalg.norm(texts, axis=1, keepdims=True)
    sims = torch.from_numpy(ni) @ torch.from_numpy(nt).T  # same float32 matmul as the chunks
    reference = official_itm_eval(sims.numpy(), sims.numpy().T, img2txt, txt2img)
    for key in reference:
        assert ours[key] == pytest.approx(reference[key], abs=1e-9), key
    assert 0 < ours["r_mean"] < 100


def test_tie_rule_orders_equal_scores_by_index() -> None:
    # All scores equal: under the tie rule each query ranks candidates by index, so only the queries whose
    # gold is candidate 0 (or within the first k) are hits; a constant model cannot score 100.
    text_to_image = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    out = retrieval_metrics_from_scores(np.zeros((12, 12), dtype=np.float32), text_to_image, ks=(1, 5, 10))
    assert out["img_r1"] == pytest.approx(100 / 12)
    assert out["img_r5"] == pytest.approx(500 / 12)
    assert out["txt_r10"] == pytest.approx(1000 / 12)


def test_exact_topk_breaks_ties_by_index_and_running_merge_matches_full_sort() -> None:
    rng = np.random.default_rng(3)
    # Few distinct values: many ties, also across chunk boundaries.
    scores = torch.from_numpy(rng.integers(0, 4, size=(23, 31)).astype(np.float32))
    _values, indices = exact_row_topk(scores, 7)
    order = np.argsort(-scores.numpy(), axis=1, kind="stable")[:, :7]
    assert np.array_equal(indices.numpy(), order)
    for chunk_rows in (1, 3, 8, 23):
        i2t, t2i = topk_both_ways(matrix_chunks(scores, chunk_rows), 23, 31, 7, 9, torch.device("cpu"))
        assert np.array_equal(i2t.indices.numpy(), order)
        expected = np.argsort(-scores.numpy().T, axis=1, kind="stable")[:, :9]
        assert np.array_equal(t2i.indices.numpy(), expected), chunk_rows


def test_increasing_scores_take_the_dense_merge_path() -> None:
    scores = torch.arange(40 * 6, dtype=torch.float32).reshape(40, 6)  # every later row beats the earlier
    _, t2i = topk_both_ways(matrix_chunks(scores, 4), 40, 6, 3, 5, torch.device("cpu"))
    assert t2i.indices[:, 0].tolist() == [39] * 6
    assert t2i.indices[0].tolist() == [39, 38, 37, 36, 35]


def test_one_direction_when_images_lack_gold() -> None:
    # A gallery with distractor images: only images with a gold text are image queries.
    scores = np.eye(5, 3, dtype=np.float32)  # images 3 and 4 have no gold text
    out = retrieval_metrics_from_scores(scores, [0, 1, 2], ks=(1,))
    assert out["img_r1"] == 100.0
    assert out["txt_r1"] == 100.0  # 3 of 3 image queries, not 3 of 5


@pytest.mark.parametrize("seed", range(4))
def test_roc_auc_equals_scikit_learn(seed: int) -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=501)
    scores = np.round(rng.random(501) + 0.3 * labels, 1)  # rounded: many ties
    assert abs(roc_auc(labels, scores) - sklearn_metrics.roc_auc_score(labels, scores)) < 1e-12
    out = matching_metrics(labels, scores)
    assert out["accuracy"] == pytest.approx(100 * np.mean((scores >= 0.5) == labels))


def test_roc_auc_rejects_single_class_and_nan() -> None:
    with pytest.raises(ValueError, match="both positive and negative"):
        roc_auc(np.ones(4), np.arange(4.0))
    with pytest.raises(ValueError, match="NaN"):
        roc_auc(np.array([0, 1]), np.array([0.1, np.nan]))


def _stable_rule_reference(scores: np.ndarray, text_to_image: np.ndarray, ks=(1, 5, 10)) -> dict:
    """Ranks by a stable descending sort (the documented tie rule), query by query."""
    out = {}
    for prefix, matrix, gold_of in (
        ("txt", scores, lambda q: np.flatnonzero(text_to_image == q)),
        ("img", scores.T, lambda q: [text_to_image[q]]),
    ):
        listed = []
        for q, row in enumerate(matrix):
            order = np.argsort(-row, kind="stable")
            listed.append(min(int(np.flatnonzero(order == g)[0]) for g in gold_of(q)))
        ranks = np.array(listed)
        for k in ks:
            out[f"{prefix}_r{k}"] = 100.0 * float(np.mean(ranks < k))
    return out


@pytest.mark.parametrize("seed", range(3))
def test_score_matrix_with_many_ties_follows_the_tie_rule(seed: int) -> None:
    rng = np.random.default_rng(seed)
    text_to_image, _, _ = _random_task(rng, 30, 3)
    scores = rng.integers(0, 5, size=(30, 90)).astype(np.float32)
    ours = retrieval_metrics_from_scores(scores, text_to_image)
    for key, value in _stable_rule_reference(scores, text_to_image).items():
        assert ours[key] == pytest.approx(value), key
    # The embedding path (running top-k) agrees on the same tied scores.
    from zero_bench.metrics.retrieval import gold_pairs, metrics_from_topk

    i2t, t2i = topk_both_ways(matrix_chunks(torch.from_numpy(scores), 7), 30, 90, 10, 10, torch.device("cpu"))
    via_topk = metrics_from_topk(i2t, t2i, gold_pairs(text_to_image), 30, 90)
    assert via_topk == pytest.approx(ours)


@pytest.mark.parametrize("gemm, row_groups", [("numpy", False), ("torch", False), ("numpy", True)])
def test_cpu_tiled_topk_equals_stable_sort_with_exact_ties(
    gemm: str, row_groups: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zero_bench.metrics import kernels
    from zero_bench.metrics.retrieval import TILE_COLS, TILE_ROWS, retrieval_topk

    monkeypatch.setenv("ZERO_BENCH_CPU_GEMM", gemm)  # both GEMMs, each in the threaded tile pipeline
    if row_groups:  # rows in groups of one band each (as on many cores), merged group by group
        monkeypatch.setattr(kernels, "ROW_GROUP_BYTES", 1)

    rng = np.random.default_rng(11)
    # Small integers: every dot product is exact, and there are many ties, also across tile borders (both ways).
    n_images = TILE_ROWS + 300
    images = torch.from_numpy(rng.integers(0, 3, size=(n_images, 4)).astype(np.float32))
    texts = torch.from_numpy(rng.integers(0, 3, size=(TILE_COLS + 300, 4)).astype(np.float32))
    i2t, t2i = retrieval_topk(images, texts, 10, normalize=False)
    full = (images.double() @ texts.double().T).numpy()
    assert np.array_equal(i2t.indices.numpy(), np.argsort(-full, axis=1, kind="stable")[:, :10])
    assert np.array_equal(t2i.indices.numpy(), np.argsort(-full.T, axis=1, kind="stable")[:, :10])
    # The torch path (used on GPUs) gives the same lists.
    chunks = ((s, torch.from_numpy(full[s : s + 37]).float()) for s in range(0, n_images, 37))
    i2t_t, t2i_t = topk_both_ways(chunks, n_images, texts.shape[0], 10, 10, torch.device("cpu"))
    assert torch.equal(i2t_t.indices, i2t.indices) and torch.equal(t2i_t.indices, t2i.indices)


def test_the_tile_threads_run_torch_on_one_thread_and_leave_the_callers_threads() -> None:
    """The threads that compute the tiles run torch on one thread each (a live thread with an OpenMP team of its own
    slowed later torch work on the main thread 2x), and the caller's thread count is what it was."""
    from zero_bench.metrics import kernels
    from zero_bench.metrics.retrieval import TILE_COLS, retrieval_topk

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        rng = np.random.default_rng(3)
        images = torch.from_numpy(rng.standard_normal((300, 8), dtype=np.float32))
        texts = torch.from_numpy(rng.standard_normal((TILE_COLS + 50, 8), dtype=np.float32))
        retrieval_topk(images, texts, 5)
        pool = kernels._pool()
        counts = [pool.submit(torch.get_num_threads) for _ in range(4 * kernels.n_threads())]
        assert {c.result() for c in counts} == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_non_finite_embeddings_are_rejected() -> None:
    with pytest.raises(ValueError, match="NaN"):
        retrieval_metrics(torch.tensor([[float("nan"), 1.0]]), torch.ones(2, 2), [0, 0])


def test_gemm_choice_is_timed_once_and_can_be_fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    from zero_bench.metrics import gemm

    monkeypatch.delenv("ZERO_BENCH_CPU_GEMM", raising=False)
    monkeypatch.setattr(gemm, "_chosen", {})
    name = gemm.fastest_gemm_name(24)
    assert name in gemm.GEMMS and gemm._chosen == {24: name}
    assert gemm.cpu_gemm(gemm.MIN_TIMED_SCORES, 24) is gemm.GEMMS[name]
    monkeypatch.setenv("ZERO_BENCH_CPU_GEMM", "blas")
    with pytest.raises(ValueError, match="ZERO_BENCH_CPU_GEMM='blas'"):
        gemm.cpu_gemm(10, 24)
    # The two GEMMs compute the same product (up to rounding).
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((7, 24), dtype=np.float32), rng.standard_normal((9, 24), dtype=np.float32)
    outs = [np.empty((7, 9), np.float32) for _ in gemm.GEMMS]
    for out, fn in zip(outs, gemm.GEMMS.values(), strict=True):
        fn(a, b, out)
        np.testing.assert_allclose(out, a @ b.T, rtol=1e-5, atol=1e-5)
