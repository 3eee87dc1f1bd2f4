"""Pre-training keeps each corpus row's pixels after its first epoch: the same batches as decoding every time,
nothing decoded in later epochs, memory within its budget."""

from __future__ import annotations

import pickle

import pytest
import torch

import zero_bench_r2d2.training.data as training_data
from zero_bench_r2d2.training.data import CorpusLoader, PixelCache, TextImageTransform

ONE_IMAGE = 3 * 32 * 32 * 4  # float32 pixels of one row at 32 px


def _batches(loader: CorpusLoader, epoch: int) -> list[dict]:
    return list(loader.epoch(epoch))


def _assert_same(a: list[dict], b: list[dict]) -> None:
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert x.keys() == y.keys()
        for key in x:
            assert torch.equal(torch.as_tensor(x[key]), torch.as_tensor(y[key])), key


def _loader(corpus, cache_bytes: int) -> CorpusLoader:
    transform = TextImageTransform(32, mask_rate=0.15, seed=3, cache_bytes=cache_bytes)
    return CorpusLoader(corpus, transform, batch_size=4, seed=5)


def test_kept_pixels_give_the_batches_of_decoding_every_time_and_decode_nothing_later(tiny_corpus, monkeypatch):
    kept, decoded = _loader(tiny_corpus, 2**30), _loader(tiny_corpus, 0)
    assert kept.dataset.decode is False  # the transform decodes, so a kept row is not decoded at all
    decoded.dataset.decode = True  # the adapter decodes, as for any other transform
    _assert_same(_batches(kept, 0), _batches(decoded, 0))
    rows = len(kept.corpus)
    assert len(kept.transform.pixels.kept) == rows and kept.transform.pixels.kept_bytes == rows * ONE_IMAGE
    assert not decoded.transform.pixels.kept

    def no_decoding(data):
        raise AssertionError("a kept row was decoded again")

    monkeypatch.setattr(training_data, "decode_rgb", no_decoding)
    with pytest.raises(AssertionError, match="decoded again"):  # the check is live: the uncached loader decodes
        _batches(_loader(tiny_corpus, 0), 1)
    later = _batches(kept, 1)
    monkeypatch.undo()
    _assert_same(later, _batches(decoded, 1))


def test_pixels_beyond_the_budget_are_transformed_each_time(tiny_corpus):
    small, decoded = _loader(tiny_corpus, 10 * ONE_IMAGE + ONE_IMAGE // 2), _loader(tiny_corpus, 0)
    for epoch in (0, 1):
        _assert_same(_batches(small, epoch), _batches(decoded, epoch))
    assert len(small.transform.pixels.kept) == 10 and small.transform.pixels.kept_bytes == 10 * ONE_IMAGE


def _filled(image: int) -> torch.Tensor:
    return torch.full((3, 2, 2), float(image))


def test_a_pickled_cache_starts_empty_with_the_same_budget():
    cache = PixelCache(_filled, limit_bytes=1000)
    first = cache.get(7, lambda: 1)
    assert torch.equal(cache.get(7, lambda: 2), first)  # kept: not loaded again
    copy = pickle.loads(pickle.dumps(cache))
    assert copy.kept == {} and copy.kept_bytes == 0 and copy.limit_bytes == 1000
    assert torch.equal(copy.get(7, lambda: 2), torch.full((3, 2, 2), 2.0))


def test_pretraining_keeps_pixels_only_without_workers(tiny_corpus, tmp_path):
    from zero_bench_r2d2.training.objectives import ObjectiveConfig
    from zero_bench_r2d2.training.recipes import pretrain

    train = {"max_steps": 2, "batch_size": 8, "show_progress": False, "device": "cpu", "warmup_steps": 1}
    objective = ObjectiveConfig(queue_size=16)
    for workers, keeps in ((0, True), (1, False)):
        summary = pretrain(
            config="r2d2-tiny",
            corpus=tiny_corpus,
            output_dir=tmp_path / str(workers),
            train=train | {"num_workers": workers},
            objective=objective,
        )
        pixels = summary["trainer"].loader.transform.pixels
        assert (pixels.limit_bytes > 0) is keeps and (len(pixels.kept) == 16) is keeps
