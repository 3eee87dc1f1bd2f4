from __future__ import annotations

from pathlib import Path

import pytest

from tests.leaderboard.lb_helpers import copy_leaderboard, icm_predictions, icr_predictions, make_ccmb


@pytest.fixture
def world(tmp_path) -> Path:
    """The folder a case may touch; ``refused`` checks that nothing in it changes."""
    return tmp_path


@pytest.fixture
def ccmb(tmp_path) -> Path:
    return make_ccmb(tmp_path / "data" / "ccmb")


@pytest.fixture
def icr_preds(tmp_path) -> Path:
    return icr_predictions(tmp_path / "icr.jsonl")


@pytest.fixture
def icm_preds(tmp_path) -> Path:
    return icm_predictions(tmp_path / "icm.jsonl")


@pytest.fixture
def lb(tmp_path) -> Path:
    return copy_leaderboard(tmp_path / "leaderboard")
