"""R2D2 helpers for tests and benchmarks: a tiny random checkpoint in the official format, and the encoders run
through the module methods (the input of :func:`zero_bench.testing.official_cross_scores`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch


def save_random_checkpoint(path: Path, config: str = "r2d2-tiny", seed: int = 1234, scale: float = 0.1) -> Path:
    """A random R2D2 saved as the official ``{"model": state_dict}`` .pt file.

    As in the official tiny fixture, every parameter (but ``temp``) gets ``scale * randn`` added so that the
    cross-encoder scores are far from constant and rankings have no near-ties.
    """
    from zero_bench_r2d2.plugin import create_r2d2

    torch.manual_seed(seed)
    model = create_r2d2(config=config).model
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name != "temp":
                param.add_(scale * torch.randn(param.shape, generator=gen))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, path)
    return path


@torch.no_grad()
def encode_all(plugin: Any, image_paths: list[Path], texts: list[str], batch: int = 32):
    """Image tokens, text tokens + mask and the raw cosine matrix, through the module methods."""
    from PIL import Image

    model = plugin.model
    pixels = torch.stack([plugin.preprocess_image(Image.open(p).convert("RGB")) for p in image_paths])
    image_tokens = torch.cat([model.encode_image(pixels[s : s + batch]) for s in range(0, len(pixels), batch)])
    tok = plugin.tokenizer(list(texts))
    text_tokens = torch.cat(
        [
            model.encode_text(tok["input_ids"][s : s + batch], tok["attention_mask"][s : s + batch])
            for s in range(0, len(texts), batch)
        ]
    )
    sim = model.similarity(model.image_embed(image_tokens), model.text_embed(text_tokens))
    return image_tokens, text_tokens, tok["attention_mask"], sim
