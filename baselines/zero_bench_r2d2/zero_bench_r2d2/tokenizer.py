"""The R2D2 text tokenizer: a fast WordPiece tokenizer over the shipped BERT Chinese vocabulary.

Settings of the official ``BertTokenizer`` (see tokenizer_facts in the shared reference): lowercase, every CJK
ideograph its own token, accents stripped (follows lowercasing), control characters removed, ``[CLS] ... [SEP]``,
right padding to ``max_length`` (64) with ``[PAD]`` = 0, right truncation keeping ``[SEP]`` last.
Built directly with the ``tokenizers`` library from ``vocab/vocab.txt`` (the transformers 5 ``vocab_file``
pitfall does not apply).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from zero_bench_r2d2.config import MAX_TEXT_LENGTH

PAD, UNK, CLS, SEP, MASK = "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"


def vocab_path() -> Path:
    return Path(__file__).resolve().parent / "vocab" / "vocab.txt"


def _build(vocab_file: Path, max_length: int):
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordPiece

    vocab: dict[str, int] = {}
    with open(vocab_file, encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            vocab.setdefault(line.rstrip("\n"), index)
    tok = Tokenizer(WordPiece(vocab, unk_token=UNK, continuing_subword_prefix="##", max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{CLS} $A {SEP}", special_tokens=[(CLS, vocab[CLS]), (SEP, vocab[SEP])]
    )
    tok.enable_truncation(max_length=max_length, direction="right")
    tok.enable_padding(direction="right", pad_id=vocab[PAD], pad_token=PAD, length=max_length)
    return tok, vocab


class R2D2Tokenizer:
    """``tokenizer(texts) -> {"input_ids", "attention_mask"}`` int64 tensors [n, max_length]."""

    def __init__(self, vocab_file: str | Path | None = None, max_length: int = MAX_TEXT_LENGTH) -> None:
        self._load(vocab_file, max_length)

    def _load(self, vocab_file: str | Path | None, max_length: int) -> None:
        self.vocab_file = Path(vocab_file) if vocab_file is not None else vocab_path()
        self.max_length = max_length
        self._tok, self.vocab = _build(self.vocab_file, max_length)
        self.pad_token_id = self.vocab[PAD]
        self.unk_token_id = self.vocab[UNK]
        self.cls_token_id = self.vocab[CLS]
        self.sep_token_id = self.vocab[SEP]
        self.mask_token_id = self.vocab[MASK]

    @property
    def vocab_size(self) -> int:
        return self._tok.get_vocab_size()

    def __len__(self) -> int:
        return self.vocab_size

    def __call__(self, texts: list[str] | str, device: torch.device | str | None = None) -> dict[str, torch.Tensor]:
        if isinstance(texts, str):
            texts = [texts]
        encodings = self._tok.encode_batch(list(texts))
        ids = torch.tensor([e.ids for e in encodings], dtype=torch.long).view(len(encodings), self.max_length)
        mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.long).view(
            len(encodings), self.max_length
        )
        return {"input_ids": ids.to(device) if device else ids, "attention_mask": mask.to(device) if device else mask}

    def tokens(self, text: str) -> list[str]:
        """Token strings including specials and padding."""
        return self._tok.encode(text).tokens

    def hf_tokenizer(self) -> Any:
        """A transformers ``BertTokenizerFast`` wrapping the same tokenizer (for MLM collators etc.)."""
        # transformers 5 exports the name lazily (an alias of BertTokenizer), which its type stubs do not show
        from transformers import BertTokenizerFast  # type: ignore[attr-defined,unused-ignore]

        return BertTokenizerFast(
            tokenizer_object=self._tok.__class__.from_str(self._tok.to_str()),
            unk_token=UNK,
            sep_token=SEP,
            pad_token=PAD,
            cls_token=CLS,
            mask_token=MASK,
            model_max_length=self.max_length,
        )

    def __getstate__(self) -> dict:
        return {"vocab_file": str(self.vocab_file), "max_length": self.max_length}

    def __setstate__(self, state: dict) -> None:
        self._load(state["vocab_file"], state["max_length"])


@lru_cache(maxsize=4)
def get_tokenizer(max_length: int = MAX_TEXT_LENGTH) -> R2D2Tokenizer:
    return R2D2Tokenizer(max_length=max_length)
