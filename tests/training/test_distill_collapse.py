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


def test_contrast_bank_sources():
    import torch

    from zero_bench_r2d2.training.distill import contrast_bank

    s = (torch.full((2, 3), 1.0), torch.full((2, 3), 2.0))
    t = (torch.full((2, 3), 3.0), torch.full((2, 3), 4.0))
    ids = torch.tensor([0, 1])
    queued = (torch.full((4, 3), 5.0), torch.full((4, 3), 6.0), torch.tensor([7, 8, 9, 10]))
    mixed = contrast_bank("mixed", s, t, ids, queued)
    assert mixed.image[:2].eq(1).all() and mixed.image[2:].eq(5).all()  # student batch + teacher queue
    for kind in ("split", "teacher"):
        bank = contrast_bank(kind, s, t, ids, queued)
        assert bank.image[:2].eq(3).all() and bank.text[2:].eq(6).all()  # every candidate from the teacher
        assert bank.image_ids.tolist() == [0, 1, 7, 8, 9, 10]
    student = contrast_bank("student", s, t, ids, queued)
    assert student.image.shape[0] == 2 and student.image.eq(1).all()  # the queue is not used
    assert mixed.t_image.shape[0] == 6 and student.t_image.shape[0] == 2


def test_tgd_weight_ramps_up_linearly():
    from zero_bench_r2d2.training.objectives import RetrievalObjective
    from zero_bench_r2d2.training.recipes import build_model

    obj = RetrievalObjective(
        build_model("r2d2-tiny"),
        ObjectiveConfig(fgr_weight=0, mlm_weight=0, fgd_weight=0, queue_size=8, tgd_alpha=0.4, tgd_rampup_steps=10),
    )
    assert obj.tgd_weight(0) == pytest.approx(0.04)
    assert obj.tgd_weight(4) == pytest.approx(0.2)
    assert obj.tgd_weight(9) == obj.tgd_weight(500) == pytest.approx(0.4)
    obj.config.tgd_rampup_steps = 0
    assert obj.tgd_weight(0) == pytest.approx(0.4)


def test_unknown_contrast_bank_is_refused():
    from zero_bench.errors import ZeroBenchError

    with pytest.raises(ZeroBenchError, match="contrast_bank must be one of"):
        ObjectiveConfig(contrast_bank="queue")
