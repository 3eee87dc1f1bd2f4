"""Model selection never returns weights worse on validation than the starting ones: the starting weights (before
any update) are a candidate, a later epoch replaces them only when strictly better, and the record says which.

Core loop on a two-parameter model (fast, exact), then the R2D2 matching recipe end to end on r2d2-tiny, where the
toy's val file is a copy of its train file so that training with the true labels must raise val AUC and training
with flipped labels (a sabotaged loss) must lower it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from zero_bench.training.trainer import BEST_FILE, TrainConfig, TrainingLoop

TARGET = torch.tensor([1.0, -2.0])


class _Pull(nn.Module):
    """Objective whose updates move ``w`` towards TARGET (``sign`` 1) or away from it (``sign`` -1)."""

    def __init__(self, sign: float, noise: bool = False) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.tensor([0.5, -1.0]))
        self.sign, self.noise = sign, noise

    @property
    def model(self) -> nn.Module:
        return self

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        target = TARGET + (0.1 * torch.randn(2) if self.noise else 0.0)  # noise: draws from the global RNG
        loss = self.sign * ((self.w - target) ** 2).sum()
        return {"loss": loss}

    def training_state(self) -> dict[str, torch.Tensor]:
        return {}

    def after_step(self) -> None:
        return None


class _Batches:
    def batches_per_epoch(self) -> int:
        return 2

    def epoch(self, epoch: int, skip: int) -> list[dict[str, Any]]:
        return [{"x": torch.zeros(1)} for _ in range(skip, 2)]


class _Loop(TrainingLoop):
    def write_model(self, path: Path) -> Path:
        save_file({k: v.detach().clone() for k, v in self.model.state_dict().items()}, str(path))
        return path


def _val(model: nn.Module) -> dict[str, float]:
    torch.manual_seed(0)  # as the evaluator does: it reseeds the global RNG
    return {"score": -float(((model.w.detach() - TARGET) ** 2).sum())}


def _fit(tmp_path: Path, sign: float, select_start: bool = True, noise: bool = False) -> tuple[_Loop, dict]:
    config = TrainConfig(
        output_dir=str(tmp_path),
        epochs=3,
        lr=0.05,
        warmup_steps=0,
        schedule="constant",
        show_progress=False,
        select_metric="score",
        select_start=select_start,
    )
    loop = _Loop(_Pull(sign, noise), _Batches(), config, eval_fn=_val)
    return loop, loop.fit()


def test_updates_that_only_hurt_val_keep_the_start_and_say_so(tmp_path):
    start = _Pull(-1).w.detach().clone()
    loop, summary = _fit(tmp_path, sign=-1)
    best = summary["best"]
    assert best["kept_start"] is True and best["epoch"] is None and best["step"] == 0
    assert best["value"] == pytest.approx(_val(_Pull(-1))["score"])
    assert torch.equal(load_file(tmp_path / "model-best.safetensors")["w"], start)  # the start's weights
    assert not torch.equal(loop.model.w.detach(), start)  # training did move them (away)
    assert json.loads((tmp_path / BEST_FILE).read_text()) == best
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    val_rows = [r for r in rows if "val_score" in r]
    assert val_rows[0]["start"] is True and val_rows[0]["step"] == 0 and len(val_rows) == 4


def test_updates_that_help_val_return_a_later_epoch(tmp_path):
    _, summary = _fit(tmp_path, sign=1)
    best = summary["best"]
    assert best["kept_start"] is False and best["epoch"] == 2 and best["step"] == 6
    weights = load_file(tmp_path / "model-best.safetensors")["w"]
    assert _val(_Pull(1))["score"] < best["value"] == pytest.approx(-float(((weights - TARGET) ** 2).sum()))


def test_validating_the_start_does_not_change_training(tmp_path):
    """The start's validation reseeds the global RNG (as the evaluator does); its state is restored after, so the
    updates drawn afterwards are those of a run without it."""
    a, _ = _fit(tmp_path / "a", sign=1, select_start=True, noise=True)
    b, _ = _fit(tmp_path / "b", sign=1, select_start=False, noise=True)
    assert torch.equal(a.model.w, b.model.w)
    assert "start" not in json.loads((tmp_path / "b" / "metrics.jsonl").read_text().splitlines()[0])


# ---- the R2D2 matching recipe end to end ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def icm_val_is_train(tmp_path_factory) -> Path:
    """Toy ICM whose negatives all read one unrelated text and whose val file is the train file: learnable in a few
    steps, so the right labels must raise val AUC and flipped ones must lower it."""
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_task_dir

    root = tmp_path_factory.mktemp("toy-select")
    sizes = dict(corpus=1, itr_train=1, itr_val=1, itm_train=16, itm_val=2, flickr_train=1, flickr_val=1, flickr_test=1)
    generate_zero_toy(root=root, seed=5, sizes=ToySizes(**sizes), corpus=False)
    ccmb = toy_task_dir(root)
    rows = [json.loads(line) for line in (ccmb / "ICM" / "train" / "long_itm_train.json").read_text().splitlines()]
    text = "".join(
        json.dumps(r | ({} if r["label"] else {"text": "一段与图片无关的文字"}), ensure_ascii=False) + "\n"
        for r in rows
    )
    for split in ("train", "val"):
        (ccmb / "ICM" / split / f"long_itm_{split}.json").write_text(text, encoding="utf-8")
    (ccmb.parent / "zero-bench.lock.json").unlink()  # the lock pins the generated files
    return ccmb


def _finetune_icm(ccmb: Path, out: Path, checkpoint: Path | None = None) -> dict[str, Any]:
    from zero_bench_r2d2.training.recipes import finetune

    train = {"epochs": 3, "lr": 1e-3, "warmup_steps": 0, "batch_size": 8, "show_progress": False, "device": "cpu"}
    return finetune(
        task="icm",
        checkpoint=None if checkpoint is None else str(checkpoint),
        config="r2d2-tiny",
        output_dir=out,
        data_dir=ccmb,
        train=train,
    )


def _val_rows(out: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if "val_auc" in r]


@pytest.fixture(scope="module")
def helped(icm_val_is_train, tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("icm-helped")
    return out, _finetune_icm(icm_val_is_train, out)


def test_matching_recipe_whose_updates_help_returns_a_later_epoch(helped):
    out, summary = helped
    best, rows = summary["best"], _val_rows(out)
    assert rows[0]["start"] is True and best["kept_start"] is False and best["epoch"] is not None
    assert best["value"] > rows[0]["val_auc"]
    assert json.loads((out / BEST_FILE).read_text())["epoch"] == best["epoch"]


def test_matching_recipe_with_a_sabotaged_loss_returns_the_start(helped, icm_val_is_train, tmp_path, monkeypatch):
    """From the helped run's best weights, a loss on flipped labels only lowers val AUC: the start is returned."""
    import zero_bench_r2d2.training.losses as L
    from zero_bench_r2d2.checkpoints import read_state_dict

    start = helped[0] / "model-best.safetensors"
    honest = L.matching_loss
    monkeypatch.setattr(L, "matching_loss", lambda a, b, labels: honest(a, b, 1 - labels))  # learns the opposite
    summary = _finetune_icm(icm_val_is_train, tmp_path, checkpoint=start)
    rows = _val_rows(tmp_path)
    assert rows[0]["start"] is True and all(r["val_auc"] < rows[0]["val_auc"] for r in rows[1:]), rows
    assert summary["best"]["kept_start"] is True and summary["best"]["epoch"] is None
    kept, begun = read_state_dict(tmp_path / "model-best.safetensors"), read_state_dict(start)
    assert kept.keys() == begun.keys() and all(torch.equal(kept[k], begun[k]) for k in kept)
    assert not torch.equal(read_state_dict(tmp_path / "model.safetensors")["itm_head.weight"], begun["itm_head.weight"])


def test_task_pairs_keep_pixels_within_their_budget_and_give_the_same_samples(icm_val_is_train):
    import torch

    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.training.data import TaskPairs, TextImageTransform

    data = load_split(get_task("icm"), icm_val_is_train, "train")
    transform = TextImageTransform(48)
    one_image = 3 * 48 * 48 * 4
    cached, uncached = TaskPairs(data, transform, cache_bytes=2 * one_image), TaskPairs(data, transform, cache_bytes=0)
    for _ in range(2):  # a second epoch reads the kept pixels
        for k in range(len(cached)):
            a, b = cached[k], uncached[k]
            assert a.keys() == b.keys() and all(
                torch.equal(torch.as_tensor(a[key]), torch.as_tensor(b[key])) for key in a
            )
    assert len(cached.kept_pixels.kept) == 2 and cached.kept_pixels.kept_bytes == 2 * one_image
    assert not uncached.kept_pixels.kept
    with data.images[int(cached.pair_image[0])].open() as im:
        assert torch.equal(cached.pixels(int(cached.pair_image[0])), transform.image(im.convert("RGB")))
