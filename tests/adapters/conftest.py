"""Shared fixtures: zero-toy images and Chinese texts, and one intra-op thread (2 shared cores)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from zero_bench.data import toy
from zero_bench.testing import one_torch_thread


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="session")
def samples() -> tuple[list[Image.Image], list[str]]:
    """Four zero-toy scenes: their images (odd sizes, so resizing is exercised) and Chinese captions."""
    rng = np.random.default_rng(7)
    scenes = [toy.random_scene(rng) for _ in range(4)]
    return [toy.render(s) for s in scenes], [toy.caption(s) for s in scenes]
