"""Each adapter feeds texts and images the way its library's own evaluation does (issue 22, item 4), checked on
tiny models with texts that expose the differences: upper-case Latin letters, curly quotes, a text longer than
Chinese-CLIP's 52 tokens (and than the tiny towers' lengths).

* cn_clip: Chinese-CLIP's ``eval/extract_features.py`` / ``eval/zeroshot_evaluation.py``: ``_preprocess_text``,
  ``tokenize(..., context_length=52)`` (their ``--context-length`` default), ``image_transform(resolution)``.
* hf: the repository's processor as transformers' docs call it (``padding=True``; SigLIP ``padding="max_length"``).
* open_clip: CLIP_benchmark's loader for open_clip models (``clip_benchmark.models.load_clip``): open_clip's
  tokenizer and its evaluation transform."""

from __future__ import annotations

import string
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from tests.adapters import tiny_models as tm
from zero_bench.models.registry import create_model

ATOL = 1e-5
UPPER = "一只W猫坐在A旁边"  # single letters: the tiny hf vocabularies have no word pieces
CURLY = "他说“你好”然后走了"
STRAIGHT = '他说"你好"然后走了'
LONG = "一个穿着格子花呢夹克衫的小男孩正在南瓜地里抓一个大南瓜" * 3  # 81 characters, one token each
EXTRA = string.ascii_letters + '“”"'  # added to the tiny hf vocabularies so these texts are not [UNK]


def _normalised(features: Any) -> torch.Tensor:
    features = features if isinstance(features, torch.Tensor) else features.pooler_output
    return torch.nn.functional.normalize(features.float(), dim=-1)


def _images(samples) -> list[Image.Image]:
    images, _ = samples
    return [*images, images[0].convert("L").resize((45, 17))]  # a grey, very non-square image too


def _adapter(model: Any, images: list[Image.Image], texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = torch.stack([model.preprocess_image(image) for image in images])
    return model.encode_images(pixels).embeddings, model.encode_texts(texts).embeddings


def test_cn_clip_follows_chinese_clip_evaluation(tmp_path: Path, samples) -> None:
    from cn_clip.clip import tokenize
    from cn_clip.clip.model import CLIP
    from cn_clip.clip.utils import image_transform
    from cn_clip.eval.data import _preprocess_text

    from zero_bench.models.adapters.cn_clip import CONTEXT_LENGTH

    assert CONTEXT_LENGTH == 52
    images, (_, captions) = _images(samples), samples
    texts = [UPPER, CURLY, STRAIGHT, LONG, *captions]
    config, weights = tm.save_cn_clip(tmp_path)
    adapter = create_model(f"cn_clip:{weights}", config=str(config))
    got_images, got_texts = _adapter(adapter, images, texts)

    reference = CLIP(**tm.CN_CLIP_TINY)
    state = torch.load(weights, map_location="cpu", weights_only=True)["state_dict"]
    reference.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    reference.eval()
    transform = image_transform(tm.CN_CLIP_TINY["image_resolution"])

    def encode(tokens: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return _normalised(reference.encode_text(tokens))

    # EvalTxtDataset.__getitem__ / zeroshot_classifier: _preprocess_text, then tokenize at --context-length 52
    official = tokenize([_preprocess_text(t) for t in texts], context_length=52)
    with torch.no_grad():
        want_images = _normalised(reference.encode_image(torch.stack([transform(i) for i in images])))
    torch.testing.assert_close(got_images, want_images, atol=ATOL, rtol=0)
    torch.testing.assert_close(got_texts, encode(official), atol=ATOL, rtol=0)
    # the texts expose the differences: curly quotes tokenize differently unless preprocessed (the tokenizer
    # lower-cases Latin letters itself), and the long text is cut at 52 where the tower would take 64
    assert not torch.equal(tokenize([CURLY], context_length=52), official[1:2])
    assert torch.equal(official[1], official[2])
    assert int(tokenize([LONG], context_length=64).ne(0).sum()) == 64 and int(official[3].ne(0).sum()) == 52
    assert not torch.allclose(encode(tokenize([LONG], context_length=64)), got_texts[3:4], atol=ATOL, rtol=0)
    # the classification protocol preprocesses prompts already: twice equals once
    twice = adapter.encode_texts([_preprocess_text(t) for t in texts]).embeddings
    assert torch.equal(twice, got_texts)


@pytest.mark.parametrize("kind", ["chinese_clip", "siglip", "altclip", "clip"])
def test_hf_follows_the_processor(kind: str, tmp_path: Path, samples) -> None:
    import transformers
    from transformers import AutoImageProcessor, AutoProcessor, AutoTokenizer

    builders: dict[str, tuple[Callable[..., Path], str]] = {
        "chinese_clip": (tm.save_chinese_clip, "ChineseCLIPModel"),
        "siglip": (tm.save_siglip, "SiglipModel"),
        "altclip": (tm.save_altclip, "AltCLIPModel"),
        "clip": (tm.save_clip, "CLIPModel"),
    }
    build, class_name = builders[kind]
    images, (_, captions) = _images(samples), samples
    texts = [UPPER, UPPER.lower(), CURLY, STRAIGHT, LONG, *captions]
    folder = build(tmp_path / kind, extra=EXTRA)
    adapter: Any = create_model(f"hf:{folder}")
    got_images, got_texts = _adapter(adapter, images, texts)

    reference = getattr(transformers, class_name).from_pretrained(folder).eval()
    # the docs: processor(text=..., images=..., padding=True, return_tensors="pt"); SigLIP pads to max_length.
    # truncation=True only for the long text, which the docs' call would refuse.
    padding = "max_length" if kind == "siglip" else True
    if kind == "chinese_clip":  # saved with its processor, as the hub repositories are
        processor = AutoProcessor.from_pretrained(folder)
        inputs = processor(text=texts, images=images, padding=padding, truncation=True, return_tensors="pt")
        tokens = dict(inputs)
        pixels = inputs["pixel_values"]
    else:
        tokenizer = AutoTokenizer.from_pretrained(folder)
        tokens = dict(tokenizer(texts, padding=padding, truncation=True, return_tensors="pt"))
        pixels = AutoImageProcessor.from_pretrained(folder)(images=images, return_tensors="pt")["pixel_values"]
    accepted = {"input_ids", "attention_mask"}
    if kind in ("chinese_clip", "altclip"):
        accepted.add("token_type_ids")
    with torch.no_grad():
        want_images = _normalised(reference.get_image_features(pixel_values=pixels))
        want_texts = _normalised(reference.get_text_features(**{k: v for k, v in tokens.items() if k in accepted}))
    torch.testing.assert_close(got_images, want_images, atol=ATOL, rtol=0)
    torch.testing.assert_close(got_texts, want_texts, atol=ATOL, rtol=0)
    # transformers' path applies no Chinese-CLIP preprocessing: case and curly quotes reach the (cased) tokenizer
    ids = tokens["input_ids"]
    assert not torch.equal(ids[0], ids[1]) and not torch.equal(ids[2], ids[3])
    assert not torch.allclose(got_texts[0], got_texts[1], atol=ATOL, rtol=0)
    assert tokens["input_ids"].shape[1] == adapter.max_length  # the long text is cut at the model's own length


def test_open_clip_follows_clip_benchmark(tmp_path: Path, samples) -> None:
    from clip_benchmark.models import load_clip

    images, (_, captions) = _images(samples), samples
    texts = [UPPER, UPPER.lower(), CURLY, STRAIGHT, LONG, *captions]
    config, weights = tm.save_open_clip(tmp_path)
    adapter = create_model(f"open_clip:{config.stem}/{weights}", config=str(config))
    got_images, got_texts = _adapter(adapter, images, texts)

    model, transform, tokenizer = load_clip("open_clip", config.stem, str(weights), cache_dir=None, device="cpu")
    model.eval()
    tokens = tokenizer(texts)
    with torch.no_grad():
        want_images = _normalised(model.encode_image(torch.stack([transform(i) for i in images])))
        want_texts = _normalised(model.encode_text(tokens))
    torch.testing.assert_close(got_images, want_images, atol=ATOL, rtol=0)
    torch.testing.assert_close(got_texts, want_texts, atol=ATOL, rtol=0)
    # open_clip's tokenizer lower-cases itself; the long text is cut at the model's context length (16 here)
    assert torch.equal(tokens[0], tokens[1])
    assert tokens.shape[1] == tm.OPEN_CLIP_TINY["text_cfg"]["context_length"] and bool(tokens[4].ne(0).all())
