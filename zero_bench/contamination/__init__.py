"""Contamination audit: which evaluation images, texts and pairs of a task split appear in a pre-training corpus.

Images match exactly by a hash of their decoded pixels and nearly by imagehash's perceptual hash (looked up in a
Hamming-radius index over the evaluation side) confirmed by a thumbnail comparison; texts match exactly after
normalisation and nearly by MinHash LSH (datasketch) over character n-grams; a pair matches when its image and one
of its texts are in the same corpus row.  The corpus streams past once, parallel over its shards.
"""

from zero_bench.contamination.audit import audit, task_splits
from zero_bench.contamination.report import (
    clean_ids,
    excluded_keys,
    read_report,
    summary,
    write_clean_ids,
    write_report,
)
from zero_bench.contamination.thresholds import Thresholds

__all__ = [
    "Thresholds",
    "audit",
    "clean_ids",
    "excluded_keys",
    "read_report",
    "summary",
    "task_splits",
    "write_clean_ids",
    "write_report",
]
