"""zero-bench: the toolkit and leaderboard harness for the Zero / CCMB Chinese cross-modal benchmark."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from zero_bench.version import __version__

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["__version__", "load_corpus", "load_results"]


def load_corpus(name: str, root: str | None = None, exclude: str | None = None, exclude_texts: bool = False):
    """Open a pre-training corpus (``zero-23m``, ``zero-toy``, ...) as a memory-mapped ``datasets.Dataset``.

    ``exclude``: a ``zero-bench contamination`` report on this corpus; its rows holding an evaluation image are
    dropped (with ``exclude_texts``, also the rows holding only an evaluation text).
    """
    if exclude is None:
        from zero_bench.data.corpus import load_corpus as _load

        return _load(name, root=root)
    from zero_bench.contamination.clean import load_clean_corpus

    return load_clean_corpus(name, exclude, root, texts=exclude_texts)


def load_results(*paths: str | os.PathLike | Iterable[str | os.PathLike]) -> pd.DataFrame:
    """Result JSON files or folders (given one by one or as a list) as a ``pandas.DataFrame``: one row per model
    and setting, one column per task's primary metric, and ``mean`` over rows covering every task."""
    from zero_bench.results_table import load_results as _load

    flat: list[str | os.PathLike] = []
    for item in paths:
        flat.extend([item] if isinstance(item, (str, os.PathLike)) else item)
    return _load(flat)
