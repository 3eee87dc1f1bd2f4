"""Training data: the pre-training corpus (through the data layer's torch adapter) and task train splits.

Both loaders are resumable at batch granularity and deterministic: the order of an epoch depends only on
(seed, epoch, rank, world size, workers), per-sample randomness (text field, whole-word masking) only on
(seed, epoch, sample index), and the DataLoader gets its own generator (it never draws from the global RNG).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from zero_bench.data.torch_adapter import decode_rgb
from zero_bench.errors import ZeroBenchError
from zero_bench_r2d2.preprocessing import R2D2ImageTransform
from zero_bench_r2d2.training.masking import whole_word_mask

if TYPE_CHECKING:
    from zero_bench_r2d2.tokenizer import R2D2Tokenizer

DEFAULT_TEXT_FIELDS = ("title", "content", "query")


def check_text_mix(text_mix: Mapping[str, float] | None) -> dict[str, float] | None:
    """A text mix ``{field: weight}`` (relative weights, at least one positive) or None for uniform over
    :data:`DEFAULT_TEXT_FIELDS`; raises on an unknown field or a negative / non-numeric weight."""
    if text_mix is None:
        return None
    if not isinstance(text_mix, Mapping) or not text_mix:
        raise ZeroBenchError(f"text_mix must map corpus text fields to weights, got {text_mix!r}")
    out: dict[str, float] = {}
    for field_name, weight in text_mix.items():
        if field_name not in DEFAULT_TEXT_FIELDS:
            raise ZeroBenchError(
                f"text_mix: unknown text field {field_name!r} (known: {', '.join(DEFAULT_TEXT_FIELDS)})"
            )
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
            raise ZeroBenchError(f"text_mix: weight of {field_name!r} must be a finite number >= 0, got {weight!r}")
        out[field_name] = float(weight)
    if not any(w > 0 for w in out.values()):
        raise ZeroBenchError("text_mix: every weight is 0")
    return out


PIXEL_CACHE_BYTES = 256 * 2**20


class PixelCache:
    """An image transform's outputs kept by key (an image's index) after their first use, up to ``limit_bytes`` in
    all; beyond that, images are transformed every time.  Training reads the same images every epoch and the
    transform has no randomness, so every epoch after the first needs neither the decode nor the transform.  A
    pickled copy (a DataLoader worker's) starts empty."""

    def __init__(self, transform: Callable[[Any], torch.Tensor], limit_bytes: int = PIXEL_CACHE_BYTES) -> None:
        self.transform = transform
        self.limit_bytes = int(limit_bytes)
        self.kept: dict[int, torch.Tensor] = {}
        self.kept_bytes = 0

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__ | {"kept": {}, "kept_bytes": 0}

    def get(self, key: int, load: Callable[[], Any]) -> torch.Tensor:
        """The transformed pixels of image ``key``: kept from an earlier use, or ``transform(load())`` (kept while
        they fit)."""
        pixels = self.kept.get(key)
        if pixels is None:
            pixels = self.transform(load())
            size = pixels.numel() * pixels.element_size()
            if self.kept_bytes + size <= self.limit_bytes:
                self.kept[key] = pixels
                self.kept_bytes += size
        return pixels


class TextImageTransform:
    """Picklable per-sample transform: pixels, tokens and (optionally) whole-word-masked tokens.

    ``text_mix`` weights the corpus text fields a sample's text is drawn from (None: uniform over the non-empty
    ones of :data:`DEFAULT_TEXT_FIELDS`); a field that is empty in a sample is left out and the rest renormalised.

    A sample's ``image`` may be the stored bytes (:attr:`decodes_images`: a corpus loader then leaves decoding to
    the transform) or a PIL image.  ``cache_bytes`` > 0 keeps each row's pixels after its first epoch
    (:class:`PixelCache`, keyed by the sample's ``index``: one transform per corpus)."""

    decodes_images = True

    def __init__(
        self,
        image_size: int,
        mask_rate: float = 0.0,
        seed: int = 0,
        text_mix: Mapping[str, float] | None = None,
        cache_bytes: int = 0,
    ) -> None:
        self.image = R2D2ImageTransform(image_size)
        self.pixels = PixelCache(self.image, cache_bytes)
        self.mask_rate = float(mask_rate)
        self.seed = int(seed)
        self.text_mix = check_text_mix(text_mix)
        self.text_fields = tuple(self.text_mix) if self.text_mix is not None else DEFAULT_TEXT_FIELDS
        self.epoch = 0
        self._tokenizer: R2D2Tokenizer | None = None

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            from zero_bench_r2d2.tokenizer import get_tokenizer

            self._tokenizer = get_tokenizer()
        return self._tokenizer

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_tokenizer"] = None
        return state

    def rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, int(index)])

    def encode_text(self, text: str, index: int) -> dict[str, Any]:
        """The text's tokens (and, with masking, its masked tokens and labels; drawn per ``index``)."""
        out: dict[str, Any] = {}
        if self.mask_rate > 0:
            enc = whole_word_mask(text, self.tokenizer, self.rng(index), rate=self.mask_rate)
            out.update(
                input_ids=enc["original_ids"],
                attention_mask=enc["attention_mask"],
                mlm_input_ids=enc["input_ids"],
                mlm_labels=enc["labels"],
            )
        else:
            enc = self.tokenizer([text])
            out.update(input_ids=enc["input_ids"][0], attention_mask=enc["attention_mask"][0])
        return out

    def __call__(self, sample: dict) -> dict[str, Any]:
        """A corpus sample (``zero_bench.data.torch_adapter``): one of the non-empty text fields, chosen per sample."""
        index, image = int(sample["index"]), sample["image"]
        pixels = self.pixels.get(index, lambda: decode_rgb(image) if isinstance(image, bytes) else image)
        return {"pixels": pixels, "image_ids": index} | self.encode_text(
            self.pick_text(sample, index), index + 1_000_000_007
        )

    def pick_text(self, sample: dict, index: int) -> str:
        present = [(f, t) for f in self.text_fields if isinstance(t := sample.get(f), str) and t.strip()]
        if self.text_mix is not None:
            present = [(f, t) for f, t in present if self.text_mix[f] > 0]
        if not present:
            return ""
        if len(present) == 1:
            return str(present[0][1])
        if self.text_mix is None:  # uniform: the draw every earlier run made
            return str(present[int(self.rng(index).integers(len(present)))][1])
        weights = np.array([self.text_mix[f] for f, _ in present])
        return str(present[int(self.rng(index).choice(len(present), p=weights / weights.sum()))][1])


def family_groups(keys: Any) -> list[np.ndarray]:
    """Row indices grouped by key (e.g. the corpus ``url``: the rows of one source page), in first-seen order."""
    first: dict[Any, int] = {}
    members: list[list[int]] = []
    for row, key in enumerate(keys):
        slot = first.setdefault(key, len(members))
        if slot == len(members):
            members.append([])
        members[slot].append(row)
    return [np.asarray(m, dtype=np.int64) for m in members]


def family_batches(groups: list[np.ndarray], batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch's batches of exactly ``batch_size`` rows, each holding whole groups (a group larger than a batch
    is cut into batch-sized pieces): the groups in a seeded random order, each put into the first open batch with
    room for it (first fit), the batches in the order they fill up; what is left in unfilled batches is packed
    once more (largest groups first) and a last incomplete batch dropped, as ``drop_last`` does.  Every row is in at
    most one batch."""
    pieces: list[np.ndarray] = []
    for k in rng.permutation(len(groups)):
        g = groups[int(k)]
        pieces += [g[i : i + batch_size] for i in range(0, len(g), batch_size)]
    done: list[np.ndarray] = []

    def pack(items: list[np.ndarray]) -> list[list[np.ndarray]]:
        open_: list[list[np.ndarray]] = []
        room: list[int] = []
        for item in items:
            slot = next((b for b, r in enumerate(room) if r >= len(item)), None)
            if slot is None:
                open_.append([])
                room.append(batch_size)
                slot = len(open_) - 1
            open_[slot].append(item)
            room[slot] -= len(item)
            if room[slot] == 0:
                done.append(np.concatenate(open_.pop(slot)))
                room.pop(slot)
        return open_

    rest = pack(pieces)
    pack(sorted((item for batch in rest for item in batch), key=len, reverse=True))
    return done


def _corpus_iterable_class():
    from zero_bench.data.torch_adapter import CorpusIterable

    class ResumableCorpus(CorpusIterable):
        """The adapter, able to start an epoch after ``skip`` batches of the same (rank, workers) layout.

        DataLoader takes batches from its workers round-robin, so after ``skip`` batches worker slot ``w`` of the
        new loader continues logical worker ``(w + skip) % workers``, which has already produced
        ``skip // workers (+1 if it came before skip % workers)`` batches."""

        batch_size = 1
        skip = 0
        groups: list[np.ndarray] | None = None  # family batching: row groups that share a batch

        def epoch_batches(self) -> list[np.ndarray]:
            assert self.groups is not None
            return family_batches(self.groups, self.batch_size, np.random.default_rng([self.seed, self.epoch]))

        def shard_order(self, rank: int, world: int, worker: int, workers: int) -> np.ndarray:
            if self.groups is None:
                return super().indices(rank, world, worker, workers)
            batches = self.epoch_batches()  # whole batches go round-robin to the (rank, worker) shards
            shards = world * workers
            per_shard = len(batches) // shards
            mine = batches[rank * workers + worker :: shards][:per_shard]
            return np.concatenate(mine) if mine else np.zeros(0, dtype=np.int64)

        def indices(self, rank: int, world: int, worker: int, workers: int) -> np.ndarray:
            logical = (worker + self.skip) % workers
            done = self.skip // workers + (1 if logical < self.skip % workers else 0)
            return self.shard_order(rank, world, logical, workers)[done * self.batch_size :]

    return ResumableCorpus


@dataclass
class CorpusLoader:
    """Pre-training batches from a corpus (registry name such as ``zero-toy`` / ``zero-23m``, or a folder).

    ``group_by``: a corpus column (``url``: the source page) whose rows are kept together, whole groups per batch
    (:func:`family_batches`), so that the near-duplicates of one page are each other's in-batch negatives (as in
    the query-collected Zero corpus); None: rows shuffled independently."""

    corpus: Any
    transform: TextImageTransform
    batch_size: int
    num_workers: int = 0
    seed: int = 0
    rank: int = 0
    world_size: int = 1
    root: str | Path | None = None
    group_by: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.corpus, (str, Path)):
            from zero_bench.data.corpus import load_corpus

            self.corpus = load_corpus(self.corpus, root=self.root)
        if self.group_by is not None and self.group_by not in self.corpus.column_names:
            raise ZeroBenchError(
                f"group_by: the corpus has no column {self.group_by!r} (columns: {', '.join(self.corpus.column_names)})"
            )
        self.dataset = _corpus_iterable_class()(
            self.corpus,
            self.transform,
            shuffle=True,
            seed=self.seed,
            rank=self.rank,
            world_size=self.world_size,
            drop_last=True,
            decode=not getattr(self.transform, "decodes_images", False),  # decoded only when not kept already
        )
        self.dataset.batch_size = self.batch_size
        if self.group_by is not None:
            self.dataset.groups = family_groups(self.corpus[self.group_by])
        if self.batches_per_epoch() < 1:
            raise ZeroBenchError(
                f"corpus of {len(self.corpus)} samples is too small for batch size {self.batch_size} x {self.world_size} "
                f"rank(s) x {max(1, self.num_workers)} worker(s)"
            )

    @property
    def _workers(self) -> int:
        return max(1, self.num_workers)

    def batches_per_epoch(self) -> int:
        shards = self.world_size * self._workers
        if self.dataset.groups is not None:  # the packing of the current epoch
            return self._workers * (len(self.dataset.epoch_batches()) // shards)
        per_shard = len(self.corpus) // shards
        return self._workers * (per_shard // self.batch_size)

    def epoch(self, epoch: int, skip: int = 0) -> DataLoader:
        self.dataset.set_epoch(epoch)
        self.transform.epoch = epoch
        self.dataset.skip = int(skip)
        return DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            drop_last=True,
            generator=torch.Generator().manual_seed(self.seed * 7919 + epoch),
            persistent_workers=False,
        )


class EpochBatchSampler(Sampler[list[int]]):
    """Seeded per-epoch permutation, split across ranks (equal batch counts), resumable after ``skip`` batches."""

    def __init__(
        self, n: int, batch_size: int, seed: int = 0, rank: int = 0, world_size: int = 1, shuffle: bool = True
    ) -> None:
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world_size, self.shuffle = rank, world_size, shuffle
        self.epoch, self.skip = 0, 0

    def __len__(self) -> int:
        return (self.n // self.world_size) // self.batch_size

    def __iter__(self):
        order = (
            np.random.default_rng([self.seed, self.epoch]).permutation(self.n) if self.shuffle else np.arange(self.n)
        )
        order = order[: self.n - self.n % self.world_size][self.rank :: self.world_size]
        for b in range(self.skip, len(self)):
            yield order[b * self.batch_size : (b + 1) * self.batch_size].tolist()


class TaskPairs(Dataset):
    """Train pairs of a task: retrieval (image id = image index, shared by the captions of one image) or
    matching (``labels``).

    Each image's transformed pixels are kept after its first use, up to ``cache_bytes`` in all (then the rest are
    decoded every time): the image transform has no randomness, every epoch reads the same images, and decoding
    them again was most of the fine-tuning's wait for data (toy ICM: 1,000 pairs, at most 28 MB at 48 px).  A real
    task at 224 px fills the default 256 MB with its first 445 images.  With DataLoader workers each worker keeps its
    own, and the loader's workers end with the epoch, so there the kept pixels serve only repeats within one epoch
    (the quickstart's fine-tuning runs in the main process)."""

    def __init__(self, data, transform: TextImageTransform, cache_bytes: int = PIXEL_CACHE_BYTES) -> None:
        from zero_bench.formats import MatchingData

        self.data = data
        self.transform = transform
        self.kept_pixels = PixelCache(transform.image, cache_bytes)
        if isinstance(data, MatchingData):
            self.pair_image = np.asarray(data.pair_image)
            self.labels: np.ndarray | None = np.asarray(data.labels)
        else:
            gold = np.asarray(data.gold)
            self.texts_rows = gold[:, 0]
            self.pair_image = gold[:, 1]
            self.labels = None

    def __len__(self) -> int:
        return len(self.pair_image)

    def __getitem__(self, k: int) -> dict[str, Any]:
        image_index = int(self.pair_image[k])
        text = self.data.texts[int(self.texts_rows[k]) if self.labels is None else k]
        out = {"pixels": self.pixels(image_index), "image_ids": image_index} | self.transform.encode_text(text, k)
        if self.labels is not None:
            out["labels"] = int(self.labels[k])
        return out

    def pixels(self, image_index: int) -> torch.Tensor:
        """The transformed pixels of one image: kept from an earlier use, or decoded (and kept while they fit)."""
        return self.kept_pixels.get(image_index, lambda: _open_rgb(self.data.images[image_index]))


def _open_rgb(image: Any) -> Any:
    with image.open() as im:
        return im.convert("RGB")


@dataclass
class TaskLoader:
    data: Any  # RetrievalData | MatchingData (train split)
    transform: TextImageTransform
    batch_size: int
    num_workers: int = 0
    seed: int = 0
    rank: int = 0
    world_size: int = 1

    def __post_init__(self) -> None:
        self.dataset = TaskPairs(self.data, self.transform)
        self.sampler = EpochBatchSampler(len(self.dataset), self.batch_size, self.seed, self.rank, self.world_size)
        if len(self.sampler) < 1:
            raise ZeroBenchError(
                f"{len(self.dataset)} training pairs are too few for batch size {self.batch_size} x {self.world_size} rank(s)"
            )

    def batches_per_epoch(self) -> int:
        return len(self.sampler)

    def epoch(self, epoch: int, skip: int = 0) -> DataLoader:
        self.sampler.epoch, self.sampler.skip = epoch, int(skip)
        self.transform.epoch = epoch
        return DataLoader(
            self.dataset,
            batch_sampler=self.sampler,
            num_workers=self.num_workers,
            generator=torch.Generator().manual_seed(self.seed * 7919 + epoch),
        )
