"""Reader for the Chinese-CLIP layout used by MUGE, Flickr30k-CN, COCO-CN and AIC-ICC.

Texts: JSON Lines ``{"text_id": int, "text": str, "image_ids": [int, ...]}``.  Images: TSV
``image_id<TAB>base64(image)``; the gallery is every image in the TSV.  Ids are those in the files.  The base64
may use either alphabet: Chinese-CLIP's own loader decodes with ``urlsafe_b64decode``, so files written with the
URL-safe one (``-``, ``_``) exist in the wild.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zero_bench.errors import DataFormatError
from zero_bench.formats.canonical import ImageItem, RetrievalData
from zero_bench.formats.jsonl import read_json_lines

# Both alphabets (standard ``+/`` and URL-safe ``-_``) and the padding.
_BASE64 = re.compile(rb"[A-Za-z0-9+/_-]*={0,2}")


@dataclass(frozen=True)
class TsvImage(ImageItem):
    """An image field of a Chinese-CLIP TSV, decoded like their loader: either base64 alphabet."""

    def read_bytes(self) -> bytes:
        assert self.offset is not None
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            return base64.urlsafe_b64decode(handle.read(self.length))


def read_image_tsv(path: Path) -> tuple[list[ImageItem], dict[int, int]]:
    """Index the TSV without holding the images: (items, image id -> position)."""
    if not path.is_file():
        raise DataFormatError(path, "image TSV not found")
    items: list[ImageItem] = []
    positions: dict[int, int] = {}
    offset = 0
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            line_len = len(raw)
            line = raw.rstrip(b"\r\n")
            if line:
                head, tab, data = line.partition(b"\t")
                if not tab or not data:
                    raise DataFormatError(path, "expected '<image_id><TAB><base64 image>'", number)
                try:
                    image_id = int(head)
                except ValueError:
                    raise DataFormatError(path, f"image id {head[:40]!r} is not an integer", number) from None
                if image_id in positions:
                    raise DataFormatError(path, f"duplicate image id {image_id}", number)
                if not _BASE64.fullmatch(data[:64]):
                    raise DataFormatError(path, "image field is not base64", number)
                positions[image_id] = len(items)
                items.append(TsvImage(key=str(image_id), path=path, offset=offset + len(head) + 1, length=len(data)))
            offset += line_len
    if not items:
        raise DataFormatError(path, "empty split: no images")
    return items, positions


def read_cn_clip(texts_path: Path, images_path: Path, *, task: str, split: str, sha256: str) -> RetrievalData:
    images, positions = read_image_tsv(images_path)
    texts: list[str] = []
    text_ids: list[int] = []
    seen: set[int] = set()
    gold: list[tuple[int, int]] = []
    for number, record in read_json_lines(texts_path, ("text_id", "text", "image_ids")):
        text_id, image_ids = record["text_id"], record["image_ids"]
        if not isinstance(text_id, int) or isinstance(text_id, bool) or not -(2**63) <= text_id < 2**63:
            raise DataFormatError(texts_path, "text_id must be a 64-bit integer", number)
        if text_id in seen:
            raise DataFormatError(texts_path, f"duplicate text_id {text_id}", number)
        if not isinstance(record["text"], str):
            raise DataFormatError(texts_path, "field 'text' must be a string", number)
        if not isinstance(image_ids, list) or not image_ids:
            raise DataFormatError(
                texts_path, "image_ids must be a non-empty list (this split has no gold labels?)", number
            )
        for image_id in image_ids:
            if not isinstance(image_id, int) or isinstance(image_id, bool) or image_id not in positions:
                raise DataFormatError(texts_path, f"image id {image_id!r} is not in {images_path.name}", number)
            gold.append((len(texts), positions[image_id]))
        seen.add(text_id)
        text_ids.append(text_id)
        texts.append(record["text"])
    if not texts:
        raise DataFormatError(texts_path, "empty split: no samples")
    return RetrievalData(
        task=task,
        split=split,
        annotation_sha256=sha256,
        images=images,
        image_ids=np.asarray([int(item.key) for item in images], dtype=np.int64),
        texts=texts,
        text_ids=np.asarray(text_ids, dtype=np.int64),
        gold=np.asarray(gold, dtype=np.int64),
        source=str(texts_path),
    )
