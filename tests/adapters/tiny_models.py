"""Tiny random models of each library, saved to disk with the library's own save call (nothing downloaded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from zero_bench.data import toy

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
IMAGE_SIZE = 32


def toy_characters() -> list[str]:
    """Every character zero-toy's captions and queries use (from a few hundred scenes), so toy texts tokenize to
    real ids, not [UNK]."""
    import numpy as np

    rng = np.random.default_rng(0)
    texts = []
    for _ in range(300):
        scene = toy.random_scene(rng)
        texts += [toy.caption(scene, variant) for variant in range(3)] + [toy.query(scene), toy.keywords(scene)]
    return sorted({ch for text in texts for ch in text if not ch.isspace()})


def bert_tokenizer(folder: Path, model_max_length: int = 32, extra: str = ""):
    """``extra``: characters added to the vocabulary (e.g. Latin letters and curly quotes, which toy texts lack)."""
    from transformers import BertTokenizerFast  # type: ignore[attr-defined]

    folder.mkdir(parents=True, exist_ok=True)
    vocab = folder / "vocab.txt"
    characters = toy_characters()
    characters += [ch for ch in dict.fromkeys(extra) if ch not in characters]
    vocab.write_text("\n".join(SPECIAL + characters) + "\n", encoding="utf-8")
    # vocab=, not vocab_file=: transformers 5 silently builds a 5-token tokenizer from vocab_file
    return BertTokenizerFast(vocab=str(vocab), do_lower_case=False, model_max_length=model_max_length)


def _image_processor(cls_name: str = "CLIPImageProcessor"):
    import transformers

    cls = getattr(transformers, cls_name)
    return cls(size={"shortest_edge": IMAGE_SIZE}, crop_size={"height": IMAGE_SIZE, "width": IMAGE_SIZE})


def _vision(**extra) -> dict:
    base = dict(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=IMAGE_SIZE,
        patch_size=16,
    )
    return {**base, **extra}


def _text(vocab_size: int, **extra) -> dict:
    base = dict(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        max_position_embeddings=32,
    )
    return {**base, **extra}


def save_chinese_clip(folder: Path, size: dict | None = None, extra: str = "") -> Path:
    """``size`` overrides the towers' widths and depths (the benchmark uses a less tiny model)."""
    from transformers import ChineseCLIPConfig, ChineseCLIPModel, ChineseCLIPProcessor

    torch.manual_seed(1)
    tok = bert_tokenizer(folder, extra=extra)
    text, vision = _text(len(tok), **(size or {})), _vision(**(size or {}))
    config = ChineseCLIPConfig(text_config=text, vision_config=vision, projection_dim=8)
    ChineseCLIPModel(config).save_pretrained(folder)
    ChineseCLIPProcessor(image_processor=_image_processor("ChineseCLIPImageProcessor"), tokenizer=tok).save_pretrained(
        folder
    )
    return folder


def save_clip(folder: Path, extra: str = "") -> Path:
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(2)
    tok = bert_tokenizer(folder, extra=extra)
    text = _text(len(tok), eos_token_id=tok.sep_token_id, pad_token_id=tok.pad_token_id, bos_token_id=tok.cls_token_id)
    CLIPModel(CLIPConfig(text_config=text, vision_config=_vision(), projection_dim=8)).save_pretrained(folder)
    tok.save_pretrained(folder)
    _image_processor().save_pretrained(folder)
    return folder


def save_siglip(folder: Path, extra: str = "") -> Path:
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel

    torch.manual_seed(3)
    tok = bert_tokenizer(folder, model_max_length=16, extra=extra)
    text = _text(
        len(tok),
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
        max_position_embeddings=16,
    )
    SiglipModel(SiglipConfig(text_config=text, vision_config=_vision())).save_pretrained(folder)
    tok.save_pretrained(folder)
    SiglipImageProcessor(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}).save_pretrained(folder)
    return folder


def save_altclip(folder: Path, extra: str = "") -> Path:
    from transformers import AltCLIPConfig, AltCLIPModel

    torch.manual_seed(4)
    tok = bert_tokenizer(folder, extra=extra)
    text = _text(len(tok), pad_token_id=tok.pad_token_id, project_dim=16, max_position_embeddings=40)
    AltCLIPModel(AltCLIPConfig(text_config=text, vision_config=_vision(), projection_dim=8)).save_pretrained(folder)
    tok.save_pretrained(folder)
    _image_processor().save_pretrained(folder)
    return folder


OPEN_CLIP_TINY: dict[str, Any] = {
    "embed_dim": 8,
    "vision_cfg": {"image_size": IMAGE_SIZE, "layers": 1, "width": 16, "head_width": 8, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 16, "heads": 2, "layers": 1},
}


def save_open_clip(folder: Path, name: str = "zb-tiny-clip") -> tuple[Path, Path]:
    """A config registered through open_clip's API and weights saved the way open_clip's trainer saves them."""
    import open_clip

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / f"{name}.json"
    config.write_text(json.dumps(OPEN_CLIP_TINY))
    open_clip.add_model_config(config)
    torch.manual_seed(5)
    model = open_clip.create_model(name)
    weights = folder / "epoch_1.pt"
    torch.save(
        {"epoch": 1, "name": name, "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()}}, weights
    )
    return config, weights


CN_CLIP_TINY: dict[str, Any] = {
    "embed_dim": 8,
    "image_resolution": IMAGE_SIZE,
    "vision_layers": 1,
    "vision_width": 16,
    "vision_patch_size": 16,
    "vision_head_width": 8,
    "vocab_size": 21128,
    "text_attention_probs_dropout_prob": 0.1,
    "text_hidden_act": "gelu",
    "text_hidden_dropout_prob": 0.1,
    "text_hidden_size": 16,
    "text_initializer_range": 0.02,
    "text_intermediate_size": 32,
    "text_max_position_embeddings": 64,
    "text_num_attention_heads": 2,
    "text_num_hidden_layers": 1,
    "text_type_vocab_size": 2,
}


def save_cn_clip(folder: Path) -> tuple[Path, Path]:
    """A tiny cn_clip CLIP and a checkpoint in cn_clip's training format (DDP ``module.`` keys)."""
    from cn_clip.clip.model import CLIP

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "cn-tiny.json"
    config.write_text(json.dumps(CN_CLIP_TINY))
    torch.manual_seed(6)
    model = CLIP(**CN_CLIP_TINY)
    weights = folder / "cn-tiny.pt"
    torch.save(
        {
            "epoch": 1,
            "step": 1,
            "name": "tiny",
            "state_dict": {f"module.{k}": v for k, v in model.state_dict().items()},
        },
        weights,
    )
    return config, weights


def save_taiyi_text_tower(folder: Path) -> Path:
    """Taiyi-CLIP's text repository layout: a BertForSequenceClassification whose logits are the text features."""
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(7)
    tok = bert_tokenizer(folder)
    config = BertConfig(**_text(len(tok)))
    config.num_labels = 8
    BertForSequenceClassification(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder
