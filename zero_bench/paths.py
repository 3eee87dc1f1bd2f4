"""Where zero-bench keeps data, caches and checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

from zero_bench.fileio import check_output_folder


def home() -> Path:
    """Root of downloaded data and caches: ``$ZERO_BENCH_HOME`` or ``~/.cache/zero-bench``; refused in one line when
    it is a file, or inside one (every download, cache and default output lies below it)."""
    env = os.environ.get("ZERO_BENCH_HOME")
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "zero-bench"
    return check_output_folder(root, "zero-bench home ($ZERO_BENCH_HOME)" if env else "zero-bench home")


def data_root(root: str | Path | None = None) -> Path:
    return Path(root).expanduser() if root is not None else home() / "data"


def dataset_dir(name: str, root: str | Path | None = None) -> Path:
    return data_root(root) / name


def cache_dir() -> Path:
    return home() / "cache"
