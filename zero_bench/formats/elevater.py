"""Readers for the image-classification layouts: ELEVATER-CN as Chinese-CLIP publishes it, and ImageNet's val/.

ELEVATER-CN (one folder per dataset)::

    <set>/label_cn.txt      line i = the Chinese name of class i
    <set>/label.txt         English names, for reference only (not read)
    <set>/index.json        optional: the test-image order of ELEVATER submissions
    <set>/test/<id>/...     one folder per class id: 0-9 when there are at most 10 classes, else 000-999

ImageNet: ``val/<wnid>/*`` with class i the i-th wnid in sorted order (what Chinese-CLIP's 000-999 folders hold).

Images are taken as torchvision's ``ImageFolder`` (which Chinese-CLIP's and CLIP_benchmark's scripts use) takes
them: files with an image extension, found by a sorted walk of each class folder, in file-name order; other files
are skipped as it skips them.  Image ids are positions in that order, or in ``index.json``'s order where present.
Every folder, label line and image header is checked before any model work.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from zero_bench.errors import DataFormatError
from zero_bench.formats.canonical import ClassificationData, ImageItem

# torchvision.datasets.folder.IMG_EXTENSIONS, so that the same files are read in the same order.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
_WNID = re.compile(r"^n\d{8}$")


def read_class_names(path: Path) -> list[str]:
    """One name per line (stripped, as Chinese-CLIP strips them); an empty line is an error.  Duplicate names are
    reported on stderr, not dropped: the class ids stay those of the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    except OSError as exc:
        raise DataFormatError(path, f"cannot read the class-name file: {exc.strerror}") from exc
    names = [line.strip() for line in text.splitlines()]
    for number, name in enumerate(names, 1):
        if not name:
            raise DataFormatError(path, "empty class name", number)
    if not names:
        raise DataFormatError(path, "no class names")
    lines: dict[str, list[int]] = defaultdict(list)
    for number, name in enumerate(names, 1):
        lines[name].append(number)
    for name, numbers in lines.items():
        if len(numbers) > 1:
            where = ", ".join(map(str, numbers))
            print(f"{path}: warning: class name {name!r} is on lines {where} (classes kept apart)", file=sys.stderr)
    return names


def _image_files(class_dir: Path) -> list[Path]:
    found: list[Path] = []
    for root, _dirs, files in sorted(os.walk(class_dir, followlinks=True)):
        found += [Path(root) / name for name in sorted(files) if name.lower().endswith(IMAGE_EXTENSIONS)]
    return found


def _check_image(path: Path) -> None:
    try:
        with Image.open(path) as image:
            image.size  # noqa: B018 - the header is parsed lazily; reading the size parses it
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise DataFormatError(path, f"unreadable image: {exc}") from exc


def _elevater_class_ids(split_dir: Path, n_classes: int, labels: Path) -> dict[int, Path]:
    """Class id -> folder, checking the naming rule (0-9 up to 10 classes, else three digits)."""
    width = 1 if n_classes <= 10 else 3
    folders: dict[int, Path] = {}
    for entry in sorted(split_dir.iterdir()):
        if not entry.is_dir():
            continue
        name = entry.name
        if not (name.isdigit() and len(name) == width):
            rule = "0-9 (at most 10 classes)" if width == 1 else "three digits, 000-999 (more than 10 classes)"
            raise DataFormatError(entry, f"class folder name {name!r} does not follow the id rule: {rule}")
        if int(name) >= n_classes:
            raise DataFormatError(entry, f"class id {int(name)} has no line in {labels.name} ({n_classes} lines)")
        folders[int(name)] = entry
    missing = [i for i in range(n_classes) if i not in folders]
    if missing:
        raise DataFormatError(
            labels, f"class {missing[0]} has a label line but no folder in {split_dir} ({len(missing)} missing)"
        )
    return folders


def _imagenet_class_ids(split_dir: Path) -> dict[int, Path]:
    folders = sorted(entry for entry in split_dir.iterdir() if entry.is_dir())
    for entry in folders:
        if not _WNID.match(entry.name):
            raise DataFormatError(entry, f"class folder {entry.name!r} is not a WordNet id (n + 8 digits)")
    if not folders:
        raise DataFormatError(split_dir, "no class folders (expected val/<wnid>/)")
    return dict(enumerate(folders))


def _index_order(path: Path, n_images: int) -> np.ndarray:
    """index.json: the position (in read order) of each image of the submission order; a permutation."""
    try:
        order = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(path, f"cannot read index.json: {exc}") from exc
    if not isinstance(order, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in order):
        raise DataFormatError(path, "index.json must be a JSON list of integers")
    if sorted(order) != list(range(n_images)):
        raise DataFormatError(path, f"index.json must list each of the {n_images} image positions exactly once")
    return np.asarray(order, dtype=np.int64)


def _checksum(parts: list[str], files: list[Path], root: Path) -> str:
    """sha256 over the label/index checksums and the listing (path, size) of every image: the split's identity
    (image bytes are not hashed, as for the other formats' image folders)."""
    digest = hashlib.sha256("\n".join(parts).encode())
    for path in files:
        digest.update(f"\n{path.relative_to(root).as_posix()}\t{path.stat().st_size}".encode())
    return digest.hexdigest()


def read_classification_folder(
    folder: Path,
    split_dir: Path,
    labels: Path | None,
    *,
    layout: str,
    task: str,
    split: str,
) -> ClassificationData:
    """Read and check one split of a classification set (``layout`` 'elevater-cn' or 'imagenet-val')."""
    from zero_bench.data.lock import check_pins

    if not split_dir.is_dir():
        raise DataFormatError(split_dir, f"split folder for {task}/{split} not found")
    names = read_class_names(labels) if labels is not None else None
    if layout == "elevater-cn":
        assert labels is not None and names is not None
        folders = _elevater_class_ids(split_dir, len(names), labels)
    else:
        folders = _imagenet_class_ids(split_dir)
        if names is not None and len(names) != len(folders):
            raise DataFormatError(labels or split_dir, f"{len(names)} class names for {len(folders)} class folders")
    files: list[Path] = []
    targets: list[int] = []
    for class_id in range(len(folders)):
        found = _image_files(folders[class_id])
        if not found:
            raise DataFormatError(folders[class_id], f"class {class_id} has no image")
        files += found
        targets += [class_id] * len(found)
    for path in files:
        _check_image(path)
    parts = [f"labels:{check_pins(labels) if labels is not None else '-'}"]
    index_file = split_dir.parent / "index.json" if layout == "elevater-cn" else None
    order = np.arange(len(files), dtype=np.int64)
    if index_file is not None and index_file.is_file() and split == "test":
        order = _index_order(index_file, len(files))
        parts.append(f"index:{check_pins(index_file)}")
    images = [ImageItem(key=path.relative_to(split_dir).as_posix(), path=path) for path in files]
    labels_array = np.asarray(targets, dtype=np.int64)
    return ClassificationData(
        task=task,
        split=split,
        annotation_sha256=_checksum(parts, files, folder),
        images=[images[p] for p in order.tolist()],
        labels=labels_array[order],
        image_ids=np.arange(len(files), dtype=np.int64),
        class_names=names,
        class_folders=[folders[i].name for i in range(len(folders))],
        source=str(split_dir),
    )
