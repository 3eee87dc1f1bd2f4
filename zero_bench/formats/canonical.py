"""The one canonical form every reader produces, whatever the on-disk format.

Internal indices are positions (0..n-1); ``*_ids`` keep the ids used in prediction files.  For the official
formats the ids follow the official evaluation: text id = 0-based line number of the annotation file, image id =
0-based order of each image's first appearance.  For the Chinese-CLIP format they are the ids in the files.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class ImageItem:
    """An image: a whole file (``path``), or a base64 field of ``length`` bytes at ``offset`` in ``path``
    (a Chinese-CLIP image TSV, read lazily so a large gallery is not held in memory)."""

    key: str
    path: Path
    offset: int | None = None
    length: int | None = None

    def read_bytes(self) -> bytes:
        if self.offset is None:
            return self.path.read_bytes()
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            return base64.b64decode(handle.read(self.length))

    def open(self) -> Image.Image:
        """Decode as RGB (truncated files load as far as they go, as the official matching loader does)."""
        from PIL import ImageFile

        ImageFile.LOAD_TRUNCATED_IMAGES = True
        with Image.open(io.BytesIO(self.read_bytes())) as img:
            return img.convert("RGB")


@dataclass
class RetrievalData:
    task: str
    split: str
    annotation_sha256: str
    images: list[ImageItem]
    image_ids: np.ndarray  # [n_images] int64, ids used in predictions
    texts: list[str]
    text_ids: np.ndarray  # [n_texts] int64
    gold: np.ndarray  # [n_gold, 2] int64 rows (text index, image index)
    source: str = ""  # annotation path, for messages

    @property
    def num_images(self) -> int:
        return len(self.images)

    @property
    def num_texts(self) -> int:
        return len(self.texts)

    def text_to_image(self) -> np.ndarray:
        """Gold image index of each text (every official format has exactly one)."""
        out = np.full(self.num_texts, -1, dtype=np.int64)
        out[self.gold[:, 0]] = self.gold[:, 1]
        return out


@dataclass
class MatchingData:
    task: str
    split: str
    annotation_sha256: str
    images: list[ImageItem]
    image_ids: np.ndarray  # [n_images]
    texts: list[str]  # one per pair
    pair_image: np.ndarray  # [n_pairs] image index of each pair
    labels: np.ndarray  # [n_pairs] int64 0/1
    pair_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # line numbers
    source: str = ""

    @property
    def num_pairs(self) -> int:
        return len(self.texts)


@dataclass
class ClassificationData:
    """One split of an image-classification set: ``labels[i]`` is the class id of ``images[i]``; image ids are
    positions (the read order, or the order of the set's index.json)."""

    task: str
    split: str
    annotation_sha256: str
    images: list[ImageItem]
    labels: np.ndarray  # [n_images] int64 class ids
    image_ids: np.ndarray  # [n_images] int64
    class_names: list[str] | None  # the layout's class-name file, None where the layout has none (ImageNet)
    class_folders: list[str]  # folder name of each class id
    source: str = ""  # the split folder, for messages

    @property
    def num_images(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_folders)
