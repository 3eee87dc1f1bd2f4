"""Where zero-bench keeps data, caches and checkpoints."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """Root of downloaded data and caches: ``$ZERO_BENCH_HOME`` or ``~/.cache/zero-bench``."""
    env = os.environ.get("ZERO_BENCH_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "zero-bench"


def data_root(root: str | Path | None = None) -> Path:
    return Path(root).expanduser() if root is not None else home() / "data"


def dataset_dir(name: str, root: str | Path | None = None) -> Path:
    return data_root(root) / name


def cache_dir() -> Path:
    return home() / "cache"
