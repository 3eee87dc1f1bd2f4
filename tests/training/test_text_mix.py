"""The pre-training text mix: which corpus text field a sample's text is drawn from."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from zero_bench.errors import ZeroBenchError
from zero_bench_r2d2.training.data import DEFAULT_TEXT_FIELDS, TextImageTransform

SAMPLE = {"title": "标题文字", "content": "正文文字", "query": "红色圆形"}


def _fields(transform: TextImageTransform, sample: dict, n: int = 6000) -> collections.Counter:
    by_text = {v: k for k, v in sample.items()}
    return collections.Counter(by_text.get(transform.pick_text(sample, i), "") for i in range(n))


def test_default_is_the_uniform_draw_of_earlier_runs():
    transform = TextImageTransform(32, seed=5)
    for i in range(200):
        earlier = list(SAMPLE.values())[int(transform.rng(i).integers(3))]  # the draw before text_mix existed
        assert transform.pick_text(SAMPLE, i) == earlier


def test_weights_set_the_share_of_each_field():
    counts = _fields(TextImageTransform(32, seed=1, text_mix={"title": 1, "content": 1, "query": 2}), SAMPLE)
    shares = {k: counts[k] / sum(counts.values()) for k in DEFAULT_TEXT_FIELDS}
    # binomial sd of a share over 6000 draws is < 0.007: 0.03 is more than 4 sd
    assert shares["query"] == pytest.approx(0.5, abs=0.03)
    assert shares["title"] == pytest.approx(0.25, abs=0.03)


def test_empty_and_zero_weight_fields_are_left_out():
    transform = TextImageTransform(32, seed=1, text_mix={"title": 0, "content": 1, "query": 3})
    counts = _fields(transform, SAMPLE | {"content": "  "}, n=300)
    assert set(counts) == {"query"}
    assert transform.pick_text({"title": "只有标题"}, 0) == ""  # nothing with a positive weight


def test_draw_depends_only_on_seed_and_index():
    a = TextImageTransform(32, seed=9, text_mix={"title": 1, "query": 1})
    b = TextImageTransform(32, seed=9, text_mix={"title": 1, "query": 1})
    order = np.random.default_rng(0).permutation(100)
    assert [a.pick_text(SAMPLE, int(i)) for i in order] == [b.pick_text(SAMPLE, int(i)) for i in order]


@pytest.mark.parametrize(
    "mix, message",
    [
        ({"caption": 1}, "unknown text field 'caption'"),
        ({"query": -1}, "must be a finite number >= 0"),
        ({"query": "2"}, "must be a finite number >= 0"),
        ({"query": float("nan")}, "must be a finite number >= 0"),
        ({"title": 0, "query": 0}, "every weight is 0"),
        ({}, "must map corpus text fields"),
    ],
)
def test_bad_mix_is_named(mix, message):
    with pytest.raises(ZeroBenchError, match=message):
        TextImageTransform(32, text_mix=mix)


def test_fine_tuning_refuses_a_text_mix(tmp_path):
    from zero_bench_r2d2.training.entry import TRAINER

    with pytest.raises(ZeroBenchError, match="text_mix weights the pre-training corpus"):
        TRAINER.finetune(
            task="icm", checkpoint=None, config="r2d2-tiny", output_dir=str(tmp_path), text_mix={"query": 1}
        )
    assert not any(tmp_path.iterdir())
