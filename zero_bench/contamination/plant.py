"""Planted copies of evaluation items, to measure what the audit finds (tests and benchmarks use it).

:func:`planted_rows` turns evaluation images and texts into corpus rows under known transformations and returns
the ground truth beside them, so recall per transformation and false positives on the other rows can be counted.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from zero_bench.contamination.images import decode

ImageEdit = Callable[[bytes, np.random.Generator], bytes]
TextEdit = Callable[[str, np.random.Generator], str]


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _crop(data: bytes, rng: np.random.Generator) -> bytes:
    img = decode(data)
    left, top, right, bottom = (rng.uniform(0.02, 0.05, 4) * [img.width, img.height, img.width, img.height]).round()
    box = (int(left), int(top), img.width - int(right), img.height - int(bottom))
    return _jpeg(img.crop(box), 90)


IMAGE_EDITS: dict[str, ImageEdit] = {
    "same_file": lambda data, rng: data,
    "png_resave": lambda data, rng: _png(decode(data)),  # same pixels, other bytes
    "jpeg_q20": lambda data, rng: _jpeg(decode(data), 20),
    "resize_50": lambda data, rng: _jpeg(decode(data).reduce(2), 90),
    "crop_2_5pc": _crop,  # 2-5% cut from each side, independently
    "hflip": lambda data, rng: _jpeg(ImageOps.mirror(decode(data)), 90),  # out of reach (see README)
}

_FULL = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)} | {" ": "\u3000"}
_PUNCT = {"，": ",", "。": ".", "；": ";", "：": ":", ",": "，", ".": "。"}


def _full_width(text: str, rng: np.random.Generator) -> str:
    return "".join(_FULL.get(ch, ch) for ch in text) + "\uff01"  # and a full-width "!"


def _punctuation(text: str, rng: np.random.Generator) -> str:
    swapped = "".join(_PUNCT.get(ch, ch) for ch in text)
    return swapped + ("。" if not swapped.endswith("。") else "!")


def _spacing(text: str, rng: np.random.Generator) -> str:
    cut = sorted(rng.choice(len(text) + 1, size=min(3, len(text) + 1), replace=False).tolist())
    parts = [text[a:b] for a, b in zip([0, *cut], [*cut, len(text)], strict=True)]
    return "  ".join(parts).strip() + " \t"


def _suffix(text: str, rng: np.random.Generator) -> str:
    return text + "高清图片"


def _drop_char(text: str, rng: np.random.Generator) -> str:
    k = int(rng.integers(len(text)))
    return text[:k] + text[k + 1 :]


TEXT_EDITS: dict[str, TextEdit] = {
    "same_text": lambda text, rng: text,
    "punctuation": _punctuation,
    "spacing": _spacing,
    "full_width": _full_width,
    "suffix_4_chars": _suffix,  # near: four characters appended
    "one_char_dropped": _drop_char,  # near
}


@dataclass(frozen=True)
class Planted:
    """Ground truth of one planted row."""

    key: str
    image_edit: str | None
    text_edit: str | None
    unit: tuple[str, str]  # (task, split)
    image_id: str | None
    text_id: str | None
    pair_id: str | None


def planted_rows(
    splits: list[tuple[str, str]], data_dir, count: int, seed: int = 0
) -> tuple[list[dict], list[Planted]]:
    """``count`` corpus rows, each an edited evaluation image with an edited text of it (the edits cycle through
    every combination of :data:`IMAGE_EDITS` and :data:`TEXT_EDITS`); returns (rows, ground truth)."""
    from zero_bench.errors import ZeroBenchError
    from zero_bench.formats import MatchingData, RetrievalData, load_split
    from zero_bench.taskspec import get_task

    rng = np.random.default_rng(seed)
    data: list[RetrievalData | MatchingData] = []
    for task, split in splits:
        loaded = load_split(get_task(task), data_dir, split)
        if not isinstance(loaded, RetrievalData | MatchingData):
            raise ZeroBenchError(f"{task}: planted copies are made from image-text tasks, not classification sets")
        data.append(loaded)
    image_edits, text_edits = list(IMAGE_EDITS), list(TEXT_EDITS)
    rows, truth = [], []
    for k in range(count):
        d = data[k % len(data)]
        if isinstance(d, RetrievalData):
            t, i = d.gold[int(rng.integers(len(d.gold)))].tolist()
            text_id, pair_id = str(int(d.text_ids[t])), d.images[i].key
        else:
            t = int(rng.integers(len(d.texts)))
            i = int(d.pair_image[t])
            text_id = pair_id = str(int(d.pair_ids[t]))
        image_edit = image_edits[k % len(image_edits)]
        text_edit = text_edits[(k // len(image_edits)) % len(text_edits)]
        key = f"planted-{k:06d}"
        rows.append(
            {
                "key": key,
                "image": IMAGE_EDITS[image_edit](d.images[i].read_bytes(), rng),
                "title": TEXT_EDITS[text_edit](d.texts[t], rng),
                "content": "",
                "query": "",
                "keywords": "",
                "url": f"http://planted.invalid/{k}",
                "image_url": f"http://planted.invalid/{k}.jpg",
            }
        )
        truth.append(Planted(key, image_edit, text_edit, (d.task, d.split), d.images[i].key, text_id, pair_id))
    return rows, truth


def write_corpus(folder, rows, name: str, shard_rows: int = 5_000) -> None:
    """Write rows (corpus columns, ``image`` as bytes) as a zero-bench Arrow corpus with its manifest."""
    from zero_bench.data.corpus import CorpusWriter, write_manifest
    from zero_bench.fileio import atomic_dir

    with atomic_dir(folder) as tmp:
        writer = CorpusWriter(tmp, shard_rows=shard_rows)
        written = 0
        for row in rows:
            writer.write(row)
            written += 1
        shards = writer.close()
        write_manifest(tmp, {"name": name, "corpus": {"rows": written, "shards": shards}})
