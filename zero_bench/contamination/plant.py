"""Planted copies of evaluation items, to measure what the audit finds (tests and benchmarks use it).

:func:`planted_rows` turns evaluation images and texts into corpus rows under known transformations and returns
the ground truth beside them, so recall per transformation and false positives on the other rows can be counted.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from zero_bench.contamination.images import decode

ImageEdit = Callable[[bytes, np.random.Generator], bytes]

# zero-toy with small evaluation splits, for the planted-copy measurements (tests and benchmarks/planted_copies.py):
# 100 images each for ICR / IQR / ICM / IQM (val), 40 for Flickr30k-CNA (test); corpus rows are made separately
PLANT_SIZES = dict(itr_train=8, itr_val=100, itm_train=8, itm_val=200, flickr_train=4, flickr_val=4, flickr_test=40)
TextEdit = Callable[[str, np.random.Generator], str]


def _jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def _mirror(data: bytes, rng: np.random.Generator) -> bytes:
    return _jpeg(ImageOps.mirror(decode(data)), 90)


def _resize(data: bytes, rng: np.random.Generator) -> bytes:
    """Scaled by a factor drawn log-uniformly in [1/4, 4] (as many shrunk as enlarged), aspect ratio kept."""
    img = decode(data)
    factor = float(np.exp(rng.uniform(np.log(0.25), np.log(4.0))))
    size = (max(1, round(img.width * factor)), max(1, round(img.height * factor)))
    return _jpeg(img.resize(size, Image.Resampling.BICUBIC), 90)


def _crop(data: bytes, rng: np.random.Generator) -> bytes:
    """0-10% cut from each side, independently (so mostly off-centre)."""
    img = decode(data)
    left, top, right, bottom = (rng.uniform(0.0, 0.10, 4) * [img.width, img.height, img.width, img.height]).round()
    box = (int(left), int(top), img.width - int(right), img.height - int(bottom))
    return _jpeg(img.crop(box), 90)


def _low_quality(data: bytes, rng: np.random.Generator) -> bytes:
    return _jpeg(decode(data), int(rng.integers(20, 41)))  # JPEG quality 20-40


def _colour(data: bytes, rng: np.random.Generator) -> bytes:
    """Brightness, contrast and saturation each scaled by a factor in [0.88, 1.12]."""
    img = decode(data)
    for enhance in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        img = enhance(img).enhance(float(rng.uniform(0.88, 1.12)))
    return _jpeg(img, 90)


def _border(data: bytes, rng: np.random.Generator) -> bytes:
    """A uniform border of a random colour, 2-10% of the side on each side independently."""
    img = decode(data)
    left, top, right, bottom = (rng.uniform(0.02, 0.10, 4) * [img.width, img.height, img.width, img.height]).round()
    colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    framed = Image.new("RGB", (img.width + int(left + right), img.height + int(top + bottom)), colour)
    framed.paste(img, (int(left), int(top)))
    return _jpeg(framed, 90)


# The edits that matter (issue 24): each draws its parameters from ``rng``, so planted copies cover the ranges.
IMAGE_EDITS: dict[str, ImageEdit] = {
    "same_file": lambda data, rng: data,
    "png_resave": lambda data, rng: _png(decode(data)),  # same pixels, other bytes
    "mirror": _mirror,
    "resize_25_400pc": _resize,
    "crop_0_10pc": _crop,
    "jpeg_q20_40": _low_quality,
    "colour_contrast": _colour,
    "border_2_10pc": _border,
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


def _found(report: dict, kind: str) -> dict[str, set[tuple[str, str, str]]]:
    """corpus key -> {(task, split, eval id)} of the report's ``kind`` (images, texts, pairs) matches."""
    out: dict[str, set[tuple[str, str, str]]] = {}
    for task, splits in report["tasks"].items():
        for split, blocks in splits.items():
            for m in blocks[kind]["matches"]:
                out.setdefault(m["corpus_key"], set()).add((task, split, m["eval_id"]))
    return out


def _near_text_keys(report: dict) -> set[str]:
    return {
        m["corpus_key"]
        for splits in report["tasks"].values()
        for blocks in splits.values()
        for m in blocks["texts"]["matches"]
        if m["kind"] == "near"
    }


def score(report: dict, truth: list[Planted]) -> dict:
    """What an audit report found of the planted rows ``truth``: recall per image edit and per text edit (the
    planted row matched to its own evaluation image / text), and the share of the other rows that matched an
    evaluation image, or a text nearly.  Reads the report's matches, so ``max_matches`` must be at least the
    number of planted copies of one evaluation item (a few)."""
    found = {kind: _found(report, kind) for kind in ("images", "texts")}

    def hit(p: Planted, kind: str, want: str | None) -> bool:
        return (*p.unit, want) in found[kind].get(p.key, set())

    def recall(kind: str, attr: str, edits: dict, want: str) -> dict[str, float]:
        out = {}
        for edit in edits:
            rows = [p for p in truth if getattr(p, attr) == edit]
            out[edit] = sum(hit(p, kind, getattr(p, want)) for p in rows) / len(rows) if rows else float("nan")
        return out

    planted = {p.key for p in truth}
    others = report["rows_scanned"] - len(planted)
    return {
        "planted": len(truth),
        "other_rows": others,
        "image_recall": recall("images", "image_edit", IMAGE_EDITS, "image_id"),
        "text_recall": recall("texts", "text_edit", TEXT_EDITS, "text_id"),
        "image_false_positive_rows": len(set(found["images"]) - planted) / max(others, 1),
        "near_text_false_positive_rows": len(_near_text_keys(report) - planted) / max(others, 1),
    }
