"""Per-item encoder states (token states for a cross encoder) kept on disk in chunks and read back by rows.

The evaluator never holds a split's states in memory: each chunk of encoder output is written through the
embedding cache's chunk files (or a temporary folder when caching is off) as soon as it is complete, floating
states in half precision, and re-ranking reads back the rows it needs.  Chunks are opened memory-mapped, so a
row read pages in only that row; the process's own memory is set by the rows requested at once.

Under torchrun every rank writes the chunks it encoded; image chunks stay with their rank (it scores the pairs
of its own images), text chunks are broadcast so that every rank can read any text.
"""

from __future__ import annotations

import torch
import torch.distributed as dist

from zero_bench.evaluation.cache import ChunkCache
from zero_bench.evaluation.distributed import rank_and_world, shard
from zero_bench.models.protocol import Encoded

STATE_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def state_dtype(precision: str) -> torch.dtype:
    """Half precision for kept states: bf16 in a bf16 run (its range), else fp16 (its precision)."""
    return torch.bfloat16 if precision == "bf16" else torch.float16


def chunk_starts(n_items: int, chunk_size: int) -> list[int]:
    return list(range(0, n_items, chunk_size))


def owned_starts(n_items: int, chunk_size: int, rank: int, world: int) -> list[int]:
    """The chunks ``rank`` encodes: a contiguous share of the split's chunks."""
    starts = chunk_starts(n_items, chunk_size)
    return [starts[c] for c in shard(len(starts), rank, world)]


def compact(encoded: Encoded, dtype: torch.dtype) -> Encoded:
    """Own storage for every tensor (a saved view would carry its whole base) and floating states in ``dtype``."""
    states = {
        k: v.to(dtype=dtype if v.is_floating_point() else v.dtype, device="cpu", copy=True)
        for k, v in encoded.states.items()
    }
    return Encoded(encoded.embeddings.to(device="cpu", copy=True), states)


def upcast_states(states: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.float() if v.is_floating_point() else v for k, v in states.items()}


class StateStore:
    """Chunks of ``chunk_size`` items (the last may be shorter) in a :class:`ChunkCache`; rows read on demand."""

    def __init__(self, cache: ChunkCache, n_items: int, chunk_size: int) -> None:
        self.cache, self.n_items, self.chunk_size = cache, n_items, chunk_size
        self._open: dict[int, dict[str, torch.Tensor]] = {}

    def chunk_length(self, start: int) -> int:
        return min(self.chunk_size, self.n_items - start)

    def _chunk(self, start: int) -> dict[str, torch.Tensor]:
        if start not in self._open:
            hit = self.cache.load(start, mmap=True)
            if hit is None or hit.embeddings.shape[0] != self.chunk_length(start):
                raise RuntimeError(f"encoder states of items {start}.. missing from {self.cache.folder}")
            self._open[start] = hit.states
        return self._open[start]

    def rows(self, index: torch.Tensor, device: torch.device, upcast: bool = True) -> dict[str, torch.Tensor]:
        """The states of items ``index`` (any order, repeats allowed), on ``device``.  ``upcast``: floating states
        in float32 (what plugins are handed in an fp32 run; autocast narrows them again in a half-precision run),
        else as stored."""
        index = index.cpu()
        chunk_of = torch.div(index, self.chunk_size, rounding_mode="floor")
        first = self._chunk(int(chunk_of[0]) * self.chunk_size) if index.numel() else self._chunk(0)
        out = {k: torch.empty((index.numel(), *v.shape[1:]), dtype=v.dtype) for k, v in first.items()}
        for c in torch.unique(chunk_of).tolist():
            where = torch.nonzero(chunk_of == c).squeeze(1)
            states = self._chunk(c * self.chunk_size)
            local = index[where] - c * self.chunk_size
            for k, v in states.items():
                out[k][where] = v[local]
        moved = {k: v.to(device, non_blocking=True) for k, v in out.items()}
        return upcast_states(moved) if upcast else moved

    def close(self) -> None:
        """Unmap every chunk (the files stay)."""
        self._open.clear()

    def put(self, start: int, encoded: Encoded) -> None:
        self.cache.save(start, encoded)

    def share_all(self) -> None:
        """Under torchrun: every chunk this rank lacks is sent by the rank that encoded it (one at a time)."""
        rank, world = rank_and_world()
        if world == 1:
            return
        for owner in range(world):
            for start in owned_starts(self.n_items, self.chunk_size, owner, world):
                payload: list[object] = [None]
                if rank == owner:
                    hit = self.cache.load(start)
                    assert hit is not None, "a rank's own chunk is always written before sharing"
                    payload = [{"embeddings": hit.embeddings, "states": hit.states}]
                dist.broadcast_object_list(payload, src=owner)
                if rank != owner and self.cache.load(start, mmap=True) is None:
                    got = payload[0]
                    assert isinstance(got, dict)
                    self.put(start, Encoded(got["embeddings"], got["states"]))
