"""Per-item encoder states (token states for a cross encoder) kept on disk in chunks and read back by rows.

The evaluator never holds a split's states in memory: each chunk of encoder output is written through the
embedding cache's chunk files (or a temporary folder when caching is off) as soon as it is complete, floating
states in half precision, and re-ranking reads back the rows it needs.  Chunks are opened memory-mapped, so a
row read pages in only that row, and each read copies its rows out and hands the mapped pages back to the page
cache (``madvise(MADV_DONTNEED)`` on Linux; elsewhere they stay mapped until the system reclaims them), and the
heap's free pages are given back whenever an encoding or re-ranking loop has grown past its steady state by
``HEAP_SLACK_BYTES`` (glibc's ``malloc_trim``, see :class:`HeapTrim`), so the process's memory, resident file pages
included, is set by the rows requested at once, not by the split.

Under torchrun every rank writes the chunks it encoded; image chunks stay with their rank (it scores the pairs
of its own images), text chunks are broadcast so that every rank can read any text.
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from collections.abc import Callable, Iterable

import torch
import torch.distributed as dist

from zero_bench.evaluation.cache import ChunkCache
from zero_bench.evaluation.distributed import rank_and_world, shard
from zero_bench.models.protocol import Encoded

STATE_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# Batches to a chunk where states are kept: a chunk is held whole while it is encoded and written (256 images at
# batch 64: 77 MB of ViT-B-width states in half precision; the embeddings alone use chunks of 16 batches).
STATE_CHUNK_BATCHES = 4


def state_dtype(precision: str) -> torch.dtype:
    """Half precision for kept states: bf16 in a bf16 run (its range), else fp16 (its precision)."""
    return torch.bfloat16 if precision == "bf16" else torch.float16


def chunk_starts(n_items: int, chunk_size: int) -> list[int]:
    return list(range(0, n_items, chunk_size))


def owned_starts(n_items: int, chunk_size: int, rank: int, world: int) -> list[int]:
    """The chunks ``rank`` encodes: a contiguous share of the split's chunks."""
    starts = chunk_starts(n_items, chunk_size)
    return [starts[c] for c in shard(len(starts), rank, world)]


def _owned(value: torch.Tensor, dtype: torch.dtype, copy: bool) -> torch.Tensor:
    target = dtype if value.is_floating_point() else value.dtype
    whole = value.is_contiguous() and value.untyped_storage().nbytes() == value.numel() * value.element_size()
    if not copy and whole and value.device.type == "cpu" and value.dtype == target:
        return value
    return value.to(dtype=target, device="cpu", copy=True)


def compact(encoded: Encoded, dtype: torch.dtype, copy: bool = True) -> Encoded:
    """Own storage for every tensor (a saved view would carry its whole base) and floating states in ``dtype``.
    ``copy=False``: a tensor that already is the whole of its storage, on the CPU, in its dtype, is kept as is
    (no second copy of a chunk)."""
    states = {k: _owned(v, dtype, copy) for k, v in encoded.states.items()}
    return Encoded(_owned(encoded.embeddings, encoded.embeddings.dtype, copy), states)


def upcast_states(states: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v.float() if v.is_floating_point() else v for k, v in states.items()}


_MADV_DONTNEED = 4  # Linux: drop the range's pages from this process (a clean file page is read again if touched)


def _libc(name: str, argtypes: list[type]) -> Callable[..., int] | None:
    """A function of the C library (Linux only: madvise's flag and malloc_trim are glibc's); None elsewhere."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        call = getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):  # not glibc (malloc_trim) or no such symbol
        return None
    call.argtypes, call.restype = argtypes, ctypes.c_int
    return call


_MADVISE = _libc("madvise", [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int])
_MALLOC_TRIM = _libc("malloc_trim", [ctypes.c_size_t])


def release_free_heap() -> None:
    """Give the heap's free pages back to the system (glibc ``malloc_trim``).  glibc raises its mmap threshold as
    large blocks are freed, so batch-sized tensors end up on the heap, and the space they leave, pinned by the small
    allocations that outlive them, would otherwise stay resident and grow with every chunk and batch."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def anonymous_resident_bytes() -> int | None:
    """This process's resident memory not backed by a file (``/proc/self/statm``: resident - shared); None where
    there is no such file."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            fields = statm.read().split()
    except OSError:
        return None
    return (int(fields[1]) - int(fields[2])) * mmap.PAGESIZE


# Growth of anonymous memory over a loop's steady state that makes HeapTrim give the free heap back.
HEAP_SLACK_BYTES = 64 << 20


class HeapTrim:
    """``release_free_heap`` for a loop over batches, run only when the loop's memory has grown.

    Trimming after every batch kept memory flat but hands back the pages the next batch's activations reuse, so
    each batch faulted them in again: 17,000-20,000 page faults and about 10% more CPU time over 512 images of a
    small ViT (hf / open_clip adapters, one core).  Here the first call after a trim only records the anonymous
    resident memory (the loop's working set); later calls trim when it is ``slack`` bytes above that, so memory
    stays within ``slack`` of the steady state and a loop that does not grow never trims."""

    def __init__(self, slack: int = HEAP_SLACK_BYTES) -> None:
        self.slack = slack
        self.baseline: int | None = None

    def __call__(self) -> None:
        resident = anonymous_resident_bytes()
        if resident is None:  # no /proc: trim every time, as before
            release_free_heap()
        elif self.baseline is None:
            self.baseline = resident
        elif resident > self.baseline + self.slack:
            release_free_heap()
            self.baseline = None  # the next batch faults its working set in again: measure it then


def drop_mapped_pages(tensors: Iterable[torch.Tensor]) -> None:
    """Hand the resident pages of memory-mapped, never written tensors back to the page cache (Linux; elsewhere
    they stay mapped, and the system reclaims them under pressure).  Only for tensors of a file mapping: heap
    memory would be zeroed."""
    if _MADVISE is None:
        return
    page = mmap.PAGESIZE
    for tensor in tensors:
        storage = tensor.untyped_storage()
        begin = storage.data_ptr() // page * page  # the mapping starts on a page: rounding stays inside it
        end = -(-(storage.data_ptr() + storage.nbytes()) // page) * page
        if end > begin:
            _MADVISE(begin, end - begin, _MADV_DONTNEED)  # a failure leaves the pages resident: nothing is lost


class StateStore:
    """Chunks of ``chunk_size`` items (the last may be shorter) in a :class:`ChunkCache`; rows read on demand.

    Each chunk is checked once (checksum, finite values: :meth:`ChunkCache.load`) and kept mapped; after that check
    and after every read its pages are handed back, so neither the heap nor the resident mapped pages grow with the
    split: what a read leaves in memory is its own copy of the rows."""

    def __init__(self, cache: ChunkCache, n_items: int, chunk_size: int) -> None:
        self.cache, self.n_items, self.chunk_size = cache, n_items, chunk_size
        self._open: dict[int, dict[str, torch.Tensor]] = {}

    def row_bytes(self, start: int = 0) -> int:
        """Bytes of one item's states as scored (floating states in float32), read from the chunk at ``start``
        (under torchrun a rank holds only the image chunks it encoded)."""
        if self.n_items == 0:
            return 0
        states = self._chunk(start).values()
        return sum(v[0].numel() * (4 if v.is_floating_point() else v.element_size()) for v in states)

    def chunk_length(self, start: int) -> int:
        return min(self.chunk_size, self.n_items - start)

    def _chunk(self, start: int) -> dict[str, torch.Tensor]:
        if start not in self._open:
            hit = self.cache.load(start, mmap=True)
            if hit is None or hit.embeddings.shape[0] != self.chunk_length(start):
                raise RuntimeError(f"encoder states of items {start}.. missing from {self.cache.folder}")
            self._open[start] = hit.states
            drop_mapped_pages(hit.states.values())  # the checks read every page
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
            drop_mapped_pages(states.values())  # copied out: the mapped pages go back to the page cache
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
