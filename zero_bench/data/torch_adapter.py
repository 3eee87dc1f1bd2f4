"""A torch ``IterableDataset`` over a corpus: decoded, transformed samples, sharded by rank and by worker.

Every (rank, worker) pair reads a disjoint, interleaved slice of one epoch's (seeded, shuffled) order, so a
multi-GPU job with several DataLoader workers reads each sample exactly once per epoch.  Call ``set_epoch(e)``
before each epoch (as with ``DistributedSampler``) to get a different shuffle; every rank must use the same seed.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import IterableDataset, get_worker_info

from zero_bench.evaluation.distributed import rank_and_world

TEXT_FIELDS = ("key", "title", "content", "query", "keywords", "url", "image_url")


class CorpusIterable(IterableDataset):
    """Yields ``transform(sample)`` where ``sample`` is a dict: ``image`` (RGB PIL image) + the text fields,
    ``width``, ``height``, ``index`` (row in the corpus).

    Args:
        corpus: a ``datasets.Dataset`` (``load_corpus(...)``), a registry name or a corpus folder.
        transform: ``callable(sample_dict) -> anything`` applied in the worker (default: the dict itself).
        shuffle / seed: seeded per-epoch shuffle of the row order (same on every rank).
        rank / world_size: explicit sharding; default ``torch.distributed`` if initialised, else (0, 1).
        drop_last: make every (rank, worker) share the same number of samples (drops at most one per shard).
        decode: False leaves ``image`` as the stored JPEG bytes.
        columns: text columns to include (default all).
    """

    def __init__(
        self,
        corpus: Any,
        transform: Callable[[dict], Any] | None = None,
        *,
        shuffle: bool = True,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        drop_last: bool = False,
        decode: bool = True,
        columns: tuple[str, ...] = TEXT_FIELDS,
        root: str | Path | None = None,
        batch_rows: int = 256,
    ) -> None:
        super().__init__()
        if isinstance(corpus, (str, Path)):
            from zero_bench.data.corpus import load_corpus

            corpus = load_corpus(corpus, root=root)
        self.dataset = corpus
        self.transform = transform
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self._rank, self._world = rank, world_size
        self.drop_last = drop_last
        self.decode = decode
        self.columns = tuple(c for c in columns if c in corpus.column_names)
        self.batch_rows = batch_rows

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def rank_world(self) -> tuple[int, int]:
        if self._rank is not None and self._world is not None:
            return self._rank, self._world
        rank, world = rank_and_world()
        return (self._rank if self._rank is not None else rank), (self._world if self._world is not None else world)

    def indices(self, rank: int, world: int, worker: int, workers: int) -> np.ndarray:
        n = len(self.dataset)
        order = (
            np.random.default_rng([self.seed, self.epoch]).permutation(n)
            if self.shuffle
            else np.arange(n, dtype=np.int64)
        )
        shards = world * workers
        shard = rank * workers + worker
        if self.drop_last:
            order = order[: n - n % shards]
        return order[shard::shards]

    def __len__(self) -> int:  # samples this rank yields per epoch (over all its workers)
        rank, world = self.rank_world()
        n = len(self.dataset)
        return n // world if self.drop_last else len(range(rank, n, world))

    def __iter__(self) -> Iterator[Any]:
        rank, world = self.rank_world()
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        idx = self.indices(rank, world, worker, workers)
        table = self.dataset.with_format("arrow")
        for start in range(0, len(idx), self.batch_rows):
            chunk = idx[start : start + self.batch_rows]
            batch = table[chunk.tolist()] if len(chunk) else None
            if batch is None:
                continue
            images = batch.column("image").to_pylist()
            cols = {
                c: batch.column(c).to_pylist() for c in self.columns + ("width", "height") if c in batch.column_names
            }
            for j, row in enumerate(chunk.tolist()):
                data = images[j]["bytes"]
                image: Any = decode_rgb(data) if self.decode else data
                sample = {"index": int(row), "image": image} | {c: v[j] for c, v in cols.items()}
                yield self.transform(sample) if self.transform is not None else sample


def decode_rgb(data: bytes) -> Any:
    """A corpus row's stored image bytes as an RGB PIL image (what ``CorpusIterable`` yields as ``image``)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return im.convert("RGB")
