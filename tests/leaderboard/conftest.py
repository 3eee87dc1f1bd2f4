from __future__ import annotations

from pathlib import Path

import pytest

from tests.leaderboard.lb_helpers import (
    cifar_predictions,
    copy_leaderboard,
    icm_predictions,
    icr_predictions,
    make_ccmb,
    make_elevater,
)


@pytest.fixture(scope="session")
def ccmb(tmp_path_factory) -> Path:
    return make_ccmb(tmp_path_factory.mktemp("data") / "ccmb")


@pytest.fixture(scope="session")
def icr_preds(tmp_path_factory) -> Path:
    return icr_predictions(tmp_path_factory.mktemp("preds") / "icr.jsonl")


@pytest.fixture(scope="session")
def icm_preds(tmp_path_factory) -> Path:
    return icm_predictions(tmp_path_factory.mktemp("preds") / "icm.jsonl")


@pytest.fixture(scope="session")
def elevater(tmp_path_factory) -> Path:
    """A tiny ``elevater-cn`` data folder: cifar-10 with 19 test images in 10 class folders."""
    return make_elevater(tmp_path_factory.mktemp("data") / "elevater-cn")


@pytest.fixture(scope="session")
def cifar_preds(tmp_path_factory, elevater) -> Path:
    return cifar_predictions(tmp_path_factory.mktemp("preds") / "cifar.jsonl", elevater)


@pytest.fixture
def lb(tmp_path) -> Path:
    return copy_leaderboard(tmp_path / "leaderboard")
