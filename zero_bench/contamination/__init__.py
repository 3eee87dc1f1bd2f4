"""Contamination audit: which evaluation images, texts and pairs of a task split appear in a pre-training corpus.

Images match exactly by a hash of their decoded pixels and nearly by imagehash's perceptual hash (looked up in a
Hamming-radius index over the evaluation side) confirmed by a thumbnail comparison; texts match exactly after
normalisation and nearly by Jaccard similarity of character n-grams (an exact prefix-filter index); a pair matches
when its image and one of its texts are in the same corpus row.  The corpus streams past once, parallel over its shards.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Thresholds": "thresholds",
    "audit": "audit",
    "task_splits": "audit",
    "clean_ids": "report",
    "load_clean_corpus": "clean",
    "excluded_keys": "report",
    "read_report": "report",
    "summary": "report",
    "write_clean_ids": "report",
    "write_report": "report",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    # lazy: reading a report (the leaderboard, load_clean_corpus) needs no imagehash
    if name not in _EXPORTS:
        raise AttributeError(f"module 'zero_bench.contamination' has no attribute {name!r}")
    return getattr(import_module(f"zero_bench.contamination.{_EXPORTS[name]}"), name)
