"""Reader for Hugging Face Hub parquet splits with the images inside (``hf-parquet-retrieval``).

The split is a folder of parquet shards (``<lang>-00000-of-00001.parquet`` ...), read in file-name order.  Each row
holds an image (a column of ``{bytes, path}`` structs, as ``datasets`` writes an Image feature, or plain binary), the
image's id on the Hub (a string or an integer) and its caption(s) (a string, or a list of strings: one text each).
The column names come from the task definition (``parquet:``).

Ids, as in the official readers: image id = 0-based order of each Hub image id's first appearance (shards in name
order, rows in order; a later row with the same Hub id adds captions to that image); text id = 0-based order of the
caption (rows in order, then the captions of a row in list order).  Each text's gold image is its row's image.  The Hub
id is kept as the image's ``key``.  Images stay in the parquet files: a row group is decoded when one of its images is
read (the last few are cached, so reading in order decodes each once).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zero_bench.errors import DataFormatError
from zero_bench.formats.canonical import ImageItem, RetrievalData


@dataclass(frozen=True)
class ParquetImage(ImageItem):
    """Row ``length`` of row group ``offset`` of the parquet file ``path``, column ``column``."""

    column: str = "image"

    def read_bytes(self) -> bytes:
        assert self.offset is not None and self.length is not None
        stat = self.path.stat()
        values = _row_group_images(str(self.path), stat.st_mtime_ns, stat.st_size, self.offset, self.column)
        value = values[self.length]
        if value is None:
            raise DataFormatError(
                self.path, f"image {self.key!r} (row group {self.offset}, row {self.length}) is empty"
            )
        return value


@functools.lru_cache(maxsize=4)
def _row_group_images(path: str, mtime_ns: int, size: int, group: int, column: str) -> list[bytes | None]:
    """The image bytes of one row group (``mtime_ns`` / ``size`` key the cache to the file's current state)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    array = pq.ParquetFile(path).read_row_group(group, columns=[column]).column(0).combine_chunks()
    if pa.types.is_struct(array.type):
        array = array.field("bytes")
    return [None if v is None else bytes(v) for v in array.to_pylist()]


def shard_files(folder: Path) -> list[Path]:
    """The split's parquet shards, in name order."""
    if not folder.is_dir():
        raise DataFormatError(folder, "split folder of parquet shards not found")
    shards = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".parquet")
    if not shards:
        raise DataFormatError(folder, "no .parquet file in the split folder")
    return shards


def _check_columns(path: Path, schema, columns: tuple[str, str, str]) -> None:
    import pyarrow as pa

    image, text, _ = columns
    names = set(schema.names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise DataFormatError(path, f"missing column(s) {missing}; the file has {sorted(names)}")
    kind = schema.field(image).type
    if not (pa.types.is_struct(kind) and "bytes" in [f.name for f in kind]) and not pa.types.is_binary(kind):
        raise DataFormatError(path, f"column {image!r} is {kind}, not an image ({{bytes, path}} struct or binary)")
    kind = schema.field(text).type
    is_list = pa.types.is_list(kind) or pa.types.is_large_list(kind)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or is_list):
        raise DataFormatError(path, f"column {text!r} is {kind}, not a caption string or a list of them")


def parquet_texts(folder: Path, text: str, key: str) -> list[tuple[Path, int, object, list[str]]]:
    """(shard, row number, Hub image id, captions) of every row; a row without a caption is an error."""
    import pyarrow.parquet as pq

    rows: list[tuple[Path, int, object, list[str]]] = []
    for shard in shard_files(folder):
        try:
            table = pq.read_table(shard, columns=[text, key])
        except Exception as exc:  # pyarrow's errors for a damaged file are several types
            raise DataFormatError(shard, f"not a readable parquet file ({exc})".splitlines()[0]) from exc
        for row, (captions, image_id) in enumerate(
            zip(table.column(text).to_pylist(), table.column(key).to_pylist(), strict=True), start=1
        ):
            listed = captions if isinstance(captions, list) else [captions]
            if image_id is None:
                raise DataFormatError(shard, f"row {row}: column {key!r} is empty")
            if not listed or any(not isinstance(c, str) or not c.strip() for c in listed):
                raise DataFormatError(shard, f"row {row} (image {image_id}): an empty or missing caption")
            rows.append((shard, row, image_id, listed))
    return rows


def read_hf_parquet(
    folder: Path, columns: tuple[str, str, str], *, task: str, split: str, sha256: str
) -> RetrievalData:
    """Read one split folder; ``columns``: (image, text, Hub image id) column names."""
    import pyarrow.parquet as pq

    image_col, text_col, key_col = columns
    places: dict[tuple[Path, int], tuple[int, int]] = {}  # (shard, 1-based row) -> (row group, row in group)
    for shard in shard_files(folder):
        try:
            meta = pq.ParquetFile(shard)
        except Exception as exc:
            raise DataFormatError(shard, f"not a readable parquet file ({exc})".splitlines()[0]) from exc
        _check_columns(shard, meta.schema_arrow, columns)
        row = 1
        for group in range(meta.metadata.num_row_groups):
            for index in range(meta.metadata.row_group(group).num_rows):
                places[(shard, row)] = (group, index)
                row += 1
    images: list[ImageItem] = []
    positions: dict[object, int] = {}
    texts: list[str] = []
    gold: list[tuple[int, int]] = []
    for shard, row, image_id, captions in parquet_texts(folder, text_col, key_col):
        position = positions.get(image_id)
        if position is None:
            group, index = places[(shard, row)]
            position = positions[image_id] = len(images)
            images.append(ParquetImage(key=str(image_id), path=shard, offset=group, length=index, column=image_col))
        for caption in captions:
            gold.append((len(texts), position))
            texts.append(caption)
    if not texts:
        raise DataFormatError(folder, "empty split: no rows")
    return RetrievalData(
        task=task,
        split=split,
        annotation_sha256=sha256,
        images=images,
        image_ids=np.arange(len(images), dtype=np.int64),
        texts=texts,
        text_ids=np.arange(len(texts), dtype=np.int64),
        gold=np.asarray(gold, dtype=np.int64),
        source=str(folder),
    )
