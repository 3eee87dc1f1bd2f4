"""Whole-word masking: all tokens of a jieba word are chosen together."""

from __future__ import annotations

import numpy as np
import pytest

from zero_bench_r2d2.tokenizer import get_tokenizer
from zero_bench_r2d2.training.masking import IGNORE, whole_word_mask, word_spans

SENTENCES = [
    "画面左上方有一个红色的大圆形，背景是浅灰色的渐变",
    "这张图片的背景是米白色的噪点纹理，中间是一个小的蓝色三角形",
    "北京大学的学生在图书馆里认真学习人工智能",
    "红色圆形 蓝色三角形",
]


@pytest.fixture(scope="module")
def tok():
    return get_tokenizer()


def _groups(text, tok):
    enc = tok._tok.encode(text)
    spans = word_spans(text)
    groups = []
    for s, e in spans:
        groups.append(
            [t for t, (a, b) in enumerate(enc.offsets) if b > a and s <= a < e and not enc.special_tokens_mask[t]]
        )
    return [g for g in groups if g]


def test_every_jieba_word_is_masked_whole_or_not_at_all(tok):
    multi_char_words_masked = 0
    for seed in range(40):
        for text in SENTENCES:
            out = whole_word_mask(text, tok, np.random.default_rng(seed), rate=0.15)
            chosen = (out["labels"] != IGNORE).numpy()
            for group in _groups(text, tok):
                flags = chosen[group]
                assert flags.all() or not flags.any(), (text, group, flags)
                multi_char_words_masked += int(flags.all() and len(group) > 1)
            # labels hold the original ids; specials and padding are never chosen
            assert (out["labels"][chosen] == out["original_ids"][chosen]).all()
            assert not chosen[0] and not chosen[out["attention_mask"].numpy() == 0].any()
    assert multi_char_words_masked > 50  # multi-character words really are masked as units


def test_rate_and_replacement_mix(tok):
    rng = np.random.default_rng(0)
    n_tokens = n_chosen = n_mask = n_same = 0
    for _ in range(300):
        text = SENTENCES[int(rng.integers(len(SENTENCES)))]
        out = whole_word_mask(text, tok, rng, rate=0.15)
        chosen = out["labels"] != IGNORE
        n_tokens += int(out["attention_mask"].sum()) - 2
        n_chosen += int(chosen.sum())
        n_mask += int((out["input_ids"][chosen] == tok.mask_token_id).sum())
        n_same += int((out["input_ids"][chosen] == out["original_ids"][chosen]).sum())
        assert (out["input_ids"][~chosen] == out["original_ids"][~chosen]).all()
    assert 0.10 < n_chosen / n_tokens < 0.22
    assert 0.72 < n_mask / n_chosen < 0.88
    assert 0.05 < n_same / n_chosen < 0.16


def test_masking_is_deterministic_per_seed(tok):
    a = whole_word_mask(SENTENCES[0], tok, np.random.default_rng(3))
    b = whole_word_mask(SENTENCES[0], tok, np.random.default_rng(3))
    assert all((a[k] == b[k]).all() for k in a)
    assert whole_word_mask(SENTENCES[0], tok, np.random.default_rng(0), rate=0.0)["labels"].eq(IGNORE).all()


def test_word_spans_are_jiebas_words_and_a_second_draw_is_remembered():
    import jieba

    from zero_bench_r2d2.training import masking

    text = "红色的圆形在 蓝色背景上"
    words = jieba.lcut(text, HMM=True)
    starts = [sum(len(w) for w in words[:k]) for k in range(len(words))]
    expected = [(s, s + len(w)) for s, w in zip(starts, words, strict=True) if w.strip()]
    masking._word_bounds.cache_clear()
    assert word_spans(text) == expected
    assert word_spans(text) == expected
    assert masking._word_bounds.cache_info().hits == 1
