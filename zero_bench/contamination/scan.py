"""Match corpus rows against the evaluation index: the per-row work, shared by the local and the pyspark runs.

:func:`scan_batch` takes an Arrow record batch with the corpus columns (``key``, ``image`` and the text columns)
and adds what it finds to a :class:`Found`, which keeps a bounded number of matches per evaluation item (memory
is bounded by the evaluation side, never by the corpus).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa
from PIL import Image

from zero_bench.blas import one_blas_thread
from zero_bench.contamination.confirm import Looks, near_matches, view_thumbs
from zero_bench.contamination.evalside import IMAGE_CACHE, TEXT_CACHE, EvalIndex
from zero_bench.contamination.images import (
    UNDECODABLE,
    decode_reduced,
    perceptual_hash,
    perceptual_hashes,
    pixel_hash,
    trim_border,
)
from zero_bench.contamination.normalise import normalise, shingles
from zero_bench.data.corpus import TEXT_COLUMNS


@dataclass(frozen=True, order=True)
class Match:
    """A corpus row matching an evaluation item; orders best first (exact, then by distance, then key)."""

    rank: tuple[int, float]
    corpus_key: str
    kind: str  # exact | near
    distance: float
    detail: tuple[tuple[str, str | float], ...] = ()  # e.g. (("field", "title"),)


IMAGE_CHUNK = 64  # images decoded and hashed together


def make_match(corpus_key: str, exact: bool, distance: float, **detail: str | float) -> Match:
    return Match(
        (0 if exact else 1, distance), corpus_key, "exact" if exact else "near", distance, tuple(detail.items())
    )


@dataclass
class Found:
    """Per (kind, global item): how many corpus rows matched, and the best ``limit`` of them."""

    limit: int
    rows: int = 0
    undecodable: int = 0
    hits: dict[tuple[str, int], list] = field(default_factory=dict)  # -> [count, heap of (-rank..., Match)]
    # every corpus row with an evaluation image (images) or only an evaluation text (texts) in it
    keys: dict[str, set[str]] = field(default_factory=lambda: {"images": set(), "texts": set()})

    def add(self, kind: str, item: int, match: Match) -> None:
        self.keys["texts" if kind == "texts" else "images"].add(match.corpus_key)
        entry = self.hits.setdefault((kind, item), [0, []])
        entry[0] += 1
        heap: list = entry[1]
        key = _neg(match)
        if len(heap) < self.limit:
            heapq.heappush(heap, key)
        elif key > heap[0]:
            heapq.heapreplace(heap, key)

    def merge(self, other: Found) -> None:
        self.rows += other.rows
        self.undecodable += other.undecodable
        for name, keys in other.keys.items():
            self.keys[name] |= keys
        for (kind, item), (count, heap) in other.hits.items():
            for _, match in heap:
                self.add(kind, item, match)
            self.hits[(kind, item)][0] += count - len(heap)

    def matches(self, kind: str, item: int) -> tuple[int, list[Match]]:
        count, heap = self.hits.get((kind, item), (0, []))
        return count, sorted(m for _, m in heap)


class _Neg:
    """Reverses the order of a Match, so a min-heap keeps the best ones."""

    __slots__ = ("match",)

    def __init__(self, match: Match) -> None:
        self.match = match

    def __lt__(self, other: _Neg) -> bool:
        return other.match < self.match

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Neg) and other.match == self.match


def _neg(match: Match) -> tuple[_Neg, Match]:
    return (_Neg(match), match)


def _image_bytes(column: pa.Array) -> list[bytes | None]:
    if pa.types.is_struct(column.type):
        column = column.field("bytes")
    return column.to_pylist()


def views_of(index: EvalIndex, img: Image.Image) -> list[Image.Image]:
    """The views of a corpus image that are hashed: the image, and the image without its frame if it has one."""
    th = index.thresholds
    trimmed = trim_border(img, th.border_tolerance, th.border_max)
    return [img] if trimmed is None else [img, trimmed]


def match_image(
    index: EvalIndex,
    img: Image.Image,
    phash: int,
    trimmed: list[tuple[Image.Image, int]] | None = None,
    thumbs: list[Looks] | None = None,
) -> dict[int, tuple[bool, int, float]]:
    """Evaluation images matching one decoded corpus image (its perceptual hash given; ``trimmed``: its other
    views with their hashes, computed here when not given; ``thumbs``: the views' :data:`~confirm.Looks`, likewise):
    {global image: (exact, Hamming distance, aligned thumbnail distance)}."""
    out = {g: (True, 0, 0.0) for g in index.exact_images.get(pixel_hash(img), ())}
    if trimmed is None:
        trimmed = [(v, perceptual_hash(v)) for v in views_of(index, img)[1:]]
    views = [(img, phash), *trimmed]
    for k, (view, view_hash) in enumerate(views):
        thumb = thumbs[k] if thumbs is not None else None
        for g, (distance, diff) in near_matches(index, view, view_hash, thumb).items():
            if g not in out or (not out[g][0] and (diff, distance) < (out[g][2], out[g][1])):
                out[g] = (False, distance, diff)
    return out


def _image_matches(index: EvalIndex, images: list[bytes | None], found: Found) -> Iterator[tuple[int, dict]]:
    """(row, :func:`match_image` result) of the decodable images.  A file seen before (same bytes) is answered
    from the index's bounded cache without decoding; the others are decoded and hashed :data:`IMAGE_CHUNK` at a
    time (bounded memory, one DCT call per chunk)."""
    cache = index.image_cache
    for start in range(0, len(images), IMAGE_CHUNK):
        chunk: list[tuple[int, Image.Image, bytes]] = []
        for row in range(start, min(start + IMAGE_CHUNK, len(images))):
            data = images[row]
            if not data:
                continue
            digest = hashlib.sha256(data).digest()[:16]
            if digest in cache:
                yield row, cache[digest]
                continue
            try:
                chunk.append((row, decode_reduced(data), digest))
            except UNDECODABLE:  # counted, never fatal for a pass over millions of rows
                found.undecodable += 1
        views = [views_of(index, img) for _, img, _ in chunk]
        flat = [v for vs in views for v in vs]
        hashes, thumbs = iter(perceptual_hashes(flat)), iter(view_thumbs(flat))
        for (row, img, digest), vs in zip(chunk, views, strict=True):
            phashes, view_thumbs_ = [next(hashes) for _ in vs], [next(thumbs) for _ in vs]
            trimmed = list(zip(vs[1:], phashes[1:], strict=True))
            matches = match_image(index, img, phashes[0], trimmed, view_thumbs_)
            if len(cache) < IMAGE_CACHE:
                cache[digest] = matches
            yield row, matches


def match_texts(index: EvalIndex, texts: list[str]) -> list[dict[int, tuple[bool, float]]]:
    """For each text: {unique evaluation text: (exact, 1 - Jaccard)}.  Each distinct text is looked up once;
    recurring ones (queries, keywords) come from a bounded cache on the index."""
    th, cache = index.thresholds, index.text_cache
    distinct: dict[str, dict[int, tuple[bool, float]]] = {}
    for text in texts:
        if text in distinct:
            continue
        if text in cache:
            distinct[text] = cache[text]
            continue
        key = normalise(text)
        unique = index.text_exact.get(key)
        distinct[text] = {unique: (True, 0.0)} if unique is not None else {}
        grams = frozenset(shingles(key, th.text_ngram))
        if len(grams) >= th.text_min_ngrams and index.near_texts is not None:
            found = distinct[text]
            for near, similarity in index.near_texts.query(grams):
                found.setdefault(near, (False, round(1.0 - similarity, 4)))
        if len(cache) < TEXT_CACHE:
            cache[text] = distinct[text]
    return [distinct[text] for text in texts]


def _texts_by_row(index: EvalIndex, batch: pa.RecordBatch) -> dict[int, dict[int, tuple[bool, float, str]]]:
    """row -> {global evaluation text: (exact, distance, corpus column)}, the best column per text."""
    fields = [c for c in TEXT_COLUMNS if c in batch.schema.names]
    columns = {c: batch.column(c).to_pylist() for c in fields}
    flat = [(row, c, columns[c][row]) for row in range(batch.num_rows) for c in fields if columns[c][row]]
    out: dict[int, dict[int, tuple[bool, float, str]]] = {}
    for (row, column, _), hits in zip(flat, match_texts(index, [t for _, _, t in flat]), strict=True):
        best = out.setdefault(row, {})
        for unique, (exact, distance) in hits.items():
            for g in index.unique_texts[unique]:
                if g not in best or (exact, -distance) > (best[g][0], -best[g][1]):
                    best[g] = (exact, distance, column)
    return out


def best_texts_per_pair(index: EvalIndex, image: int, texts: dict) -> Iterator[tuple[int, bool, float, str]]:
    """(pair, text exact, text distance, text id) for each pair of evaluation image ``image`` whose text the row
    holds (``texts``: evaluation text -> (exact, distance, ...)): the best of its texts per pair, exact first."""
    best: dict[int, tuple[bool, float, int]] = {}
    for pair, text in index.pairs_of_image.get(image, ()):
        if text in texts and (pair not in best or (texts[text][0], -texts[text][1]) > best[pair][:2]):
            best[pair] = (texts[text][0], -texts[text][1], text)
    for pair, (text_exact, neg_distance, text) in best.items():
        unit, position = index.text_ref[text]
        yield pair, text_exact, -neg_distance, index.units[unit].text_ids[position]


def _add_pairs(index: EvalIndex, found: Found, key: str, image: int, exact: bool, distance: int, texts: dict) -> None:
    """Pairs of evaluation image ``image`` whose text is in the same row: the best of its texts per pair."""
    for pair, text_exact, text_distance, text_id in best_texts_per_pair(index, image, texts):
        match = make_match(key, exact and text_exact, distance, text_id=text_id, text_distance=text_distance)
        found.add("pairs", pair, match)


def scan_batch(index: EvalIndex, batch: pa.RecordBatch, found: Found) -> None:
    """Match every row of ``batch`` (columns ``key``, ``image`` and text columns) and add the hits to ``found``.
    numpy's BLAS runs on one thread meanwhile (:mod:`zero_bench.blas`): the audit's products are small, and its
    parallelism is over processes or Spark tasks."""
    with one_blas_thread():
        _scan_batch(index, batch, found)


def _scan_batch(index: EvalIndex, batch: pa.RecordBatch, found: Found) -> None:
    keys = batch.column("key").to_pylist()
    row_texts = _texts_by_row(index, batch)
    for row, key in enumerate(keys):
        found.rows += 1
        for g, (exact, distance, column) in row_texts.get(row, {}).items():
            found.add("texts", g, make_match(key, exact, distance, field=column))
    for row, matches in _image_matches(index, _image_bytes(batch.column("image")), found):
        for g, (exact, distance, diff) in matches.items():
            found.add("images", g, make_match(keys[row], exact, distance, thumb_diff=diff))
            _add_pairs(index, found, keys[row], g, exact, distance, row_texts.get(row, {}))
