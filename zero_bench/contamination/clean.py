"""A corpus without the rows an audit found: the report is read here, above the data layer, which only takes keys."""

from __future__ import annotations

from pathlib import Path

from zero_bench.contamination.report import excluded_keys, read_report
from zero_bench.contamination.shards import verified_fingerprint
from zero_bench.data.corpus import corpus_dir, load_corpus
from zero_bench.errors import ZeroBenchError


def load_clean_corpus(
    name: str | Path, report_path: str | Path, root: str | Path | None = None, *, texts: bool = False
):
    """``load_corpus(name)`` without the rows holding an evaluation image (with ``texts``, also those holding only
    an evaluation text) according to ``report_path``, which must have been made on this very data: the corpus
    fingerprint is computed from the shard bytes (each checked against the manifest), never read from it."""
    report_path = Path(report_path)
    report = read_report(report_path)
    fingerprint = verified_fingerprint(corpus_dir(name, root))
    if report["corpus"].get("fingerprint") != fingerprint:
        raise ZeroBenchError(
            f"{report_path}: the report was made on another corpus (fingerprint "
            f"{str(report['corpus'].get('fingerprint'))[:12]}, this corpus {fingerprint[:12]}); run the audit again"
        )
    return load_corpus(name, root, exclude_keys=excluded_keys(report, texts=texts))
