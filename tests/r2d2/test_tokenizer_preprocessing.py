"""Tokenizer ids/masks and the image transform against the official reference vectors."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest


def test_vocab_is_byte_identical_and_has_notice() -> None:
    from zero_bench_r2d2.tokenizer import vocab_path

    ours = vocab_path().read_bytes()
    # the sha256 of the official checkpoints/hfl_roberta/vocab.txt (R2D2 commit c7127fa), which the NOTICE names
    official = "45bbac6b341c319adc98a532532882e91a9cefc0329aa57bac9ae761c27b291c"
    assert hashlib.sha256(ours).hexdigest() == official
    notice = (vocab_path().parent / "NOTICE").read_text(encoding="utf-8")
    assert "Apache" in notice and official in notice


def test_tokenizer_matches_every_official_sample(reference_data: Path) -> None:
    from zero_bench_r2d2.tokenizer import R2D2Tokenizer

    facts = json.loads((reference_data / "tokenizer_samples.json").read_text(encoding="utf-8"))
    tok = R2D2Tokenizer()
    assert len(tok) == facts["vocab_size"] == 21128
    for name, token_id in facts["special"].items():
        assert tok.vocab[name] == token_id
    samples = facts["samples"]
    assert samples
    batch = tok([s["text"] for s in samples])
    assert batch["input_ids"].shape == (len(samples), 64)
    for row, sample in enumerate(samples):
        assert batch["input_ids"][row].tolist() == sample["input_ids"], sample["text"]
        assert batch["attention_mask"][row].tolist() == sample["attention_mask"], sample["text"]
        assert tok.tokens(sample["text"])[: sum(sample["attention_mask"])] == sample["tokens"], sample["text"]
    # picklable (DataLoader workers) and the transformers wrapper agrees
    clone = pickle.loads(pickle.dumps(tok))
    assert clone([samples[0]["text"]])["input_ids"].tolist() == [samples[0]["input_ids"]]
    hf = tok.hf_tokenizer()
    out = hf([s["text"] for s in samples], padding="max_length", truncation=True, max_length=64)
    assert out["input_ids"] == [s["input_ids"] for s in samples]


@pytest.mark.parametrize("size", [224, 32])
def test_preprocessing_is_bit_exact(reference_data: Path, size: int) -> None:
    from PIL import Image

    from zero_bench_r2d2.preprocessing import R2D2ImageTransform

    expected = np.load(reference_data / "preproc_synthetic_expected.npz")
    image = Image.open(reference_data / "preproc_synthetic_97x61.png")
    transform = pickle.loads(pickle.dumps(R2D2ImageTransform(size)))
    out = transform(image).numpy()
    assert out.dtype == np.float32 and out.shape == (3, size, size)
    assert np.abs(out - expected[f"expected_{size}"]).max() == 0.0
    # a non-RGB image is converted first
    gray = transform(image.convert("L"))
    assert gray.shape == (3, size, size)
