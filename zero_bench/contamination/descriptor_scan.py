"""The audit's pass with the learned descriptor (:mod:`~zero_bench.contamination.descriptor`): the corpus streams
past the embedded evaluation side once; what the classical image match already found is left to it."""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa

from zero_bench.contamination.calibrate import calibrate
from zero_bench.contamination.descriptor import (
    Descriptor,
    EvalSide,
    corpus_batches,
    decoded_rows,
    embed_eval_side,
    eval_items,
    load_descriptor,
    near_images,
)
from zero_bench.contamination.evalside import EvalIndex
from zero_bench.contamination.images import perceptual_hash
from zero_bench.contamination.scan import Found, best_texts_per_pair, make_match, match_image, match_texts
from zero_bench.data.corpus import TEXT_COLUMNS


def _row_texts(index: EvalIndex, batch: pa.RecordBatch, row: int) -> dict[int, tuple[bool, float]]:
    """{global evaluation text: (exact, distance)} for the texts of one corpus row (its best column per text)."""
    texts = [v for c in TEXT_COLUMNS if c in batch.schema.names and (v := batch.column(c)[row].as_py())]
    best: dict[int, tuple[bool, float]] = {}
    for hits in match_texts(index, texts):
        for unique, (exact, distance) in hits.items():
            for g in index.unique_texts[unique]:
                if g not in best or (exact, -distance) > (best[g][0], -best[g][1]):
                    best[g] = (exact, distance)
    return best


def _add(index: EvalIndex, found: Found, key: str, g: int, cosine: float, texts: dict, name: str) -> None:
    distance = round(1.0 - cosine, 4)
    found.add("images", g, make_match(key, False, distance, cosine=round(cosine, 4), descriptor=name))
    for pair, _, text_distance, text_id in best_texts_per_pair(index, g, texts):
        detail: dict[str, str | float] = {"text_id": text_id, "text_distance": text_distance}
        found.add("pairs", pair, make_match(key, False, distance, **detail, cosine=round(cosine, 4), descriptor=name))


def scan_descriptor(
    descriptor: Descriptor,
    side: EvalSide,
    index: EvalIndex,
    shards: list[Path],
    threshold: float,
    digests: list[str] | None = None,
) -> Found:
    """One pass over the corpus: the (evaluation image, corpus row) pairs at cosine >= ``threshold`` that the
    classical image match misses, as near image matches (and pairs, when the row also holds one of its texts).
    ``digests``: each shard's sha256 to check as it is read."""
    found = Found(limit=index.thresholds.max_matches)
    for batch in corpus_batches(shards, descriptor.batch_size, digests):
        decoded = decoded_rows(batch)
        if not decoded:
            continue
        hits = near_images(descriptor.embed([img for _, img in decoded]), side, threshold)
        keys = batch.column("key")
        for position, matches in hits.items():
            row, img = decoded[position]
            classical = match_image(index, img, perceptual_hash(img))
            new = {g: c for g, c in matches.items() if g not in classical}
            texts = _row_texts(index, batch, row) if new else {}
            for g, cosine in new.items():
                _add(index, found, keys[row].as_py(), g, cosine, texts, descriptor.name)
    return found


def run_descriptor(
    name: str | Descriptor,
    index: EvalIndex,
    data_dir: str | Path | None,
    shards: list[Path],
    found: Found,
    threshold: float | None = None,
    corpus_rows: int | None = None,
    digests: list[str] | None = None,
) -> dict:
    """Embed the evaluation side, calibrate the threshold on planted copies when none is given, scan the corpus
    and merge the new near matches into ``found``; returns the report's ``descriptor`` block.  ``digests``: the
    sha256 the classical pass computed for each shard (the report's fingerprint), which every shard read here must
    still have."""
    start = time.perf_counter()
    descriptor = name if isinstance(name, Descriptor) else load_descriptor(name)
    side = embed_eval_side(descriptor, eval_items(index, data_dir))
    if threshold is None:
        excluded = found.keys["images"]
        calibration = calibrate(descriptor, side, shards, excluded, corpus_rows=corpus_rows, digests=digests).as_dict()
        threshold = calibration["threshold"]
    else:
        calibration = {"method": "given by the user"}
    scan_start = time.perf_counter()
    extra = scan_descriptor(descriptor, side, index, shards, threshold, digests)
    scan_seconds = time.perf_counter() - scan_start
    found.merge(extra)
    info = descriptor.model.info
    return {
        "model": descriptor.name,
        "checkpoint": info.checkpoint or None,
        "checkpoint_sha256": info.checkpoint_sha256,
        "threshold": threshold,
        "mirrors": True,
        "calibration": calibration,
        "near_image_matches": sum(count for (kind, _), (count, _) in extra.hits.items() if kind == "images"),
        "device": str(descriptor.device),
        "seconds": round(time.perf_counter() - start, 2),  # evaluation side, calibration and pass (not loading)
        "scan_seconds": round(scan_seconds, 2),  # the pass over the corpus alone
    }
