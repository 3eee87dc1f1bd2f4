"""Family batches: the rows of one source page (``url``) in one pre-training batch."""

from __future__ import annotations

import collections
import itertools
import json

import numpy as np
import pytest

from zero_bench.errors import ZeroBenchError
from zero_bench_r2d2.training.data import CorpusLoader, family_batches, family_groups


class _IndexAndUrl:
    """A stand-in transform: the row index and its page, no pixels or tokens."""

    epoch = 0

    def __call__(self, sample: dict) -> dict:
        return {"index": sample["index"], "url": sample["url"]}


def _groups(sizes: list[int]) -> list[np.ndarray]:
    starts = np.cumsum([0] + sizes)
    return [np.arange(a, b) for a, b in itertools.pairwise(starts)]


def _check_whole(batches: list[np.ndarray], groups: list[np.ndarray], batch_size: int) -> set[int]:
    where = {int(r): g for g, rows in enumerate(groups) for r in rows}
    seen: list[int] = []
    for batch in batches:
        assert len(batch) == batch_size
        counts = collections.Counter(where[int(r)] for r in batch)
        assert all(n == len(groups[g]) for g, n in counts.items())  # only whole groups
        seen += batch.tolist()
    assert len(seen) == len(set(seen))  # no row twice
    return set(seen)


def test_every_batch_holds_whole_groups_and_every_row_once():
    rng = np.random.default_rng(0)
    sizes = [int(s) for s in rng.choice([1, 2, 3, 4], size=900, p=[0.5, 0.15, 0.1, 0.25])]
    groups = _groups(sizes)
    n = sum(sizes)
    batches = family_batches(groups, 32, np.random.default_rng(1))
    seen = _check_whole(batches, groups, 32)
    assert n - len(seen) < 32  # at most one incomplete batch left out, as drop_last
    assert len(batches) == n // 32


def test_exact_fit_leaves_nothing_out():
    groups = _groups([4] * 40 + [1] * 32)  # 192 rows = 6 batches of 32
    for seed in range(5):
        batches = family_batches(groups, 32, np.random.default_rng(seed))
        assert _check_whole(batches, groups, 32) == set(range(192))


def test_groups_larger_than_a_batch_are_cut_and_order_follows_the_seed():
    groups = _groups([20, 3, 1, 1, 1, 2])
    batches = family_batches(groups, 8, np.random.default_rng(0))
    assert len(batches) == 3 and all(len(b) == 8 for b in batches)  # 28 rows: 3 batches, 4 rows left out
    assert len({int(r) for b in batches for r in b}) == 24
    assert [list(range(0, 8)), list(range(8, 16))] == [b.tolist() for b in batches if b[0] in (0, 8)]
    a = family_batches(_groups([4] * 16), 8, np.random.default_rng(3))
    b = family_batches(_groups([4] * 16), 8, np.random.default_rng(3))
    c = family_batches(_groups([4] * 16), 8, np.random.default_rng(4))
    assert [x.tolist() for x in a] == [x.tolist() for x in b] != [x.tolist() for x in c]


def test_family_groups_keep_first_seen_order():
    groups = family_groups(["a", "b", "a", "c", "b", "a"])
    assert [g.tolist() for g in groups] == [[0, 2, 5], [1, 4], [3]]


@pytest.fixture(scope="module")
def family_corpus(tmp_path_factory):
    from zero_bench.data.corpus import load_corpus
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_corpus_dir

    root = tmp_path_factory.mktemp("family-corpus")
    generate_zero_toy(root=root, seed=1, sizes=ToySizes(corpus=200), tasks=False, family_share=0.5)
    return load_corpus(toy_corpus_dir(root))


def _epoch(loader: CorpusLoader, epoch: int, skip: int = 0) -> list[list[int]]:
    return [b["index"].tolist() for b in loader.epoch(epoch, skip)]


def test_loader_batches_whole_pages_and_reads_each_row_once(family_corpus):
    urls = family_corpus["url"]
    pages = collections.Counter(urls)
    assert max(pages.values()) == 4
    loader = CorpusLoader(family_corpus, _IndexAndUrl(), 16, group_by="url")
    for epoch in (0, 1):
        batches = _epoch(loader, epoch)
        assert len(batches) == loader.batches_per_epoch()
        seen = [r for b in batches for r in b]
        assert len(seen) == len(set(seen)) and len(family_corpus) - len(seen) < 16
        for b in batches:
            in_batch = collections.Counter(urls[r] for r in b)
            assert all(pages[u] == n for u, n in in_batch.items())
    assert _epoch(loader, 0) != _epoch(loader, 1)  # reshuffled every epoch
    assert _epoch(loader, 0, skip=3) == _epoch(loader, 0)[3:]  # resumable at batch granularity


def test_ranks_read_disjoint_whole_batches(family_corpus):
    ranks = [
        _epoch(CorpusLoader(family_corpus, _IndexAndUrl(), 16, rank=r, world_size=2, group_by="url"), 0)
        for r in range(2)
    ]
    assert len(ranks[0]) == len(ranks[1]) > 0
    whole = _epoch(CorpusLoader(family_corpus, _IndexAndUrl(), 16, group_by="url"), 0)
    assert ranks[0] == whole[0::2][: len(ranks[0])] and ranks[1] == whole[1::2][: len(ranks[1])]


def test_unknown_column_is_named(family_corpus):
    with pytest.raises(ZeroBenchError, match="no column 'page'"):
        CorpusLoader(family_corpus, _IndexAndUrl(), 16, group_by="page")


def test_group_by_is_recorded_and_refused_for_fine_tuning(tmp_path, family_corpus):
    from zero_bench_r2d2.training.entry import TRAINER

    out = tmp_path / "pre"
    from zero_bench_r2d2.training.objectives import ObjectiveConfig
    from zero_bench_r2d2.training.recipes import pretrain

    pretrain(
        config="r2d2-tiny",
        corpus="unused",
        corpus_dataset=family_corpus,
        output_dir=out,
        objective=ObjectiveConfig(queue_size=16),
        dropout=0.0,
        train={"max_steps": 1, "batch_size": 8, "warmup_steps": 1, "show_progress": False, "device": "cpu"},
        group_by="url",
    )
    assert json.loads((out / "train_config.json").read_text())["run"]["group_by"] == "url"
    with pytest.raises(ZeroBenchError, match="group_by batches the pre-training corpus"):
        TRAINER.finetune(
            task="icm", checkpoint=None, config="r2d2-tiny", output_dir=str(tmp_path / "ft"), group_by="url"
        )


def test_quickstart_regenerates_the_corpus_when_the_family_share_changes(tmp_path):
    from dataclasses import replace

    from tests.quickstart_sizes import small_quickstart
    from zero_bench_r2d2.training.quickstart import _make_data

    cfg = small_quickstart(tmp_path, corpus=40, pairs=4, flickr=2)
    _, corpus = _make_data(cfg, tmp_path / "data")
    first = (corpus / "manifest.json").stat().st_mtime_ns
    _make_data(cfg, tmp_path / "data")  # same settings: kept
    assert (corpus / "manifest.json").stat().st_mtime_ns == first
    _make_data(replace(cfg, family_share=0.0), tmp_path / "data")
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generator"]["family_share"] == 0.0


@pytest.mark.parametrize("share", [-0.1, 1.5, float("nan")])
def test_quickstart_refuses_a_family_share_outside_0_1(tmp_path, share):
    from zero_bench_r2d2.training.quickstart import QuickstartConfig

    with pytest.raises(ZeroBenchError, match="family_share"):
        QuickstartConfig(output_dir=str(tmp_path), family_share=share)
    assert not any(tmp_path.iterdir())
