"""R2D2 through the uniform evaluator: CLI end to end, equality with the official per-query re-ranking, torchrun,
matching AUC, the dual encoder alone and bf16 on CPU.  A tiny random checkpoint in the official .pt format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from zero_bench.evaluation.evaluator import evaluate
from zero_bench.fileio import sha256_file
from zero_bench.results import Result
from zero_bench.taskspec import get_task
from zero_bench.testing import (
    make_itm_folder,
    make_itr_folder,
    official_cross_scores,
    official_rankings,
    official_recalls,
    one_torch_thread,
    read_itr,
)
from zero_bench_r2d2.testing import encode_all, save_random_checkpoint

REPO = Path(__file__).resolve().parents[2]
N_IMAGES, PER_IMAGE = 12, 2


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("r2d2eval")
    checkpoint = save_random_checkpoint(root / "tiny.pt")
    make_itr_folder(root / "data", n_images=N_IMAGES, per_image=PER_IMAGE)
    return {"root": root, "checkpoint": checkpoint, "data": root / "data"}


@pytest.fixture(scope="module")
def plugin(setup: dict):
    from zero_bench_r2d2.plugin import create_r2d2

    return create_r2d2(checkpoint=str(setup["checkpoint"]), config="r2d2-tiny")


def _run(args: list[str], timeout: int = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "zero_bench.cli.app", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def encoded(setup: dict, plugin) -> dict:
    """The split read and encoded directly (module methods), for the official computations."""
    images, texts, img2txt = read_itr(
        setup["data"] / "ICR" / "val" / "long_itr_val.json", setup["data"] / "IQR_IQM_ICR_ICM_images"
    )
    image_tokens, text_tokens, text_mask, sim = encode_all(plugin, images, texts)
    txt2img = {t: i for i, ts in img2txt.items() for t in ts}
    return {"states": (image_tokens, text_tokens, text_mask), "sim": sim, "img2txt": img2txt, "txt2img": txt2img}


def _official(plugin, encoded: dict, top_k: int):
    i2t, t2i, pairs = official_cross_scores(plugin.model, encoded["sim"], *encoded["states"], top_k)
    rank_i2t, rank_t2i = official_rankings(i2t, t2i)
    recalls = official_recalls(rank_i2t, rank_t2i, encoded["img2txt"], encoded["txt2img"])
    return rank_i2t, rank_t2i, recalls, pairs, (i2t, t2i)


def _predictions(path: Path) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    i2t, t2i = {}, {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if "image_id" in record:
            i2t[record["image_id"]] = record["text_ids"]
        else:
            t2i[record["text_id"]] = record["image_ids"]
    return i2t, t2i


def test_cli_evaluate_icr_and_rescore(setup: dict) -> None:
    out, pred = setup["root"] / "cli.json", setup["root"] / "cli.jsonl"
    _run(
        [
            "evaluate",
            "--model",
            "r2d2",
            "--task",
            "icr",
            "--model-config",
            "r2d2-tiny",
            "--checkpoint",
            str(setup["checkpoint"]),
            "--data-dir",
            str(setup["data"]),
            "--top-k",
            "4",
            "--device",
            "cpu",
            "--no-cache",
            "--predictions",
            str(pred),
            "-o",
            str(out),
        ]
    )
    result = Result.model_validate_json(out.read_text())
    assert result.task.name == "icr" and result.task.split == "val"
    assert list(result.metrics) == get_task("icr").metrics
    assert result.rerank_top_k == 4
    assert result.model.checkpoint_sha256 == sha256_file(setup["checkpoint"])
    assert result.model.checkpoint == str(setup["checkpoint"])
    assert (
        result.num_queries["image_queries"] == N_IMAGES and result.num_queries["text_queries"] == N_IMAGES * PER_IMAGE
    )
    # 12 image queries and 24 text queries with 4 candidates each; pairs shared by both directions count once.
    assert 0 < result.num_queries["pairs_scored"] < 4 * (N_IMAGES + N_IMAGES * PER_IMAGE)
    assert result.predictions_sha256 == sha256_file(pred)
    scored = _run(["score", "--task", "icr", "--data-dir", str(setup["data"]), "--predictions", str(pred), "--json"])
    assert json.loads(scored.stdout) == pytest.approx(result.metrics, abs=1e-9)
    setup["cli_result"], setup["cli_pred"] = result, pred


@pytest.mark.parametrize("top_k", [4, 10])
def test_equals_official_per_query_reranking(setup: dict, plugin, encoded: dict, top_k: int) -> None:
    pred = setup["root"] / f"ours-{top_k}.jsonl"
    ours = evaluate(
        plugin,
        "icr",
        data_dir=setup["data"],
        top_k=top_k,
        batch_size=5,
        pair_batch_size=7,
        use_cache=False,
        predictions=pred,
        device="cpu",
    )
    rank_i2t, rank_t2i, recalls, official_pairs, (i2t, t2i) = _official(plugin, encoded, top_k)
    # No near-ties among the re-ranked candidates, so the comparison below is not down to float noise.
    for matrix in (i2t, t2i):
        for row in matrix:
            cand = np.sort(row[row > -100])
            assert np.diff(cand).min() > 1e-5
    assert ours.metrics == pytest.approx(recalls, abs=1e-9)
    assert ours.num_queries["pairs_scored"] < official_pairs == top_k * (N_IMAGES + N_IMAGES * PER_IMAGE)
    pred_i2t, pred_t2i = _predictions(pred)
    assert pred_i2t == {i: rank_i2t[i, :10].tolist() for i in range(N_IMAGES)}
    assert pred_t2i == {t: rank_t2i[t, :10].tolist() for t in range(N_IMAGES * PER_IMAGE)}
    # Re-ranking changed the order of both directions (else this test could not tell re-ranking from none).
    dual_i2t, dual_t2i = official_rankings(encoded["sim"].numpy(), encoded["sim"].t().numpy())
    assert (dual_i2t[:, :top_k] != rank_i2t[:, :top_k]).any() and (dual_t2i[:, :top_k] != rank_t2i[:, :top_k]).any()
    if top_k == 4 and "cli_result" in setup:  # the CLI run of the first test is the same computation
        assert setup["cli_result"].metrics == pytest.approx(ours.metrics, abs=1e-9)
        assert _predictions(setup["cli_pred"]) == (pred_i2t, pred_t2i)


def test_top_k_zero_is_the_dual_encoder_and_bf16_runs_on_cpu(setup: dict, plugin, encoded: dict) -> None:
    dual = evaluate(plugin, "icr", data_dir=setup["data"], top_k=0, use_cache=False, device="cpu")
    assert dual.rerank_top_k == 0 and "pairs_scored" not in dual.num_queries
    sim = encoded["sim"]
    rank_i2t, rank_t2i = official_rankings(sim.numpy(), sim.t().numpy())
    expected = official_recalls(rank_i2t, rank_t2i, encoded["img2txt"], encoded["txt2img"])
    assert dual.metrics == pytest.approx(expected, abs=1e-9)
    bf16 = evaluate(plugin, "icr", data_dir=setup["data"], top_k=4, use_cache=False, device="cpu", precision="bf16")
    assert bf16.run.precision == "bf16" and bf16.rerank_top_k == 4
    assert all(np.isfinite(v) and 0 <= v <= 100 for v in bf16.metrics.values())


def test_matching_auc_equals_sklearn_on_direct_scores(setup: dict, plugin, tmp_path: Path) -> None:
    from PIL import Image
    from sklearn.metrics import roc_auc_score

    make_itm_folder(tmp_path / "data", n_pairs=30)
    result = evaluate(plugin, "icm", data_dir=tmp_path / "data", use_cache=False, device="cpu", pair_batch_size=8)
    assert result.rerank_top_k == 0 and set(result.metrics) == {"auc", "accuracy"}
    records = [
        json.loads(line) for line in (tmp_path / "data" / "ICM" / "val" / "long_itm_val.json").read_text().splitlines()
    ]
    model = plugin.model
    with torch.no_grad():
        pixels = torch.stack(
            [
                plugin.preprocess_image(
                    Image.open(tmp_path / "data" / "IQR_IQM_ICR_ICM_images" / r["image_path"]).convert("RGB")
                )
                for r in records
            ]
        )
        tok = plugin.tokenizer([r["text"] for r in records])
        probs = model.itm_probs(
            model.encode_image(pixels),
            model.encode_text(tok["input_ids"], tok["attention_mask"]),
            tok["attention_mask"],
        )
    labels = np.array([r["label"] for r in records])
    expected = 100.0 * roc_auc_score(labels, probs[:, 1].numpy())
    assert 0 < expected < 100  # a random model: the AUC is not trivially 0 or 100
    assert result.metrics["auc"] == pytest.approx(expected, abs=1e-9)


@pytest.mark.slow
def test_torchrun_two_ranks_equal_one_process(setup: dict, plugin) -> None:
    top_k = 4
    single_pred = setup["root"] / "single.jsonl"
    single = evaluate(
        plugin,
        "icr",
        data_dir=setup["data"],
        top_k=top_k,
        batch_size=4,
        pair_batch_size=16,
        use_cache=False,
        predictions=single_pred,
        device="cpu",
    )
    out = setup["root"] / "dist"
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(Path(__file__).with_name("dist_eval_r2d2.py")),
        str(setup["checkpoint"]),
        str(setup["data"]),
        str(out),
        str(top_k),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    dist = json.loads((out / "result.json").read_text())
    assert dist["world"] == 2
    assert dist["metrics"] == pytest.approx(single.metrics, abs=1e-9)
    assert dist["num_queries"] == single.num_queries
    assert (out / "pred.jsonl").read_text() == single_pred.read_text()
    calls = [json.loads((out / f"pairs-{r}.json").read_text()) for r in (0, 1)]
    pairs = [c["pairs"] for c in calls]
    assert sum(pairs) == single.num_queries["pairs_scored"] and min(pairs) > 0  # split, nothing scored twice
    # pairs grouped by image: each batch's images are fewer than its pairs (their keys/values computed once)
    assert sum(c["images"] for c in calls) < sum(pairs)


def test_score_pairs_without_padding_equals_full_length(plugin) -> None:
    """score_pairs cuts each length group's padding; the scores equal the full 64-position computation."""
    gen = torch.Generator().manual_seed(3)
    texts = ["猫" * n for n in (1, 5, 7, 8, 9, 15, 16, 17, 30, 61, 62, 70)]
    pixels = torch.rand(4, 3, 32, 32, generator=gen)
    enc_i, enc_t = plugin.encode_images(pixels), plugin.encode_texts(texts)
    assert sorted(set(enc_t.states["text_mask"].sum(1).tolist())) == [3, 7, 9, 10, 11, 17, 18, 19, 32, 63, 64]
    pi = torch.randint(0, 4, (40,), generator=gen)
    pt = torch.randint(0, len(texts), (40,), generator=gen)
    image_states = {k: v[pi] for k, v in enc_i.states.items()}
    text_states = {k: v[pt] for k, v in enc_t.states.items()}
    with torch.no_grad():
        full = plugin.model.itm_score(
            image_states["image_tokens"], text_states["text_tokens"], text_states["text_mask"]
        )
    before = plugin.pair_batch_size
    try:
        for batch in (3, 256):
            plugin.pair_batch_size = batch
            got = plugin.score_pairs(image_states, text_states)
            assert got.shape == (40,) and got.dtype == torch.float32
            assert torch.allclose(got, full, atol=1e-6, rtol=0)
    finally:
        plugin.pair_batch_size = before


def test_pairs_sharing_an_image_equal_separate_rows(plugin) -> None:
    """score_pairs_by_image (image-only work once per image) equals the full computation on expanded rows."""
    gen = torch.Generator().manual_seed(5)
    texts = ["狗" * n for n in (2, 6, 9, 16, 25, 40, 63)]
    enc_i = plugin.encode_images(torch.rand(3, 3, 32, 32, generator=gen))
    enc_t = plugin.encode_texts(texts)
    pair_image = torch.tensor([0, 0, 0, 1, 2, 2, 1, 0, 2, 1, 1, 0])
    pair_text = torch.randint(0, len(texts), (pair_image.numel(),), generator=gen)
    text_states = {k: v[pair_text] for k, v in enc_t.states.items()}
    expanded = enc_i.states["image_tokens"][pair_image]
    with torch.no_grad():
        full = plugin.model.itm_score(expanded, text_states["text_tokens"], text_states["text_mask"])
    before = plugin.pair_batch_size
    try:
        for batch in (4, 256):
            plugin.pair_batch_size = batch
            shared = plugin.score_pairs_by_image(enc_i.states, text_states, pair_image)
            separate = plugin.score_pairs({"image_tokens": expanded}, text_states)
            assert torch.allclose(shared, full, atol=1e-6, rtol=0)
            assert torch.allclose(separate, full, atol=1e-6, rtol=0)
    finally:
        plugin.pair_batch_size = before
