"""Learning: a tiny R2D2 pre-trained on zero-toy for a fixed small budget retrieves toy-ICR far above chance."""

from __future__ import annotations

import pytest

from zero_bench_r2d2.training.objectives import ObjectiveConfig
from zero_bench_r2d2.training.quickstart import chance_metrics
from zero_bench_r2d2.training.recipes import plugin_for, pretrain


@pytest.mark.slow
def test_tiny_r2d2_learns_toy_icr_far_above_chance(tmp_path):
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_corpus_dir, toy_task_dir
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task

    sizes = ToySizes(
        corpus=4000, itr_train=8, itr_val=200, itm_train=8, itm_val=8, flickr_train=2, flickr_val=2, flickr_test=2
    )
    generate_zero_toy(root=tmp_path, seed=0, sizes=sizes)
    # GCPR only (the cheapest objective; the others are exercised by the quickstart and the ablation benchmark)
    objective = ObjectiveConfig(fgr_weight=0, mlm_weight=0, tgd_alpha=0, fgd_weight=0, queue_size=0)
    summary = pretrain(
        config="r2d2-tiny",
        corpus=toy_corpus_dir(tmp_path),
        output_dir=tmp_path / "run",
        objective=objective,
        dropout=0.0,
        train={
            "max_steps": 400,
            "batch_size": 32,
            "lr": 7e-4,
            "warmup_steps": 20,
            "show_progress": False,
            "device": "cpu",
            "log_every": 50,
        },
    )
    losses = [r["gcpr"] for r in summary["history"]]
    assert losses[-1] < losses[0] - 0.3
    spec = get_task("icr")
    result = evaluate(
        plugin_for(summary["trainer"].model),
        spec,
        "val",
        data_dir=toy_task_dir(tmp_path),
        top_k=0,
        use_cache=False,
        device="cpu",
    )
    chance = chance_metrics(load_split(spec, toy_task_dir(tmp_path), "val"))["r_mean"]
    assert 2.0 < chance < 3.0
    assert result.metrics["r_mean"] > 4 * chance, (result.metrics, chance)


def test_chance_level_matches_a_random_model():
    import numpy as np

    from zero_bench.formats.canonical import RetrievalData

    # 4 images with 2 captions each: P(hit@1) image->text = 2/8, text->image = 1/4
    gold = np.array([[t, t // 2] for t in range(8)])
    data = RetrievalData(
        task="x",
        split="val",
        annotation_sha256="0" * 64,
        images=[None] * 4,
        image_ids=np.arange(4),
        texts=[""] * 8,
        text_ids=np.arange(8),
        gold=gold,
    )
    chance = chance_metrics(data)
    assert chance["txt_r1"] == pytest.approx(25.0) and chance["img_r1"] == pytest.approx(25.0)
    assert chance["txt_r5"] == pytest.approx(100 * (1 - (6 * 5 * 4 * 3 * 2) / (8 * 7 * 6 * 5 * 4)))
    assert chance["img_r5"] == pytest.approx(100.0)
    assert chance["txt_r10"] == 100.0
