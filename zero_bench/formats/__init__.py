"""Readers for every on-disk format, behind one entry point: :func:`load_split`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from zero_bench.errors import DataFormatError, ZeroBenchError
from zero_bench.formats.canonical import ClassificationData, ImageItem, MatchingData, RetrievalData
from zero_bench.formats.cn_clip import read_cn_clip
from zero_bench.formats.elevater import read_classification_folder
from zero_bench.formats.hf_parquet import parquet_texts, read_hf_parquet, shard_files
from zero_bench.formats.jsonl import read_json_lines
from zero_bench.formats.official import (
    flickr30k_cna_lines,
    json_records,
    read_flickr30k_cna,
    read_itm_jsonl,
    read_itr_jsonl,
)
from zero_bench.paths import data_root
from zero_bench.taskspec import CLASSIFICATION_FORMATS, TaskSpec

SplitData = RetrievalData | MatchingData | ClassificationData

__all__ = [
    "Annotation",
    "ClassificationData",
    "ImageItem",
    "MatchingData",
    "RetrievalData",
    "SplitData",
    "annotation_checksum",
    "iter_annotations",
    "load_split",
    "task_data_dir",
]


class Annotation(NamedTuple):
    """One annotation line: its number, its text and the image file it names (None in the Chinese-CLIP layout,
    whose texts name images by id)."""

    line: int
    text: str
    image: str | None


def iter_annotations(spec: TaskSpec, path: Path) -> Iterator[Annotation]:
    """The texts and image references of an annotation file of ``spec``'s format, parsed by the same rules as
    :func:`load_split` (one-line errors naming file and line) but without opening any image."""
    if spec.format == "flickr30k-cna-txt":
        for number, image, caption in flickr30k_cna_lines(path):
            yield Annotation(number, caption, image)
    elif spec.format == "cn-clip":
        for number, record in read_json_lines(path, ("text",)):
            yield Annotation(number, str(record["text"]), None)
    elif spec.format == "hf-parquet-retrieval":  # ``path``: the split's folder of shards; numbers count the rows
        assert spec.parquet is not None
        for number, (_, _, _, captions) in enumerate(parquet_texts(path, spec.parquet.text, spec.parquet.id), 1):
            for caption in captions:
                yield Annotation(number, caption, None)
    else:
        for number, record in json_records(path, ("text", "image_path")):
            yield Annotation(number, record["text"], Path(record["image_path"]).name)


def task_data_dir(spec: TaskSpec, data_dir: str | Path | None = None) -> Path:
    """The folder in the official layout: ``--data-dir`` if given, else ``<data root>/<spec.data_folder>``."""
    folder = Path(data_dir).expanduser() if data_dir is not None else data_root() / spec.data_folder
    if not folder.is_dir():
        raise ZeroBenchError(
            f"data folder {folder} for task {spec.name} does not exist; run 'zero-bench download {spec.dataset}' "
            "or pass --data-dir"
        )
    return folder


def annotation_checksum(spec: TaskSpec, folder: Path, split: str) -> str:
    """sha256 of the split's annotation file; for the Chinese-CLIP layout, of the texts and images files together; for
    a Hub parquet split, of its shards' digests (name order) joined, as for the Chinese-CLIP pair.

    Every file must still have the checksum pinned for it in the lock file of any folder above it.
    """
    from zero_bench.data.lock import check_pins

    split_spec = spec.splits[split]
    if spec.format == "hf-parquet-retrieval":  # the shards of the split's folder, in name order
        digests = [check_pins(shard) for shard in shard_files(folder / split_spec.annotation)]
        return hashlib.sha256(":".join(digests).encode()).hexdigest()
    digests = [check_pins(folder / rel) for rel in filter(None, (split_spec.annotation, split_spec.images))]
    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256(":".join(digests).encode()).hexdigest()


def load_split(spec: TaskSpec, data_dir: str | Path | None = None, split: str | None = None) -> SplitData:
    """Read one split of a task into the canonical form, validating every line and image reference."""
    split, split_spec = spec.split(split)
    folder = task_data_dir(spec, data_dir)
    if spec.format in CLASSIFICATION_FORMATS:
        return _load_classification(spec, folder, split)
    annotation = folder / split_spec.annotation
    if spec.format == "hf-parquet-retrieval":
        assert spec.parquet is not None
        columns = (spec.parquet.image, spec.parquet.text, spec.parquet.id)
        checksum = annotation_checksum(spec, folder, split)
        return read_hf_parquet(annotation, columns, task=spec.name, split=split, sha256=checksum)
    if not annotation.is_file():
        raise DataFormatError(annotation, f"annotation file for {spec.name}/{split} not found")
    if split_spec.images is not None and not (folder / split_spec.images).is_file():
        raise DataFormatError(folder / split_spec.images, f"image TSV for {spec.name}/{split} not found")
    checksum = annotation_checksum(spec, folder, split)
    common = {"task": spec.name, "split": split, "sha256": checksum}
    if spec.format == "cn-clip":
        assert split_spec.images is not None
        return read_cn_clip(annotation, folder / split_spec.images, **common)
    assert spec.image_dir is not None
    image_dir = folder / spec.image_dir
    if spec.format == "zero-itr-jsonl":
        return read_itr_jsonl(annotation, image_dir, **common)
    if spec.format == "zero-itm-jsonl":
        return read_itm_jsonl(annotation, image_dir, **common)
    if spec.format == "flickr30k-cna-txt":
        return read_flickr30k_cna(annotation, image_dir, **common)
    raise ZeroBenchError(f"task {spec.name}: no reader for format {spec.format!r}")


def _load_classification(spec: TaskSpec, folder: Path, split: str) -> ClassificationData:
    assert spec.labels is not None  # TaskSpec requires it for a classification format
    labels = folder / spec.labels
    if not labels.is_file():
        if spec.labels_required:
            raise DataFormatError(labels, f"class-name file for {spec.name} not found")
        labels_or_none = None
    else:
        labels_or_none = labels
    split_dir = folder / spec.splits[split].annotation
    return read_classification_folder(
        folder, split_dir, labels_or_none, layout=spec.format, task=spec.name, split=split
    )
