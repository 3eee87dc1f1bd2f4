"""Image fingerprints: an exact hash of the decoded pixels, a perceptual hash and a small thumbnail."""

from __future__ import annotations

import hashlib
import io

import imagehash
import numpy as np
from PIL import Image

THUMB = 16


def decode(data: bytes) -> Image.Image:
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as the evaluation loaders do
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGB")


def pixel_hash(img: Image.Image) -> bytes:
    """Equal for two files that decode to the same pixels, whatever their encoding (PNG re-save, metadata).
    SHA-256 (hardware-accelerated on current CPUs, about twice BLAKE2's speed here), first 16 bytes."""
    digest = hashlib.sha256(f"{img.width}x{img.height}:".encode())
    digest.update(img.tobytes())
    return digest.digest()[:16]


def perceptual_hash(img: Image.Image) -> int:
    """imagehash's DCT hash (``imagehash.phash``, 64 bits) as an integer."""
    bits = imagehash.phash(img).hash.flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def perceptual_hashes(images: list[Image.Image]) -> list[int]:
    """:func:`perceptual_hash` of many images at once: the same steps as ``imagehash.phash`` (greyscale, 32x32
    Lanczos, 2-D DCT, the 8x8 lowest frequencies against their median), with the DCT and median done for the whole
    batch in one call each instead of per image (a test checks the two agree bit for bit)."""
    import scipy.fftpack

    if not images:
        return []
    pixels = np.stack([np.asarray(img.convert("L").resize((32, 32), imagehash.ANTIALIAS)) for img in images]).astype(
        np.float64
    )
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=1), axis=2)[:, :8, :8].reshape(len(images), 64)
    bits = dct > np.median(dct, axis=1, keepdims=True)
    return np.packbits(bits, axis=1).view(">u8").ravel().tolist()


def thumbnail(img: Image.Image) -> np.ndarray:
    return np.asarray(img.resize((THUMB, THUMB), Image.Resampling.BOX), dtype=np.uint8)


def thumb_diffs(thumb: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Distance of one thumbnail to each of ``others`` [C, S, S, 3], 0..255: the 99th percentile (lower value)
    over the pixels of the channel-mean absolute difference.  A recoloured, moved or missing object changes a few
    pixels a lot, which a mean over the mostly-background image would hide."""
    diff = np.abs(others.astype(np.int16) - thumb.astype(np.int16)[None])
    per_pixel = (diff[..., 0] + diff[..., 1] + diff[..., 2]).reshape(len(others), -1)  # faster than sum(axis=-1)
    rank = int(0.99 * (per_pixel.shape[1] - 1))
    return np.round(np.partition(per_pixel, rank, axis=1)[:, rank] / 3, 2)


def central_crop(img: Image.Image, fraction: float) -> Image.Image:
    dx, dy = round(img.width * fraction), round(img.height * fraction)
    return img.crop((dx, dy, img.width - dx, img.height - dy))
