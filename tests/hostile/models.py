"""A tiny deterministic dual encoder for the hostile cases (a real model object, no mocks)."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from zero_bench.models.protocol import Encoded, ModelInfo


def mean_colour(image) -> torch.Tensor:
    """Module level, so DataLoader worker processes can pickle it."""
    return torch.tensor(np.asarray(image, dtype=np.float32).reshape(-1, 3).mean(0) / 255.0)


class ColourModel:
    """Images: their mean colour; texts: a direction seeded by their sha256. Weights are identified (a fixed
    checkpoint hash), so the evaluator caches its outputs."""

    def __init__(self) -> None:
        self.info = ModelInfo(
            name="Hostile Colour Model",
            parameters=3,
            training_data="none (test model)",
            organisation="zero-bench tests",
            link="https://example.org/hostile",
            checkpoint_sha256="0" * 64,
        )
        self.preprocess_image = mean_colour
        self.text_calls = 0

    def encode_images(self, pixels: torch.Tensor) -> Encoded:
        return Encoded(torch.nn.functional.normalize(pixels.float() + 0.01, dim=-1))

    def encode_texts(self, texts: list[str]) -> Encoded:
        self.text_calls += 1
        rows = [
            np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:8], 16)).random(3).astype(np.float32)
            for t in texts
        ]
        return Encoded(torch.nn.functional.normalize(torch.from_numpy(np.stack(rows)), dim=-1))

    def to(self, device: object) -> ColourModel:
        return self
