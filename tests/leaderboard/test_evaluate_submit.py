"""End to end: `evaluate` (a tiny model) writes a Result and predictions; `submit` re-scores and stores them."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from zero_bench.evaluation.evaluator import evaluate
from zero_bench.leaderboard.build import build, stale_files
from zero_bench.leaderboard.submit import read_model_file, submit
from zero_bench.models.protocol import Encoded, ModelInfo


def _pixels(image) -> torch.Tensor:
    return torch.tensor(np.asarray(image, dtype=np.float32).reshape(-1, 3).mean(0) / 255.0)


class ColourModel:
    """Images: their mean colour; texts: a seeded random direction (poor but deterministic retrieval)."""

    def __init__(self) -> None:
        self.info = ModelInfo(
            name="Colour Model 小",
            parameters=3,
            training_data="none (test model)",
            organisation="zero-bench tests",
            link="https://example.org/colour",
        )
        self.preprocess_image = _pixels

    def encode_images(self, pixels: torch.Tensor) -> Encoded:
        return Encoded(torch.nn.functional.normalize(pixels.float() + 0.01, dim=-1))

    def encode_texts(self, texts: list[str]) -> Encoded:
        rows = []
        for text in texts:
            seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
            rows.append(torch.from_numpy(np.random.default_rng(seed).random(3).astype(np.float32)))
        return Encoded(torch.nn.functional.normalize(torch.stack(rows), dim=-1))

    def to(self, device):
        return self


def test_evaluate_then_submit(tmp_path, lb, ccmb):
    preds = tmp_path / "preds.jsonl"
    result = evaluate(ColourModel(), "icr", data_dir=ccmb, predictions=preds, device="cpu", use_cache=False)
    path = tmp_path / "result.json"
    result.write(path)
    outcome = submit(path, preds, root=lb, data_dir=ccmb)
    (entry,) = read_model_file(outcome.path).entries
    assert entry.status == "re-scored" and entry.predictions_sha256 == result.predictions_sha256
    for key, value in result.metrics.items():
        assert abs(entry.metrics[key] - value) <= 1e-6
    build(lb, data_dir=ccmb)
    assert stale_files(lb, ccmb) == []
    assert "Colour Model 小" in (lb / "README.md").read_text(encoding="utf-8")
