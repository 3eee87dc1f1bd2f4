"""Encoding every image and text of a split once: batched, in chunks on disk, split across ranks.

Embeddings are gathered on every rank; states stay in the chunk files (see :mod:`zero_bench.evaluation.states`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from zero_bench.errors import ZeroBenchError
from zero_bench.evaluation.cache import ChunkCache
from zero_bench.evaluation.distributed import gather_rows, rank_and_world
from zero_bench.evaluation.states import HeapTrim, StateStore, compact, owned_starts, state_dtype
from zero_bench.formats.canonical import ImageItem
from zero_bench.models.protocol import Encoded, Model

AUTOCAST_DTYPES = {"fp32": None, "fp16": torch.float16, "bf16": torch.bfloat16}


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    dtype = AUTOCAST_DTYPES[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def progress_bar(enabled: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
        disable=not enabled,
        transient=False,
    )


# Images decoded before the group is transformed (see _ImageDataset.__getitems__).
DECODE_GROUP, DECODE_BYTES = 32, 64 << 20


class _ImageDataset(torch.utils.data.Dataset):
    def __init__(self, items: Sequence[ImageItem], positions: list[int], transform: Callable) -> None:
        self.items, self.positions, self.transform = items, positions, transform

    def __len__(self) -> int:
        return len(self.positions)

    def _decode(self, index: int) -> Any:
        item = self.items[self.positions[index]]
        try:
            return item.open()
        except Exception as exc:
            raise ZeroBenchError(f"{item.path}: cannot decode image {item.key!r}: {exc}") from exc

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(self._decode(index))

    def __getitems__(self, indices: list[int]) -> list[torch.Tensor]:
        """A batch (the DataLoader's fetcher calls this), in groups: every image of a group decoded first, then
        every one transformed, as a library's own loop does with a batch.  Alternating decode and transform image
        by image cost 10% more CPU (open_clip, zero-toy JPEGs, one core: 0.395 s vs 0.357 s for 512 images;
        groups of 4: 0.377 s, of 32: 0.365 s); a group also ends at 64 MB of decoded pixels (large photos)."""
        out: list[torch.Tensor] = []
        group: list[Any] = []
        held = 0
        for index in indices:
            image = self._decode(index)
            group.append(image)
            held += image.width * image.height * 3
            if len(group) == DECODE_GROUP or held >= DECODE_BYTES:
                out += [self.transform(image) for image in group]
                group, held = [], 0
        return out + [self.transform(image) for image in group]


def _concat(parts: list[Encoded]) -> Encoded:
    if not parts:
        raise ValueError("nothing encoded")
    return Encoded(
        embeddings=torch.cat([p.embeddings for p in parts]),
        states={key: torch.cat([p.states[key] for p in parts]) for key in parts[0].states},
    )


def _slice(encoded: Encoded, start: int, stop: int) -> Encoded:
    return Encoded(encoded.embeddings[start:stop], {k: v[start:stop] for k, v in encoded.states.items()})


def _detach(encoded: Encoded, keep_states: bool) -> Encoded:
    states = {k: v.detach() for k, v in encoded.states.items()} if keep_states else {}
    return Encoded(encoded.embeddings.detach().float(), states)


@dataclass
class EncodedSplit:
    """A split's embeddings (every rank holds all of them) and, for a cross encoder, its states on disk."""

    embeddings: torch.Tensor
    states: StateStore | None


def encode_split(
    kind: str,
    model: Model,
    items: Sequence,
    *,
    batch_size: int,
    num_workers: int,
    device: torch.device,
    precision: str,
    store: ChunkCache,
    cached: bool,
    keep_states: bool,
    chunk_size: int,
    show_progress: bool,
) -> EncodedSplit:
    """Encode ``items`` (ImageItems for kind 'images', strings for 'texts') chunk by chunk into ``store``.

    ``cached``: the store is the persistent cache, so finished chunks found there are reused.  Only the
    embeddings stay in memory; states (when ``keep_states``) are written in half precision and read back later.
    """
    rank, world = rank_and_world()
    if len(items) < world:
        raise ZeroBenchError(f"{len(items)} {kind} cannot be split across {world} processes: use fewer")
    chunk_size = min(chunk_size, -(-len(items) // world))  # every rank gets at least one chunk
    mine = owned_starts(len(items), chunk_size, rank, world)
    sizes = [
        sum(min(chunk_size, len(items) - s) for s in owned_starts(len(items), chunk_size, r, world))
        for r in range(world)
    ]
    done: dict[int, torch.Tensor] = {}
    if cached:
        for start in mine:
            hit = store.load(start, mmap=True)
            complete = hit is not None and hit.embeddings.shape[0] == min(chunk_size, len(items) - start)
            if hit is not None and complete and (hit.states or not keep_states):
                done[start] = hit.embeddings.clone()
    pending = [s for s in mine if s not in done]
    dtype = state_dtype(precision)
    with progress_bar(show_progress and rank == 0) as bar:
        total = sum(min(chunk_size, len(items) - s) for s in pending)
        task = bar.add_task(f"encoding {kind}", total=total, rate="")
        for start, encoded in _encode_chunks(
            kind, model, items, pending, chunk_size, batch_size, num_workers, device, precision, keep_states, bar, task
        ):
            encoded = compact(encoded, dtype, copy=False)  # a chunk cut from batches: its own storage, not a view
            if cached or keep_states:  # else nothing would read it back
                store.save(start, encoded)
            done[start] = encoded.embeddings
            del encoded  # its heap pages are reused by the next chunk, or given back by the batches' HeapTrim
    local = torch.cat([done[s] for s in mine]).to(device)
    embeddings = local if world == 1 else gather_rows(local, sizes)
    states = StateStore(store, len(items), chunk_size) if keep_states else None
    return EncodedSplit(embeddings, states)


def _encode_chunks(
    kind: str,
    model: Model,
    items: Sequence,
    starts: list[int],
    chunk_size: int,
    batch_size: int,
    num_workers: int,
    device: torch.device,
    precision: str,
    keep_states: bool,
    bar: Progress,
    task: TaskID,
) -> Iterator[tuple[int, Encoded]]:
    positions = [p for s in starts for p in range(s, min(s + chunk_size, len(items)))]
    if not positions:
        return
    if kind == "images":
        loader = torch.utils.data.DataLoader(
            _ImageDataset(items, positions, model.preprocess_image),
            batch_size=batch_size,
            num_workers=num_workers,
            pin_memory=device.type == "cuda",
            persistent_workers=False,
        )
        batches: Iterator[Any] = (batch.to(device, non_blocking=True) for batch in loader)
        encode: Callable[[Any], Encoded] = model.encode_images
    else:
        batches = ([items[p] for p in positions[i : i + batch_size]] for i in range(0, len(positions), batch_size))
        encode = model.encode_texts
    buffer: list[Encoded] = []
    buffered = 0
    chunk_index = 0
    began = time.perf_counter()
    finished = 0
    trim = HeapTrim()
    with torch.inference_mode():
        for batch in batches:
            with autocast(device, precision):
                out = encode(batch)
            out = compact(
                _detach(out, keep_states), state_dtype(precision)
            )  # to host memory, half precision, batch by batch
            trim()  # the batch's activations were freed on the heap: give their pages back if they pile up
            buffer.append(out)
            buffered += out.embeddings.shape[0]
            finished += out.embeddings.shape[0]
            rate = finished / max(time.perf_counter() - began, 1e-9)
            bar.update(task, advance=out.embeddings.shape[0], rate=f"{rate:.1f} {kind}/s")
            # Emit every completed chunk (chunk sizes are fixed except the split's last one).
            while chunk_index < len(starts):
                start = starts[chunk_index]
                need = min(chunk_size, len(items) - start)
                if buffered < need:
                    break
                merged = _concat(buffer)
                buffer.clear()  # copied into merged: one copy of the chunk is held, not two
                yield start, _slice(merged, 0, need)
                rest = _slice(merged, need, buffered)
                buffer, buffered = ([rest] if buffered > need else []), buffered - need
                chunk_index += 1
