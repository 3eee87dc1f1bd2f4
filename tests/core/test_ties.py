"""Tie rules: ``tie_rule="official"`` equals R2D2's official ``itm_eval`` (restated here), and the tie range
brackets every order of ties."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from zero_bench.errors import ZeroBenchError
from zero_bench.metrics import retrieval_metrics, retrieval_metrics_from_scores
from zero_bench.metrics.retrieval import retrieval_metrics_with_ties, retrieval_ranks_from_scores
from zero_bench.metrics.ties import metrics_and_tie_range


def official_itm_eval(scores_i2t: np.ndarray, scores_t2i: np.ndarray, img2txt: dict, txt2img: dict) -> dict:
    """R2D2's ``itm_eval``: per query ``np.argsort(score)[::-1]`` (numpy's default sort, reversed), then the
    position of the best gold (image queries: the first of any gold text; text queries: their image)."""
    ranks = np.zeros(scores_i2t.shape[0])
    for index, score in enumerate(scores_i2t):
        inds = np.argsort(score)[::-1]
        rank = 1e20
        for i in img2txt[index]:
            tmp = np.where(inds == i)[0][0]
            if tmp < rank:
                rank = tmp
        ranks[index] = rank
    tr1, tr5, tr10 = (100.0 * len(np.where(ranks < k)[0]) / len(ranks) for k in (1, 5, 10))
    ranks = np.zeros(scores_t2i.shape[0])
    for index, score in enumerate(scores_t2i):
        inds = np.argsort(score)[::-1]
        ranks[index] = np.where(inds == txt2img[index])[0][0]
    ir1, ir5, ir10 = (100.0 * len(np.where(ranks < k)[0]) / len(ranks) for k in (1, 5, 10))
    tr_mean, ir_mean = (tr1 + tr5 + tr10) / 3, (ir1 + ir5 + ir10) / 3
    return {
        "txt_r1": tr1,
        "txt_r5": tr5,
        "txt_r10": tr10,
        "txt_r_mean": tr_mean,
        "img_r1": ir1,
        "img_r5": ir5,
        "img_r10": ir10,
        "img_r_mean": ir_mean,
        "r_mean": (tr_mean + ir_mean) / 2,
    }


def _official_inputs(text_to_image: np.ndarray, n_images: int) -> tuple[dict, dict]:
    img2txt = {i: list(np.flatnonzero(text_to_image == i)) for i in range(n_images)}
    return img2txt, dict(enumerate(text_to_image.tolist()))


def _extreme_order_metrics(scores: np.ndarray, text_to_image: np.ndarray, gold_first: bool) -> dict:
    """Brute force: every query's candidates sorted by score, ties broken for (or against) its gold."""
    ranks = {}
    for prefix, matrix in (("txt", scores), ("img", scores.T)):
        out = []
        for q, row in enumerate(matrix):
            gold = (text_to_image == q) if prefix == "txt" else (np.arange(row.size) == text_to_image[q])
            order = np.lexsort((gold if not gold_first else ~gold, -row))
            out.append(int(np.flatnonzero(gold[order])[0]))
        ranks[prefix] = np.array(out)
    metrics: dict[str, float] = {}
    for prefix, rank in ranks.items():
        values = [100.0 * float(np.mean(rank < k)) for k in (1, 5, 10)]
        metrics.update({f"{prefix}_r{k}": v for k, v in zip((1, 5, 10), values, strict=True)})
        metrics[f"{prefix}_r_mean"] = sum(values) / 3
    metrics["r_mean"] = (metrics["txt_r_mean"] + metrics["img_r_mean"]) / 2
    return metrics


def _assert_equal(ours: dict, reference: dict) -> None:
    assert ours.keys() == reference.keys()
    for key, value in reference.items():
        assert ours[key] == pytest.approx(value, abs=1e-9), key


def _embedding_of(text: str, dim: int) -> np.ndarray:
    """A text encoder stand-in: the same string always gets the same vector, as with any real encoder."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


@pytest.fixture(scope="module")
def toy_iqr_val(tmp_path_factory: pytest.TempPathFactory):
    from zero_bench.data.toy import generate_zero_toy, toy_task_dir
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task

    root: Path = tmp_path_factory.mktemp("toy")
    generate_zero_toy(
        root, corpus=False, itr_train=1, itm_train=2, itm_val=2, flickr_train=1, flickr_val=1, flickr_test=1
    )
    return load_split(get_task("iqr"), toy_task_dir(root), "val")


@pytest.mark.slow
def test_official_rule_equals_itm_eval_on_toy_iqr_val(toy_iqr_val) -> None:
    data = toy_iqr_val
    assert np.array_equal(np.sort(data.gold[:, 0]), np.arange(data.num_texts))  # one gold image per query
    text_to_image = data.gold[np.argsort(data.gold[:, 0]), 1]
    _, counts = np.unique(np.asarray(data.texts), return_counts=True)
    assert counts[counts > 1].sum() > 100  # IQR's short queries repeat (171 of 500 here): ties are structural
    rng = np.random.default_rng(0)
    texts = np.stack([_embedding_of(t, 32) for t in data.texts])
    # Each image near its gold query's embedding: a near-oracle, where ties decide many top-1 places.
    images = np.zeros((data.num_images, 32), dtype=np.float32)
    images[text_to_image] = texts
    images += np.asarray(rng.normal(scale=0.3, size=images.shape), dtype=np.float32)
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    scores = (torch.from_numpy(images) @ torch.from_numpy(texts).T).numpy()
    img2txt, txt2img = _official_inputs(text_to_image, data.num_images)
    official = official_itm_eval(scores, scores.T, img2txt, txt2img)

    _assert_equal(retrieval_metrics_from_scores(scores, text_to_image, tie_rule="official"), official)
    _assert_equal(retrieval_metrics(images, texts, text_to_image, normalize=False, tie_rule="official"), official)
    index = retrieval_metrics_from_scores(scores, text_to_image)
    assert index != official  # the two rules differ here, so the test above says something

    low, high = (_extreme_order_metrics(scores, text_to_image, first) for first in (False, True))
    for expected, (metrics, tie_range) in (
        (index, metrics_and_tie_range(retrieval_ranks_from_scores(scores, text_to_image), (1, 5, 10))),
        (official, retrieval_metrics_with_ties(images, texts, text_to_image, normalize=False, tie_rule="official")),
    ):
        _assert_equal(metrics, expected)
        for key, (lowest, highest) in tie_range.items():
            assert lowest == pytest.approx(low[key]) and highest == pytest.approx(high[key]), key
            assert lowest <= min(index[key], official[key]) and max(index[key], official[key]) <= highest, key
    assert any(lowest < highest for lowest, highest in tie_range.values())


@pytest.mark.parametrize("seed", range(3))
def test_official_rule_on_many_ties(seed: int) -> None:
    # Few distinct values in rows longer than numpy's small-array sort, both ways, with several gold texts per
    # image: every path through the official order is exercised.
    rng = np.random.default_rng(seed)
    text_to_image = rng.permutation(np.repeat(np.arange(40), 3))
    scores = rng.integers(0, 6, size=(40, 120)).astype(np.float32)
    img2txt, txt2img = _official_inputs(text_to_image, 40)
    official = official_itm_eval(scores, scores.T, img2txt, txt2img)
    _assert_equal(retrieval_metrics_from_scores(scores, text_to_image, tie_rule="official"), official)
    metrics, tie_range = metrics_and_tie_range(retrieval_ranks_from_scores(scores, text_to_image), (1, 5, 10))
    low, high = (_extreme_order_metrics(scores, text_to_image, first) for first in (False, True))
    for key, (lowest, highest) in tie_range.items():
        assert (lowest, highest) == pytest.approx((low[key], high[key])), key
        assert lowest <= metrics[key] <= highest and lowest <= official[key] <= highest, key


def test_duplicate_embeddings_follow_the_official_order() -> None:
    # Duplicated texts and images: every tie is structural, as with repeated query strings.
    rng = np.random.default_rng(7)
    base_texts = rng.normal(size=(20, 8)).astype(np.float32)
    texts = base_texts[rng.integers(0, 20, size=90)]
    text_to_image = np.arange(90) % 30
    images = texts[np.array([np.flatnonzero(text_to_image == i)[0] for i in range(30)])]
    images = images + np.asarray(rng.normal(scale=0.5, size=images.shape), dtype=np.float32)
    images[5] = images[4]  # a duplicated image: ties for the text queries too
    scores = (torch.from_numpy(images) @ torch.from_numpy(texts).T).numpy()
    official = official_itm_eval(scores, scores.T, *_official_inputs(text_to_image, 30))
    ours = retrieval_metrics(images, texts, text_to_image, normalize=False, tie_rule="official")
    _assert_equal(ours, official)
    _assert_equal(retrieval_metrics_from_scores(scores, text_to_image, tie_rule="official"), official)


def test_unknown_tie_rule_is_rejected() -> None:
    with pytest.raises(ZeroBenchError, match="unknown tie rule 'random'"):
        retrieval_metrics_from_scores(np.eye(3, dtype=np.float32), [0, 1, 2], tie_rule="random")  # type: ignore[arg-type]


def _colour_scores(model, data) -> np.ndarray:
    """The cosine matrix of the test model's own embeddings, as the evaluator computes it."""
    with torch.no_grad():
        img = model.encode_images(torch.stack([model.preprocess_image(i.open()) for i in data.images])).embeddings
        txt = model.encode_texts(data.texts).embeddings
    norm = torch.nn.functional.normalize
    return (norm(img, dim=-1) @ norm(txt, dim=-1).T).numpy()


@pytest.mark.parametrize("cross", [False, True])
def test_evaluate_tie_rule_and_tie_range(tmp_path: Path, cross: bool) -> None:
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.formats import RetrievalData, load_split
    from zero_bench.predictions import score_predictions
    from zero_bench.results import Result
    from zero_bench.taskspec import get_task
    from zero_bench.testing import ColourModel, make_itr_folder

    # 24 images in 12 colours, texts named by colour: the test model gives same-colour texts one embedding.
    make_itr_folder(tmp_path / "data", n_images=24, per_image=2)
    data = load_split(get_task("icr"), tmp_path / "data")
    assert isinstance(data, RetrievalData)
    runs = {
        rule: evaluate(
            ColourModel(cross=cross, noise=0.6),
            "icr",
            data_dir=tmp_path / "data",
            use_cache=False,
            top_k=4 if cross else 0,
            tie_rule=rule,
            predictions=tmp_path / f"{rule}.jsonl",
        )
        for rule in ("index", "official")
    }
    for rule, result in runs.items():
        assert result.tie_rule == rule and result.tie_range.keys() == result.metrics.keys()
        assert score_predictions(get_task("icr"), data, tmp_path / f"{rule}.jsonl") == pytest.approx(result.metrics)
        assert Result.model_validate_json(result.model_dump_json()) == result
    for key, (low, high) in runs["index"].tie_range.items():
        assert runs["official"].tie_range[key] == pytest.approx((low, high)), key
        assert low <= runs["index"].metrics[key] <= high and low <= runs["official"].metrics[key] <= high, key
    assert any(low < high for low, high in runs["index"].tie_range.values())
    if not cross:
        scores = _colour_scores(ColourModel(noise=0.6), data)
        text_to_image = data.gold[np.argsort(data.gold[:, 0]), 1]
        official = official_itm_eval(scores, scores.T, *_official_inputs(text_to_image, data.num_images))
        for key, value in runs["official"].metrics.items():
            assert value == pytest.approx(official[key], abs=1e-9), key


def test_cli_tie_rule_option_and_note() -> None:
    import subprocess
    import sys

    from typer.testing import CliRunner

    from zero_bench.cli.app import app
    from zero_bench.cli.evaluate_cmd import tie_note

    args = ["evaluate", "--model", "r2d2", "--task", "icr", "--tie-rule", "random"]
    out = subprocess.run([sys.executable, "-m", "zero_bench.cli.app", *args], capture_output=True, text=True)
    # Refused before any data is read or model built: one line, exit 2.
    assert out.returncode == 2 and out.stderr.strip().splitlines() == [
        "error: unknown tie rule 'random': expected one of index, official"
    ]
    twice = subprocess.run(
        [sys.executable, "-m", "zero_bench.cli.app", *args[:-1], "index", "--tie-rule", "official"],
        capture_output=True,
        text=True,
    )
    assert twice.returncode == 2 and "--tie-rule was given 2 times" in twice.stderr
    assert "--tie-rule" in CliRunner().invoke(app, ["evaluate", "--help"]).output
    note = tie_note("official", {"txt_r1": (0.4, 1.2), "img_r1": (5.0, 5.0)})
    assert note == "; ties by official; tie-sensitive: txt_r1 0.40-1.20"
