"""A second look at a near miss: the aligned comparison again, under two changes of a copy's pixels that the
per-channel normalisation (:func:`images.normalised`) does not undo.

* **Saturation.**  Scaling saturation blends each pixel with its own grey (``s * rgb + (1 - s) * luma``), which
  mixes the channels, so no per-channel scale undoes it: a saturated shape on a grey ground keeps a difference
  of ``(1 - s)`` times its colour.  :func:`resaturated` fits ``a * rgb + b * luma + c`` (``c`` per channel) to
  the corpus image by least squares and compares the fitted evaluation cut; only a blend with its own grey is
  fitted (it cannot turn one hue into another), and only when the fitted saturation ``a / (a + b)`` is within
  the thresholds' range.
* **Chroma resolution.**  JPEG keeps colour at half the resolution (4:2:0) and quantises it hardest, so at
  quality 20-40 a small shape's colour bleeds over its edge while its brightness stays put.
  :func:`chroma_blurred` blurs the colour part of a thumbnail (each pixel minus its channel mean) once more,
  the brightness part not: a shape that is not there still differs in brightness.

Both are tried only for a cut that already lines up within a small factor of the threshold
(``Thresholds.image_second_look``), so the extra cost is paid by few corpus rows.
"""

from __future__ import annotations

import numpy as np

from zero_bench.contamination.images import aligned_diffs, blurred, normalised

LUMA = np.asarray([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601-2, as Pillow's conversion to "L"


def chroma_blurred(thumbs: np.ndarray) -> np.ndarray:
    """Thumbnails [..., S, S, 3] whose colour part (each pixel minus its mean over the channels) is
    :func:`images.blurred` once more; the mean over the channels is kept as it is."""
    grey = thumbs.mean(axis=-1, keepdims=True)
    return grey + blurred(thumbs - grey)


def resaturated(cut: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, float]:
    """(``cut`` [S, S, 3] blended with its own grey to look most like ``target`` [S, S, 3] by least squares,
    clipped to 0..255; the fitted saturation ``a / (a + b)``, NaN when the blend is degenerate)."""
    x = cut.reshape(-1, 3).astype(np.float64)
    y = target.reshape(-1, 3).astype(np.float64)
    grey = x @ LUMA.astype(np.float64)
    # the normal equations of y[p, ch] ~ a * x[p, ch] + b * grey[p] + c[ch], unknowns (a, b, c0, c1, c2)
    normal = np.zeros((5, 5))
    normal[0, 0] = (x * x).sum()
    normal[0, 1] = normal[1, 0] = grey @ x.sum(axis=1)
    normal[1, 1] = 3.0 * grey @ grey
    normal[0, 2:] = normal[2:, 0] = x.sum(axis=0)
    normal[1, 2:] = normal[2:, 1] = grey.sum()
    normal[2:, 2:] = len(x) * np.eye(3)
    moments = np.concatenate([[(x * y).sum(), grey @ y.sum(axis=1)], y.sum(axis=0)])
    a, b, *offset = np.linalg.lstsq(normal, moments, rcond=None)[0]  # lstsq: a grey cut makes it singular
    fitted = np.clip(a * x + b * grey[:, None] + np.asarray(offset), 0.0, 255.0)
    scale = a + b
    saturation = a / scale if abs(scale) > 1e-6 else float("nan")
    return fitted.reshape(cut.shape).astype(np.float32), float(saturation)


def second_look(cut: np.ndarray, target: np.ndarray, saturation_range: tuple[float, float]) -> float:
    """The smaller :func:`images.aligned_diffs` distance of ``target`` (a corpus view's pixels at the comparison
    side) to the evaluation ``cut`` (the same side, float pixels) with its colour blurred once more
    (:func:`chroma_blurred`), or re-saturated (:func:`resaturated`, when the saturation is in range)."""
    query = blurred(normalised(target[None].astype(np.float32)))
    stored = blurred(normalised(cut[None]))
    best = float(aligned_diffs(chroma_blurred(query[0]), chroma_blurred(stored))[0])
    fitted, saturation = resaturated(cut, target)
    if saturation_range[0] <= saturation <= saturation_range[1]:
        best = min(best, float(aligned_diffs(query[0], blurred(normalised(fitted[None])))[0]))
    return best
