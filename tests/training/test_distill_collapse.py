"""TgD with a feature queue: the old bank (the student's batch + queued teacher rows under one-hot targets)
collapses every embedding onto one point; the split objective (GCPR over the batch, TgD as its own term over the
teacher's rows) does not.  Same model, data, seed and schedule for both; only ``contrast_bank`` differs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zero_bench_r2d2.training.objectives import ObjectiveConfig
from zero_bench_r2d2.training.recipes import plugin_for, pretrain

STEPS, BATCH, QUEUE = 300, 32, 512


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_corpus_dir

    root = tmp_path_factory.mktemp("collapse-corpus")
    generate_zero_toy(root=root, seed=2, sizes=ToySizes(corpus=2048), tasks=False)
    return toy_corpus_dir(root)


def _captions(n: int) -> list[str]:
    from zero_bench.data.toy import caption, random_scene

    rng = np.random.default_rng(123)
    return [caption(random_scene(rng)) for _ in range(n)]


def _train(corpus, tmp_path, bank: str) -> tuple[float, float]:
    """GCPR + TgD only, fast teacher (momentum 0.9): (last GCPR loss, mean off-diagonal cosine of the student's
    text embeddings of 128 unseen captions)."""
    objective = ObjectiveConfig(
        fgr_weight=0, mlm_weight=0, fgd_weight=0, momentum=0.9, queue_size=QUEUE, contrast_bank=bank
    )
    summary = pretrain(
        config="r2d2-tiny",
        corpus=corpus,
        output_dir=tmp_path / bank,
        objective=objective,
        dropout=0.0,
        train={
            "max_steps": STEPS,
            "batch_size": BATCH,
            "lr": 5e-4,
            "warmup_steps": 20,
            "show_progress": False,
            "device": "cpu",
            "log_every": 10,
        },
    )
    emb = plugin_for(summary["trainer"].model).encode_texts(_captions(128)).embeddings
    cos = emb @ emb.t()
    n = cos.shape[0]
    off_diagonal = float((cos.sum() - cos.diagonal().sum()) / (n * (n - 1)))
    return float(summary["history"][-1]["gcpr"]), off_diagonal


@pytest.mark.slow
def test_mixed_bank_collapses_and_split_objective_does_not(corpus, tmp_path):
    old_loss, old_cos = _train(corpus, tmp_path, "mixed")
    new_loss, new_cos = _train(corpus, tmp_path, "split")
    uniform = math.log(BATCH + QUEUE)  # the loss when every embedding is the same point
    # the old configuration reproduces the collapse: all embeddings (nearly) equal, loss at the uniform solution
    assert old_cos > 0.98, old_cos
    assert old_loss > uniform - 0.5, (old_loss, uniform)
    # the fix: the embeddings stay apart (the scratch model starts near 0.84) and the loss leaves the uniform solution
    assert new_cos < 0.9, new_cos
    assert new_loss < uniform - 1.5, (new_loss, uniform)
