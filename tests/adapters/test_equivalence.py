"""Each adapter's embeddings equal the library's own forward on the same images and Chinese texts (to 1e-5),
for tiny random models saved with each library's own save call and loaded back through the adapter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from tests.adapters import tiny_models as tm
from zero_bench.fileio import sha256_file
from zero_bench.models.registry import create_model

ATOL = 1e-5


def _normalised(features) -> torch.Tensor:
    features = features if isinstance(features, torch.Tensor) else features.pooler_output
    return torch.nn.functional.normalize(features.float(), dim=-1)


def _adapter_embeddings(model, images, texts) -> tuple[torch.Tensor, torch.Tensor]:
    pixels = torch.stack([model.preprocess_image(image) for image in images])
    return model.encode_images(pixels).embeddings, model.encode_texts(texts).embeddings


HF_BUILDERS = {
    "chinese_clip": (tm.save_chinese_clip, "ChineseCLIPModel"),
    "altclip": (tm.save_altclip, "AltCLIPModel"),
    "clip": (tm.save_clip, "CLIPModel"),
    "siglip": (tm.save_siglip, "SiglipModel"),
}


@pytest.mark.parametrize("kind", sorted(HF_BUILDERS))
def test_hf_equals_transformers_forward(kind: str, tmp_path: Path, samples) -> None:
    import transformers
    from transformers import AutoImageProcessor, AutoTokenizer

    images, texts = samples
    build, class_name = HF_BUILDERS[kind]
    folder = build(tmp_path / kind)
    adapter: Any = create_model(f"hf:{folder}")
    assert type(adapter.model).__name__ == class_name
    assert adapter.info.parameters == sum(p.numel() for p in adapter.model.parameters())
    files = sorted(folder.glob("*.safetensors"))
    assert len(files) == 1 and adapter.info.checkpoint_sha256 == sha256_file(files[0])
    got_images, got_texts = _adapter_embeddings(adapter, images, texts)

    reference = getattr(transformers, class_name).from_pretrained(folder).eval()
    processor, tokenizer = AutoImageProcessor.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    padding = "max_length" if kind == "siglip" else True
    tokens = tokenizer(texts, padding=padding, truncation=True, return_tensors="pt")
    with torch.no_grad():
        want_images = _normalised(reference.get_image_features(**processor(images=images, return_tensors="pt")))
        inputs = {k: v for k, v in tokens.items() if k in ("input_ids", "attention_mask")}
        if kind in ("chinese_clip", "altclip"):
            inputs["token_type_ids"] = tokens["token_type_ids"]
        want_texts = _normalised(reference.get_text_features(**inputs))
    assert tokens["input_ids"].ne(tokenizer.unk_token_id).float().mean() > 0.9  # the Chinese really tokenized
    torch.testing.assert_close(got_images, want_images, atol=ATOL, rtol=0)
    torch.testing.assert_close(got_texts, want_texts, atol=ATOL, rtol=0)


def test_open_clip_equals_library_forward(tmp_path: Path, samples) -> None:
    import open_clip

    images, texts = samples
    config, weights = tm.save_open_clip(tmp_path)
    adapter = create_model(f"open_clip:{config.stem}/{weights}", config=str(config))
    assert adapter.info.checkpoint_sha256 == sha256_file(weights)
    got_images, got_texts = _adapter_embeddings(adapter, images, texts)

    reference, _, preprocess = open_clip.create_model_and_transforms(config.stem, pretrained=str(weights))
    tokenizer = open_clip.get_tokenizer(config.stem)
    reference.eval()
    with torch.no_grad():
        want_images = _normalised(reference.encode_image(torch.stack([preprocess(i) for i in images])))
        want_texts = _normalised(reference.encode_text(tokenizer(texts)))
    torch.testing.assert_close(got_images, want_images, atol=ATOL, rtol=0)
    torch.testing.assert_close(got_texts, want_texts, atol=ATOL, rtol=0)
    # the weights really came from the file: a fresh random model differs
    fresh = open_clip.create_model(config.stem).eval()
    with torch.no_grad():
        assert not torch.allclose(_normalised(fresh.encode_text(tokenizer(texts))), want_texts, atol=1e-3)


def test_cn_clip_equals_library_forward(tmp_path: Path, samples) -> None:
    from cn_clip.clip import tokenize
    from cn_clip.clip.model import CLIP
    from cn_clip.clip.utils import image_transform

    images, texts = samples
    config, weights = tm.save_cn_clip(tmp_path)
    adapter = create_model(f"cn_clip:{weights}", config=str(config))
    assert adapter.info.checkpoint_sha256 == sha256_file(weights)
    got_images, got_texts = _adapter_embeddings(adapter, images, texts)

    reference = CLIP(**tm.CN_CLIP_TINY)
    state = torch.load(weights, map_location="cpu")["state_dict"]
    reference.load_state_dict({k.removeprefix("module."): v for k, v in state.items()})
    reference.eval()
    preprocess = image_transform(tm.IMAGE_SIZE)
    with torch.no_grad():
        want_images = _normalised(reference.encode_image(torch.stack([preprocess(i) for i in images])))
        want_texts = _normalised(reference.encode_text(tokenize(texts)))
    torch.testing.assert_close(got_images, want_images, atol=ATOL, rtol=0)
    torch.testing.assert_close(got_texts, want_texts, atol=ATOL, rtol=0)


def test_hf_text_tower_with_image_tower(tmp_path: Path, samples) -> None:
    """Taiyi-CLIP's layout: classifier logits as text features, a separate CLIP repository for the images."""
    from transformers import AutoTokenizer, BertForSequenceClassification, CLIPImageProcessor, CLIPModel

    images, texts = samples
    text_folder, image_folder = tm.save_taiyi_text_tower(tmp_path / "text"), tm.save_clip(tmp_path / "image")
    adapter = create_model(f"hf:{text_folder}", image_tower=str(image_folder))
    got_images, got_texts = _adapter_embeddings(adapter, images, texts)
    text_model = BertForSequenceClassification.from_pretrained(text_folder).eval()
    image_model = CLIPModel.from_pretrained(image_folder).eval()
    tokens = AutoTokenizer.from_pretrained(text_folder)(texts, padding=True, truncation=True, return_tensors="pt")
    pixels = CLIPImageProcessor.from_pretrained(image_folder)(images=images, return_tensors="pt")
    with torch.no_grad():
        want_texts = _normalised(text_model(**tokens).logits)
        want_images = _normalised(image_model.get_image_features(**pixels))
    torch.testing.assert_close(got_images, want_images, atol=ATOL, rtol=0)
    torch.testing.assert_close(got_texts, want_texts, atol=ATOL, rtol=0)
    alone = create_model(f"hf:{image_folder}")
    assert adapter.info.checkpoint_sha256 not in (None, alone.info.checkpoint_sha256)


def test_refusals_without_weights(tmp_path: Path) -> None:
    from zero_bench.errors import ZeroBenchError

    folder = tm.save_clip(tmp_path / "clip")
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(ZeroBenchError, match="--random-init"):
        create_model(f"hf:{folder}")
    random = create_model(f"hf:{folder}", random_init=True)
    assert random.info.random_init and random.info.checkpoint_sha256 is None
    assert random.info.label.endswith("(random init)")
    config, _ = tm.save_open_clip(tmp_path / "oc")
    with pytest.raises(ZeroBenchError, match="--random-init"):
        create_model(f"open_clip:{config.stem}", config=str(config))
    with pytest.raises(ZeroBenchError, match="--random-init"):
        create_model("cn_clip:/nonexistent.pt")
    with pytest.raises(ZeroBenchError, match="unknown option"):
        create_model(f"hf:{folder}", checkpoint="x.pt")


@pytest.mark.parametrize("group, group_bytes", [(3, 64 << 20), (32, 1)])
def test_evaluator_image_path_equals_library_loop(tmp_path: Path, monkeypatch, group: int, group_bytes: int) -> None:
    """encode_split's image path (DataLoader batches, decoded in groups before the transform) gives the library
    loop's embeddings; groups end inside a batch by count (3) or by decoded bytes (every image its own)."""
    import numpy as np
    from PIL import Image

    from zero_bench.data import toy
    from zero_bench.evaluation import encode
    from zero_bench.evaluation.cache import ChunkCache
    from zero_bench.formats.canonical import ImageItem

    monkeypatch.setattr(encode, "DECODE_GROUP", group)
    monkeypatch.setattr(encode, "DECODE_BYTES", group_bytes)
    rng = np.random.default_rng(0)
    items = []
    for i in range(10):
        path = tmp_path / f"{i}.jpg"
        path.write_bytes(toy.jpeg_bytes(toy.render(toy.random_scene(rng))))
        items.append(ImageItem(key=str(i), path=path))
    config, weights = tm.save_open_clip(tmp_path / "model")
    adapter = create_model(f"open_clip:{config.stem}/{weights}", config=str(config))
    got = encode.encode_split(
        "images",
        adapter,
        items,
        batch_size=4,
        num_workers=0,
        device=torch.device("cpu"),
        precision="fp32",
        store=ChunkCache(tmp_path / "scratch", "images", 8),
        cached=False,
        keep_states=False,
        chunk_size=8,
        show_progress=False,
    ).embeddings
    pixels = torch.stack([adapter.preprocess_image(Image.open(item.path).convert("RGB")) for item in items])
    with torch.no_grad():
        want = _normalised(adapter.model.encode_image(pixels))
    torch.testing.assert_close(got, want, atol=ATOL, rtol=0)
