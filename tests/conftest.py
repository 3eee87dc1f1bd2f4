"""Test-wide settings: hermetic environment (no network, no writes outside tmp) and the shared reference data."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Set before any library is imported (see ../shared/reference/environment_notes.md).
_TMP = Path(tempfile.mkdtemp(prefix="zero-bench-tests-"))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["WANDB_MODE"] = "disabled"
os.environ["HF_HOME"] = str(_TMP / "hf")
os.environ["ZERO_BENCH_HOME"] = str(_TMP / "zero-bench-home")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import pytest  # noqa: E402

from zero_bench.testing import skip_or_fail  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def reference_dir(env_var: str, default: Path) -> Path:
    """A shared reference folder: the env var's path or the default; skipped if absent, failed under CI=true."""
    path = Path(os.environ.get(env_var, str(default))).expanduser()
    if not path.is_dir():
        skip_or_fail(f"reference data not found at {path} (set {env_var})")
    return path


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """``../shared/reference`` beside the checkout (or ``$ZERO_BENCH_REFERENCE``)."""
    return reference_dir("ZERO_BENCH_REFERENCE", REPO.parent / "shared" / "reference")


@pytest.fixture(scope="session")
def r2d2_fixture_dir() -> Path:
    """The official tiny R2D2 fixture (``$ZERO_BENCH_R2D2_FIXTURE``, default ``../shared/reference/r2d2_tiny``)."""
    return reference_dir("ZERO_BENCH_R2D2_FIXTURE", REPO.parent / "shared" / "reference" / "r2d2_tiny")
