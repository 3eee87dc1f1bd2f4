"""The evaluation side: every image, text and pair of the audited task splits, indexed for look-up.

The index is the only thing the audit holds in memory; the corpus streams past it.  Ids are the official ones
used in prediction files: image id = the image's key (file name without extension; the id in a Chinese-CLIP
TSV), text id = the text's id (0-based line number in the official formats; ``text_id`` in Chinese-CLIP), pair id
= for retrieval the image id (an image with its gold texts), for matching the pair's line number.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from zero_bench.contamination.hamming import HammingIndex
from zero_bench.contamination.images import (
    STORED,
    THUMB,
    Box,
    blurred,
    colours,
    crop_box,
    decode,
    exact_keys,
    normalised,
    perceptual_hashes,
    textures,
)
from zero_bench.contamination.normalise import normalise, shingles
from zero_bench.contamination.textindex import JaccardIndex
from zero_bench.contamination.thresholds import Thresholds
from zero_bench.formats import ClassificationData, MatchingData, RetrievalData, load_split
from zero_bench.taskspec import get_task

TEXT_CACHE = 200_000
IMAGE_CACHE = 200_000  # corpus image files (by content digest) whose matches are kept, per process
# the variant thumbnails are kept x16 in int16: half of float32's memory, to 1/32 (the loose check's threshold is
# 30), never clipped (normalised values lie within +-255 x 40 / 8); float16 halves it too, but converting it back
# took twice the time of the loose check itself
THUMB_SCALE = 16


def packed_thumbs(thumbs: np.ndarray) -> np.ndarray:
    """Normalised, blurred thumbnails as the index keeps them: x :data:`THUMB_SCALE`, rounded, int16."""
    return np.round(thumbs * THUMB_SCALE).astype(np.int16)


def unpacked_thumbs(packed: np.ndarray) -> np.ndarray:
    """float32 thumbnails back from :func:`packed_thumbs` (to 1/32)."""
    return packed.astype(np.float32) * np.float32(1.0 / THUMB_SCALE)


@dataclass
class Unit:
    """One audited task split and its official ids."""

    task: str
    split: str
    annotation_sha256: str
    image_ids: list[str]
    text_ids: list[str]
    pair_ids: list[str]


@dataclass
class EvalIndex:
    thresholds: Thresholds
    units: list[Unit]
    # global tables: (unit, position in the unit's id list) of every image, text and pair
    image_ref: list[tuple[int, int]] = field(default_factory=list)
    text_ref: list[tuple[int, int]] = field(default_factory=list)
    pair_ref: list[tuple[int, int]] = field(default_factory=list)
    exact_images: dict[bytes, list[int]] = field(default_factory=dict)
    # the variants (as is, mirrored, cut by the crop pairs) of every evaluation image: owner, (mirrored, box),
    # 16x16 normalised, blurred thumbnail (x THUMB_SCALE, int16: 1.5 KB); their perceptual hashes: ``hamming``
    boxes: list[tuple[bool, Box]] = field(default_factory=list)
    variant_image: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    variant_box: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    variant_thumb: np.ndarray = field(default_factory=lambda: np.zeros((0, THUMB, THUMB, 3), dtype=np.int16))
    variant_colour: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.float32))  # images.colours
    variant_texture: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))  # images.textures
    stored: list[np.ndarray] = field(default_factory=list)  # each evaluation image, longer side at most STORED px
    hamming: HammingIndex | None = None
    image_cache: dict[bytes, dict] = field(default_factory=dict)  # corpus file digest -> its image matches
    text_exact: dict[str, int] = field(default_factory=dict)  # normalised text -> unique text
    unique_texts: list[list[int]] = field(default_factory=list)  # unique text -> global texts
    unique_shingles: list[frozenset[str]] = field(default_factory=list)
    near_texts: JaccardIndex | None = None  # the unique texts of at least text_min_ngrams n-grams
    pairs_of_image: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # image -> [(pair, text)]
    # corpus text -> its matches, for texts that recur (search queries, keywords); at most TEXT_CACHE entries
    text_cache: dict[str, dict[int, tuple[bool, float]]] = field(default_factory=dict)

    @property
    def sizes(self) -> dict[str, int]:
        return {"images": len(self.image_ref), "texts": len(self.text_ref), "pairs": len(self.pair_ref)}


def variant_boxes(pairs: Sequence[tuple[float, float]]) -> list[Box]:
    """The uncut image, then each combination of a (left, right) and a (top, bottom) pair, each box once."""
    boxes: list[Box] = [(0.0, 0.0, 0.0, 0.0)]
    boxes += [(left, top, right, bottom) for (left, right), (top, bottom) in itertools.product(pairs, repeat=2)]
    return list(dict.fromkeys(boxes))


class _Builder:
    def __init__(self, thresholds: Thresholds) -> None:
        self.index = EvalIndex(thresholds, [])
        self.hashes: list[int] = []
        self.variant_image: list[int] = []
        self.thumbs: list[np.ndarray] = []
        self.colours: list[np.ndarray] = []
        self.textures: list[np.ndarray] = []
        self.index.boxes = [(False, box) for box in variant_boxes(thresholds.crop_pairs)]
        if thresholds.mirrored:
            self.index.boxes += [(True, box) for box in variant_boxes(thresholds.mirrored_crop_pairs)]

    def add_unit(self, data: RetrievalData | MatchingData | ClassificationData) -> None:
        index = self.index
        u = len(index.units)
        image_ids = [item.key for item in data.images]
        texts: list[str] = [] if isinstance(data, ClassificationData) else data.texts
        if isinstance(data, ClassificationData):  # images only: each image is its own unit item
            text_ids, pair_ids, links = [], image_ids, []
        elif isinstance(data, RetrievalData):
            text_ids = [str(t) for t in data.text_ids.tolist()]
            pair_ids = image_ids
            links = [(int(i), int(i), int(t)) for t, i in data.gold.tolist()]  # (pair, image, text) positions
        else:
            text_ids = [str(p) for p in data.pair_ids.tolist()]
            pair_ids = text_ids
            links = [(k, int(i), k) for k, i in enumerate(data.pair_image.tolist())]
        index.units.append(Unit(data.task, data.split, data.annotation_sha256, image_ids, text_ids, pair_ids))
        first_image, first_text, first_pair = len(index.image_ref), len(index.text_ref), len(index.pair_ref)
        for k, item in enumerate(data.images):
            raw = item.read_bytes()
            self.add_image(decode(raw), first_image + k, raw)
            index.image_ref.append((u, k))
        for k, caption in enumerate(texts):
            self.add_text(caption, first_text + k)
            index.text_ref.append((u, k))
        index.pair_ref += [(u, k) for k in range(len(pair_ids))]
        for pair, image, text in links:
            index.pairs_of_image.setdefault(first_image + image, []).append((first_pair + pair, first_text + text))

    def add_image(self, img: Image.Image, g: int, raw: bytes) -> None:
        index = self.index
        for key in exact_keys(raw, img):
            index.exact_images.setdefault(key, []).append(g)
        small = img.copy()
        small.thumbnail((STORED, STORED), Image.Resampling.BOX)
        index.stored.append(np.asarray(small))
        views = {False: img, True: ImageOps.mirror(img) if index.thresholds.mirrored else img}
        variants = [crop_box(views[m], box) for m, box in index.boxes]
        self.hashes += perceptual_hashes(variants)
        thumbs = np.stack([np.asarray(v.resize((THUMB, THUMB), Image.Resampling.BOX)) for v in variants])
        self.thumbs.append(packed_thumbs(blurred(normalised(thumbs))))
        self.colours.append(colours(thumbs))
        self.textures.append(textures(thumbs))
        self.variant_image += [g] * len(variants)

    def add_text(self, text: str, g: int) -> None:
        index = self.index
        key = normalise(text)
        unique = index.text_exact.get(key)
        if unique is None:
            unique = index.text_exact[key] = len(index.unique_texts)
            index.unique_texts.append([])
            index.unique_shingles.append(frozenset(shingles(key, index.thresholds.text_ngram)))
        index.unique_texts[unique].append(g)

    def finish(self) -> EvalIndex:
        index, th = self.index, self.index.thresholds
        index.variant_image = np.asarray(self.variant_image, dtype=np.int64)
        index.variant_box = np.tile(np.arange(len(index.boxes), dtype=np.int16), len(index.stored))
        index.variant_thumb = np.concatenate(self.thumbs) if self.thumbs else index.variant_thumb
        index.variant_colour = np.concatenate(self.colours) if self.colours else index.variant_colour
        index.variant_texture = np.concatenate(self.textures) if self.textures else index.variant_texture
        index.hamming = HammingIndex(np.asarray(self.hashes, dtype=np.uint64), th.image_radius)
        eligible = [u for u, s in enumerate(index.unique_shingles) if len(s) >= th.text_min_ngrams]
        index.near_texts = JaccardIndex([index.unique_shingles[u] for u in eligible], eligible, th.text_jaccard)
        return index


def build_index(
    tasks: Sequence[tuple[str, str | None]], data_dir: str | Path | None = None, thresholds: Thresholds | None = None
) -> EvalIndex:
    """Index the splits ``[(task, split or None for the default)]`` (every image decoded once)."""
    builder = _Builder(thresholds or Thresholds())
    for name, split in tasks:
        builder.add_unit(load_split(get_task(name), data_dir, split))
    return builder.finish()
