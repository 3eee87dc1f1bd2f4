"""Evaluation image transform of the official R2D2 code, bit-exact.

``convert('RGB')`` -> Pillow ``resize((S, S), BICUBIC)`` (aspect ratio not kept, no crop) -> uint8 -> /255 ->
``(x - mean) / std`` with the OpenAI-CLIP statistics, float32 [3, S, S].
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class R2D2ImageTransform:
    """Picklable ``PIL.Image -> Tensor`` (safe to use in DataLoader workers)."""

    def __init__(self, image_size: int = 224) -> None:
        self.image_size = int(image_size)
        self.mean = torch.tensor(CLIP_MEAN, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(CLIP_STD, dtype=torch.float32).view(3, 1, 1)

    def __call__(self, image: Any) -> torch.Tensor:
        from PIL import Image

        if image.mode != "RGB":
            image = image.convert("RGB")
        resized = image.resize((self.image_size, self.image_size), Image.Resampling.BICUBIC)
        array = np.asarray(resized, dtype=np.uint8).copy()
        x = torch.from_numpy(array).permute(2, 0, 1).contiguous().to(torch.float32).div(255)
        return (x - self.mean) / self.std

    def __repr__(self) -> str:
        return f"R2D2ImageTransform(image_size={self.image_size})"
