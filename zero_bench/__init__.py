"""zero-bench: the toolkit and leaderboard harness for the Zero / CCMB Chinese cross-modal benchmark."""

from zero_bench.version import __version__

__all__ = ["__version__", "load_corpus"]


def load_corpus(name: str, root: str | None = None, exclude: str | None = None, exclude_texts: bool = False):
    """Open a pre-training corpus (``zero-23m``, ``zero-toy``, ...) as a memory-mapped ``datasets.Dataset``.

    ``exclude``: a ``zero-bench contamination`` report on this corpus; its rows holding an evaluation image are
    dropped (with ``exclude_texts``, also the rows holding only an evaluation text).
    """
    from zero_bench.data.corpus import load_corpus as _load

    return _load(name, root=root, exclude=exclude, exclude_texts=exclude_texts)
