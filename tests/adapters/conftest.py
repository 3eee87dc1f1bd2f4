"""Shared fixtures: zero-toy images and Chinese texts, and one intra-op thread (2 shared cores)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from zero_bench.data import toy


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def samples() -> tuple[list[Image.Image], list[str]]:
    """Four zero-toy scenes: their images (odd sizes, so resizing is exercised) and Chinese captions."""
    rng = np.random.default_rng(7)
    scenes = [toy.random_scene(rng) for _ in range(4)]
    return [toy.render(s) for s in scenes], [toy.caption(s) for s in scenes]
