"""Readers for the official CCMB files: ICR/IQR (``*_itr_*.json``), ICM/IQM (``*_itm_*.json``), Flickr30k-CNA.

Ids follow the official evaluation: text id = 0-based index of the text in file order, image id = 0-based order
of each image's first appearance.  Every problem is reported with the file and line before any model work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from zero_bench.errors import DataFormatError
from zero_bench.formats.canonical import ImageItem, MatchingData, RetrievalData
from zero_bench.formats.jsonl import read_json_lines, read_lines


def json_records(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict]]:
    for number, record in read_json_lines(path, required):
        if not isinstance(record["text"], str):
            raise DataFormatError(path, "field 'text' must be a string", number)
        if not isinstance(record["image_path"], str) or len(Path(record["image_path"]).name) <= 4:
            raise DataFormatError(path, "field 'image_path' must be a file name such as 'x.jpg'", number)
        yield number, record


class _ImageIndex:
    """Assigns image ids in order of first appearance and checks each file exists once."""

    def __init__(self, annotation: Path, image_dir: Path) -> None:
        self.annotation = annotation
        self.image_dir = image_dir
        self.index: dict[str, int] = {}
        self.items: list[ImageItem] = []

    def add(self, file_name: str, line: int) -> int:
        # The official code keys images by basename without its 4-character extension.
        key = file_name[:-4]
        position = self.index.get(key)
        if position is None:
            path = self.image_dir / file_name
            if not path.is_file():
                raise DataFormatError(self.annotation, f"image file not found: {path}", line)
            position = self.index[key] = len(self.items)
            self.items.append(ImageItem(key=key, path=path))
        return position


def _plain_name(name: str) -> bool:
    """A bare file name: no folder part (either slash), not ``.``/``..``, no NUL or other control character."""
    return (
        name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and not any(ord(c) < 32 or ord(c) == 127 for c in name)
    )


def _check_non_empty(path: Path, count: int) -> None:
    if count == 0:
        raise DataFormatError(path, "empty split: no samples")


def read_itr_jsonl(path: Path, image_dir: Path, *, task: str, split: str, sha256: str) -> RetrievalData:
    images = _ImageIndex(path, image_dir)
    texts: list[str] = []
    gold: list[tuple[int, int]] = []
    for number, record in json_records(path, ("text", "image_path")):
        image = images.add(Path(record["image_path"]).name, number)
        gold.append((len(texts), image))
        texts.append(record["text"])
    _check_non_empty(path, len(texts))
    return RetrievalData(
        task=task,
        split=split,
        annotation_sha256=sha256,
        images=images.items,
        image_ids=np.arange(len(images.items), dtype=np.int64),
        texts=texts,
        text_ids=np.arange(len(texts), dtype=np.int64),
        gold=np.asarray(gold, dtype=np.int64),
        source=str(path),
    )


def read_itm_jsonl(path: Path, image_dir: Path, *, task: str, split: str, sha256: str) -> MatchingData:
    images = _ImageIndex(path, image_dir)
    texts: list[str] = []
    pair_image: list[int] = []
    labels: list[int] = []
    for number, record in json_records(path, ("text", "image_path", "label")):
        label = record["label"]
        if isinstance(label, bool) or label not in (0, 1):
            raise DataFormatError(path, f"label must be 0 or 1, got {label!r}", number)
        pair_image.append(images.add(Path(record["image_path"]).name, number))
        texts.append(record["text"])
        labels.append(int(label))
    _check_non_empty(path, len(texts))
    if len(set(labels)) < 2:
        raise DataFormatError(
            path, f"every one of the {len(labels)} pairs has label {labels[0]}: ROC-AUC needs both labels 0 and 1"
        )
    return MatchingData(
        task=task,
        split=split,
        annotation_sha256=sha256,
        images=images.items,
        image_ids=np.arange(len(images.items), dtype=np.int64),
        texts=texts,
        pair_image=np.asarray(pair_image, dtype=np.int64),
        labels=np.asarray(labels, dtype=np.int64),
        pair_ids=np.arange(len(texts), dtype=np.int64),
        source=str(path),
    )


def flickr30k_cna_lines(path: Path) -> Iterator[tuple[int, str, str]]:
    """(line number, image file, caption) of ``<image_id>#<k>\\t<caption>`` lines; lines shorter than 3
    characters are skipped (official rule)."""
    for number, line in read_lines(path):
        if len(line) < 3:
            continue
        head, tab, caption = line.partition("\t")
        image_id, hash_sign, _ = head.partition("#")
        if not tab or not hash_sign or not image_id:
            raise DataFormatError(path, "expected '<image_id>#<k><TAB><caption>'", number)
        if not _plain_name(image_id):
            raise DataFormatError(path, f"image id {image_id!r} is not a plain file name (no folders, no '..')", number)
        yield number, f"{image_id}.jpg", caption


def read_flickr30k_cna(path: Path, image_dir: Path, *, task: str, split: str, sha256: str) -> RetrievalData:
    """Flickr30k-CNA captions (:func:`flickr30k_cna_lines`)."""
    images = _ImageIndex(path, image_dir)
    texts: list[str] = []
    gold: list[tuple[int, int]] = []
    for number, image_file, caption in flickr30k_cna_lines(path):
        image = images.add(image_file, number)
        gold.append((len(texts), image))
        texts.append(caption)
    _check_non_empty(path, len(texts))
    return RetrievalData(
        task=task,
        split=split,
        annotation_sha256=sha256,
        images=images.items,
        image_ids=np.arange(len(images.items), dtype=np.int64),
        texts=texts,
        text_ids=np.arange(len(texts), dtype=np.int64),
        gold=np.asarray(gold, dtype=np.int64),
        source=str(path),
    )
