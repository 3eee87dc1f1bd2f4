"""A learned image descriptor for the audit (optional): any model the toolkit loads embeds both sides.

The evaluation images and their horizontal mirrors are embedded once (L2-normalised image-encoder outputs) and
held as one matrix; the corpus then streams past in batches, each embedded and compared with the whole matrix by
a chunked matrix product (exact cosine, no approximate index: with a few hundred thousand evaluation vectors the
product costs a small fraction of the image encoder's forward pass).  A corpus row is a near copy of an
evaluation image when their cosine is at least the threshold; rows the classical scan already matched to that
image are left to it (:mod:`~zero_bench.contamination.descriptor_scan`), so the report counts each (evaluation
image, corpus row) once.  The threshold comes from :mod:`~zero_bench.contamination.calibrate`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import torch
from PIL import Image, ImageOps

from zero_bench.contamination.evalside import EvalIndex
from zero_bench.contamination.images import UNDECODABLE, decode
from zero_bench.contamination.shards import check_shard
from zero_bench.data.corpus import TEXT_COLUMNS
from zero_bench.errors import ZeroBenchError
from zero_bench.formats import ImageItem, load_split
from zero_bench.models.protocol import Model
from zero_bench.taskspec import get_task

BATCH = 64  # images per forward pass
CHUNK = 16_384  # evaluation vectors per matrix product (bounds the [batch, chunk] similarity block)


@dataclass
class Descriptor:
    """A loaded model used only for its image encoder."""

    name: str
    model: Model
    device: torch.device
    batch_size: int = BATCH

    @torch.no_grad()
    def embed(self, images: list[Image.Image]) -> torch.Tensor:
        """[n, d] L2-normalised embeddings, on the model's device."""
        parts = []
        for start in range(0, len(images), self.batch_size):
            pixels = torch.stack([self.model.preprocess_image(img) for img in images[start : start + self.batch_size]])
            features = self.model.encode_images(pixels.to(self.device)).embeddings.float()
            parts.append(torch.nn.functional.normalize(features, dim=-1))
        return torch.cat(parts)


def load_descriptor(name: str, device: str | None = None) -> Descriptor:
    """Any model the toolkit loads by name (zoo name, ``hf:...``, ``open_clip:...``, ``cn_clip:...``, plugin)."""
    from zero_bench.models.registry import create_model

    model = create_model(name)
    target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.to(target)
    if isinstance(model, torch.nn.Module):
        model.eval()
    return Descriptor(name, model, target)


@dataclass
class EvalSide:
    """Evaluation image ``g`` has vectors ``2g`` (as is) and ``2g + 1`` (mirrored)."""

    vectors: torch.Tensor  # [2 N, d]
    items: list[ImageItem]  # global image -> its file

    def images(self) -> int:
        return len(self.items)


def eval_items(index: EvalIndex, data_dir: str | Path | None) -> list[ImageItem]:
    """The files of the index's evaluation images, in global order."""
    items: list[ImageItem] = []
    for unit in index.units:
        data = load_split(get_task(unit.task), data_dir, unit.split)
        if [item.key for item in data.images] != unit.image_ids:
            raise ZeroBenchError(f"{unit.task} {unit.split}: its images changed during the audit")
        items += data.images
    return items


def embed_eval_side(descriptor: Descriptor, items: list[ImageItem]) -> EvalSide:
    parts = []
    for start in range(0, len(items), descriptor.batch_size):
        images = [item.open() for item in items[start : start + descriptor.batch_size]]
        both = descriptor.embed(images + [ImageOps.mirror(img) for img in images])
        parts.append(torch.stack([both[: len(images)], both[len(images) :]], dim=1).flatten(0, 1))
    if not parts:
        raise ZeroBenchError("the audited splits have no images for the descriptor to embed")
    return EvalSide(torch.cat(parts), items)


def near_images(queries: torch.Tensor, side: EvalSide, threshold: float) -> dict[int, dict[int, float]]:
    """{query row: {evaluation image: cosine}} for every cosine at least ``threshold`` (best of image and mirror)."""
    out: dict[int, dict[int, float]] = {}
    for start in range(0, len(side.vectors), CHUNK):
        sims = queries @ side.vectors[start : start + CHUNK].T
        rows, cols = torch.nonzero(sims >= threshold, as_tuple=True)
        for row, col, cosine in zip(rows.tolist(), cols.tolist(), sims[rows, cols].tolist(), strict=True):
            best = out.setdefault(row, {})
            g = (start + col) // 2
            best[g] = max(cosine, best.get(g, -2.0))
    return out


def best_cosines(queries: torch.Tensor, side: EvalSide) -> torch.Tensor:
    """[n]: each query's highest cosine to any evaluation vector."""
    best = torch.full((len(queries),), -2.0, device=queries.device)
    for start in range(0, len(side.vectors), CHUNK):
        best = torch.maximum(best, (queries @ side.vectors[start : start + CHUNK].T).max(dim=1).values)
    return best


def corpus_batches(shards: list[Path], rows: int, digests: list[str] | None = None) -> Iterator[pa.RecordBatch]:
    """The corpus (``key``, ``image`` and text columns) in record batches of at most ``rows`` rows.  ``digests``:
    the sha256 each shard must have (the classical pass's, from which the report's fingerprint is made), checked on
    the bytes that are then read, so a shard changed between the two passes is one line and nothing reported."""
    for k, shard in enumerate(shards):
        with pa.memory_map(str(shard)) as source:
            data = source.read_buffer()
            if digests is not None:
                check_shard(shard, hashlib.sha256(data).hexdigest(), digests[k])
            with pa.ipc.open_stream(data) as reader:
                columns = [c for c in ("key", "image", *TEXT_COLUMNS) if c in reader.schema.names]
                for batch in reader:
                    for start in range(0, batch.num_rows, rows):
                        yield batch.select(columns).slice(start, rows)


def decoded_rows(batch: pa.RecordBatch) -> list[tuple[int, Image.Image]]:
    """(row, image) of the decodable images (the classical scan counts the others)."""
    column = batch.column("image")
    data = (column.field("bytes") if pa.types.is_struct(column.type) else column).to_pylist()
    out = []
    for row, raw in enumerate(data):
        if not raw:
            continue
        try:
            out.append((row, decode(raw)))
        except UNDECODABLE:  # as the classical scan
            continue
    return out
