"""Resume: stopping after step N and resuming gives the same losses as an uninterrupted run; checkpoints load
back with create_r2d2; the corpus loader continues an epoch exactly, with several workers too."""

from __future__ import annotations

import json

import pytest
import torch

from zero_bench_r2d2.training.data import CorpusLoader, TextImageTransform
from zero_bench_r2d2.training.objectives import ObjectiveConfig
from zero_bench_r2d2.training.recipes import pretrain

TRAIN = {
    "max_steps": 6,
    "batch_size": 8,
    "lr": 1e-3,
    "warmup_steps": 2,
    "show_progress": False,
    "num_workers": 2,
    "device": "cpu",
    "seed": 3,
}


def _losses(folder):
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r for r in rows if "loss" in r}


@pytest.mark.slow
def test_interrupted_and_resumed_run_matches_uninterrupted(tmp_path, tiny_corpus):
    objective = ObjectiveConfig(queue_size=16, seed=3)
    pretrain(config="r2d2-tiny", corpus=tiny_corpus, output_dir=tmp_path / "a", train=TRAIN, objective=objective)
    pretrain(
        config="r2d2-tiny",
        corpus=tiny_corpus,
        output_dir=tmp_path / "b",
        train=TRAIN | {"stop_after": 3},
        objective=objective,
    )
    assert max(_losses(tmp_path / "b")) == 3 and not (tmp_path / "b" / "model.safetensors").exists()
    pretrain(
        config="r2d2-tiny",
        corpus=tiny_corpus,
        output_dir=tmp_path / "b",
        train=TRAIN,
        objective=objective,
        resume=tmp_path / "b",
    )
    a, b = _losses(tmp_path / "a"), _losses(tmp_path / "b")
    assert sorted(a) == sorted(b) == [1, 2, 3, 4, 5, 6]
    for step in range(1, 7):
        for key in ("loss", "gcpr", "fgr", "mlm", "fgd"):
            assert a[step][key] == pytest.approx(b[step][key], rel=1e-5, abs=1e-6), (step, key)
    assert a[4]["loss"] != a[3]["loss"]
    # the exported weights are identical and load back into the plugin with the official key names
    from zero_bench_r2d2.plugin import create_r2d2

    pa = create_r2d2(checkpoint=str(tmp_path / "a" / "model.safetensors"), config="r2d2-tiny")
    pb = create_r2d2(checkpoint=str(tmp_path / "b" / "checkpoint-last.pt"), config="r2d2-tiny")
    assert pa.load_report.ok and pb.load_report.ok
    for (ka, va), (kb, vb) in zip(pa.model.state_dict().items(), pb.model.state_dict().items(), strict=False):
        assert ka == kb and torch.allclose(va, vb, atol=1e-6), ka
    state = torch.load(tmp_path / "b" / "checkpoint-last.pt", weights_only=True)
    assert {"optimizer", "scheduler", "scaler", "rng", "position", "training_modules"} <= set(state)
    assert any(k.startswith("teacher.") for k in state["training_modules"]) and any(
        k.startswith("mlm_head.") for k in state["training_modules"]
    )
    assert state["position"]["step"] == 6


def _index(sample):
    return {"index": int(sample["index"])}


@pytest.mark.parametrize("workers", [0, 2])
def test_corpus_loader_continues_an_epoch_exactly(tiny_corpus, workers):
    def order(skip):
        loader = CorpusLoader(tiny_corpus, TextImageTransform(32), batch_size=4, num_workers=workers, seed=7)
        loader.dataset.transform = _index
        return [b["index"].tolist() for b in loader.epoch(1, skip)], loader.batches_per_epoch()

    full, n = order(0)
    assert len(full) == n and len({i for b in full for i in b}) == 4 * n
    for skip in (1, 3, n - 1):
        assert order(skip)[0] == full[skip:]
