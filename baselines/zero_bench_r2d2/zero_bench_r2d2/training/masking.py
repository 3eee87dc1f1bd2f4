"""Whole-word masking for MLM: Chinese words found with jieba; all tokens of a chosen word are masked together.

BERT-style replacement of the chosen tokens: 80% ``[MASK]``, 10% a random token, 10% unchanged (labels mark
every chosen token).  Words are picked in random order until ``rate`` of the (non-special) tokens is reached
(as in Chinese BERT-wwm); a word is never split.  Randomness comes from a numpy Generator the caller seeds
(per sample in the data pipeline, so masking does not depend on batch composition, workers or resumption).
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np
import torch

IGNORE = -100
FIRST_REGULAR_ID = 106  # after [PAD], [unused1-99], [UNK], [CLS], [SEP], [MASK], <S>, <T>


@lru_cache(maxsize=1)
def _jieba():
    import os
    import tempfile

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.dt.tmp_dir = os.environ.get("TMPDIR") or tempfile.gettempdir()
    return jieba


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the jieba words of ``text`` (whitespace-only words dropped)."""
    bounds = _word_bounds(text)
    return list(zip(bounds[::2], bounds[1::2], strict=True))


@lru_cache(maxsize=1 << 16)
def _word_bounds(text: str) -> tuple[int, ...]:
    """:func:`word_spans` flattened (start, end, start, end, ...), remembered for the last 65,536 texts (at most
    about 25 MB): a corpus row's texts are drawn again in every epoch, and jieba's segmentation was most of the
    masking's cost (r2d2-toy's pre-training: about a tenth of a step)."""
    bounds: list[int] = []
    pos = 0
    for word in _jieba().lcut(text, HMM=True):
        if word.strip():
            bounds += (pos, pos + len(word))
        pos += len(word)
    return tuple(bounds)


def word_groups(text: str, offsets: list[tuple[int, int]], special: list[bool]) -> list[list[int]]:
    """Token positions of each jieba word: a token belongs to the word containing its first character."""
    spans = word_spans(text)
    groups: dict[int, list[int]] = {}
    owner = np.full(len(text) + 1, -1, dtype=np.int64)
    for w, (s, e) in enumerate(spans):
        owner[s:e] = w
    for t, ((s, e), sp) in enumerate(zip(offsets, special, strict=False)):
        if sp or e <= s:
            continue
        w = int(owner[s]) if s < len(text) else -1
        key = w if w >= 0 else -(t + 1)  # characters outside any word (punctuation spans): own group
        groups.setdefault(key, []).append(t)
    return list(groups.values())


def whole_word_mask(
    text: str, tokenizer, rng: np.random.Generator, rate: float = 0.15, mask_prob: float = 0.8, random_prob: float = 0.1
) -> dict[str, torch.Tensor]:
    """Tokenise ``text`` (padded to ``tokenizer.max_length``) and mask whole words.

    Returns ``input_ids`` (masked), ``attention_mask``, ``labels`` (original id at chosen tokens, -100 elsewhere)
    and ``original_ids``.
    """
    enc = tokenizer._tok.encode(text)
    ids = np.asarray(enc.ids, dtype=np.int64)
    attn = np.asarray(enc.attention_mask, dtype=np.int64)
    special = [bool(x) or not bool(a) for x, a in zip(enc.special_tokens_mask, enc.attention_mask, strict=False)]
    groups = word_groups(text, list(enc.offsets), special)
    n_tokens = sum(len(g) for g in groups)
    labels = np.full_like(ids, IGNORE)
    masked = ids.copy()
    if n_tokens and rate > 0:
        target = max(1, round(n_tokens * rate))
        chosen: list[int] = []
        for g in rng.permutation(len(groups)):
            group = groups[int(g)]
            if len(chosen) >= target:
                break
            if len(chosen) + len(group) > target and chosen:
                continue  # keep the rate close; whole words only
            chosen.extend(group)
        for t in chosen:
            labels[t] = ids[t]
            r = rng.random()
            if r < mask_prob:
                masked[t] = tokenizer.mask_token_id
            elif r < mask_prob + random_prob:
                masked[t] = int(rng.integers(FIRST_REGULAR_ID, tokenizer.vocab_size))
    return {
        "input_ids": torch.from_numpy(masked),
        "attention_mask": torch.from_numpy(attn),
        "labels": torch.from_numpy(labels),
        "original_ids": torch.from_numpy(ids),
    }
