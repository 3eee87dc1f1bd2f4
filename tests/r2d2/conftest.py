"""Shared set-up of the benchmark-script tests: a small zero-toy and a random r2d2-toy checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def small_toy_and_checkpoint(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, Path]:
    """(toy ccmb folder, random r2d2-toy checkpoint); sizes overridable with ``@pytest.mark.toy_sizes(**counts)``
    (default: 24 ICR / IQR val pairs, 4 ICM / IQM val pairs, toy seed 3)."""
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_task_dir
    from zero_bench_r2d2.testing import save_random_checkpoint

    marker = request.node.get_closest_marker("toy_sizes")
    counts = {"corpus": 8, "itr_train": 4, "itr_val": 24, "itm_train": 4, "itm_val": 4}
    counts |= {"flickr_train": 2, "flickr_val": 2, "flickr_test": 2} | (marker.kwargs if marker else {})
    generate_zero_toy(root=tmp_path / "toy", seed=3, sizes=ToySizes(**counts))
    return toy_task_dir(tmp_path / "toy"), save_random_checkpoint(tmp_path / "toy.pt", config="r2d2-toy")
