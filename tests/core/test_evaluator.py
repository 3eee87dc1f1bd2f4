"""The evaluator end to end with a real small model on generated folders with real image files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from zero_bench.evaluation.evaluator import evaluate
from zero_bench.formats import load_split
from zero_bench.metrics import retrieval_metrics
from zero_bench.predictions import score_predictions
from zero_bench.results import Result
from zero_bench.taskspec import get_task
from zero_bench.testing import ColourModel, make_cn_clip_folder, make_itm_folder, make_itr_folder


def test_retrieval_dual_encoder_equals_metrics_and_predictions_rescore(tmp_path: Path) -> None:
    make_itr_folder(tmp_path / "data", n_images=12, per_image=3)
    model = ColourModel(cross=False, noise=0.6)
    result = evaluate(model, "icr", data_dir=tmp_path / "data", predictions=tmp_path / "pred.jsonl", use_cache=False)
    assert result.rerank_top_k == 0 and result.setting == "zero-shot"
    assert set(result.metrics) == set(get_task("icr").metrics)
    # Same numbers as the metric function on the model's own embeddings.
    data = load_split(get_task("icr"), tmp_path / "data")
    with torch.no_grad():
        img = model.encode_images(torch.stack([model.preprocess_image(i.open()) for i in data.images])).embeddings
        txt = model.encode_texts(data.texts).embeddings
    direct = retrieval_metrics(img, txt, data.text_to_image())
    for key, value in result.metrics.items():
        assert value == pytest.approx(direct[key], abs=1e-9), key
    # The predictions file re-scores to the same numbers.
    assert score_predictions(get_task("icr"), data, tmp_path / "pred.jsonl") == pytest.approx(result.metrics)
    lines = (tmp_path / "pred.jsonl").read_text().splitlines()
    assert len(lines) == 12 + 36
    records = [json.loads(line) for line in lines]
    assert all(len(r.get("image_ids") or r["text_ids"]) == 10 for r in records)
    Result.model_validate_json(result.model_dump_json())


def test_reranking_scores_each_pair_once_and_improves(tmp_path: Path) -> None:
    make_itr_folder(tmp_path / "data", n_images=12, per_image=2)
    dual = evaluate(ColourModel(cross=False, noise=1.5), "icr", data_dir=tmp_path / "data", use_cache=False)
    model = ColourModel(cross=True, noise=1.5)
    reranked = evaluate(model, "icr", data_dir=tmp_path / "data", top_k=5, use_cache=False)
    assert reranked.rerank_top_k == 5
    pairs = reranked.num_queries["pairs_scored"]
    # Each query direction contributes 5 candidates; shared pairs are scored once.
    assert model.calls["pairs"] == pairs < 12 * 5 + 24 * 5
    assert reranked.metrics["r_mean"] > dual.metrics["r_mean"]
    assert reranked.metrics["txt_r1"] > dual.metrics["txt_r1"] and reranked.metrics["img_r1"] > dual.metrics["img_r1"]
    # top-k 0 means the dual encoder alone, even for a model with a cross encoder.
    zero = evaluate(ColourModel(cross=True, noise=1.5), "icr", data_dir=tmp_path / "data", top_k=0, use_cache=False)
    assert zero.metrics == pytest.approx(dual.metrics) and zero.rerank_top_k == 0


def test_reranking_with_k_below_ten_keeps_official_fill_order(tmp_path: Path) -> None:
    make_itr_folder(tmp_path / "data", n_images=12, per_image=1)
    out = evaluate(
        ColourModel(cross=True, noise=1.5),
        "icr",
        data_dir=tmp_path / "data",
        top_k=2,
        use_cache=False,
        predictions=tmp_path / "p.jsonl",
    )
    data = load_split(get_task("icr"), tmp_path / "data")
    assert score_predictions(get_task("icr"), data, tmp_path / "p.jsonl") == pytest.approx(out.metrics)
    for line in (tmp_path / "p.jsonl").read_text().splitlines():
        record = json.loads(line)
        ranked = record.get("image_ids") or record.get("text_ids")
        rest = ranked[2:]
        assert rest == sorted(rest)  # non-candidates follow in index order (the -100 cells)


def test_matching_with_and_without_cross_encoder(tmp_path: Path) -> None:
    make_itm_folder(tmp_path / "data", n_pairs=24)
    with_cross = evaluate(
        ColourModel(cross=True), "icm", data_dir=tmp_path / "data", use_cache=False, predictions=tmp_path / "m.jsonl"
    )
    assert with_cross.metrics["auc"] == 100.0 and "accuracy" in with_cross.metrics
    data = load_split(get_task("icm"), tmp_path / "data")
    assert score_predictions(get_task("icm"), data, tmp_path / "m.jsonl")["auc"] == 100.0
    cosine = evaluate(ColourModel(cross=False, noise=0.3), "icm", data_dir=tmp_path / "data", use_cache=False)
    assert 50.0 < cosine.metrics["auc"] <= 100.0 and "accuracy" not in cosine.metrics


def test_t2i_only_task_on_a_gallery_with_distractors(tmp_path: Path) -> None:
    folder = make_cn_clip_folder(tmp_path / "MUGE", n_images=6, distractors=4)
    result = evaluate(
        ColourModel(cross=False), "muge", data_dir=folder, predictions=tmp_path / "muge.jsonl", use_cache=False
    )
    assert set(result.metrics) == {"img_r1", "img_r5", "img_r10", "img_r_mean"}
    assert result.metrics["img_r1"] == 100.0
    lines = [json.loads(line) for line in (tmp_path / "muge.jsonl").read_text().splitlines()]
    assert all(set(row) == {"text_id", "image_ids"} for row in lines) and len(lines) == 6
    assert lines[0]["text_id"] == 500 and lines[0]["image_ids"][0] == 1000


def test_embedding_cache_hit_on_second_run_and_no_cache(tmp_path: Path) -> None:
    make_itr_folder(tmp_path / "data", n_images=10, per_image=2)
    first = ColourModel(cross=True, noise=1.0)
    r1 = evaluate(first, "icr", data_dir=tmp_path / "data", batch_size=4)
    assert first.calls["images"] == 10 and first.calls["texts"] == 20
    second = ColourModel(cross=True, noise=1.0)
    r2 = evaluate(second, "icr", data_dir=tmp_path / "data", batch_size=4)
    assert second.calls["images"] == 0 and second.calls["texts"] == 0  # encoders skipped: cache hit
    assert r2.metrics == r1.metrics
    third = ColourModel(cross=True, noise=1.0)
    evaluate(third, "icr", data_dir=tmp_path / "data", batch_size=4, use_cache=False)
    assert third.calls["images"] == 10
    # A model without a checkpoint hash cannot be identified: never cached.
    anonymous = ColourModel(cross=True, noise=1.0, checkpoint_sha256=None)
    evaluate(anonymous, "icr", data_dir=tmp_path / "data", batch_size=4)
    evaluate(anonymous, "icr", data_dir=tmp_path / "data", batch_size=4)
    assert anonymous.calls["images"] == 20


def test_resumed_encoding_reuses_finished_chunks(tmp_path: Path) -> None:
    make_itr_folder(tmp_path / "data", n_images=40, per_image=1)

    class Interrupting(ColourModel):
        def encode_images(self, pixels):  # type: ignore[override]
            if self.calls["images"] >= 24:
                raise KeyboardInterrupt
            return super().encode_images(pixels)

    with pytest.raises(KeyboardInterrupt):
        evaluate(Interrupting(), "icr", data_dir=tmp_path / "data", batch_size=1)  # chunks of 16 images
    resumed = ColourModel()
    evaluate(resumed, "icr", data_dir=tmp_path / "data", batch_size=1)
    assert resumed.calls["images"] == 40 - 16


def test_bad_options(tmp_path: Path) -> None:
    from zero_bench.errors import ZeroBenchError

    make_itr_folder(tmp_path / "data", n_images=3, per_image=1)
    with pytest.raises(ZeroBenchError, match="precision"):
        evaluate(ColourModel(), "icr", data_dir=tmp_path / "data", precision="fp8")
    with pytest.raises(ZeroBenchError, match="top-k"):
        evaluate(ColourModel(), "icr", data_dir=tmp_path / "data", top_k=-1)


def test_bf16_autocast_runs_on_cpu(tmp_path: Path) -> None:
    make_itr_folder(tmp_path / "data", n_images=6, per_image=1)
    out = evaluate(ColourModel(cross=True), "icr", data_dir=tmp_path / "data", precision="bf16", use_cache=False)
    assert out.run.precision == "bf16" and np.isfinite(list(out.metrics.values())).all()
