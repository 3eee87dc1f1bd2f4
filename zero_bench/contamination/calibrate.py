"""The learned descriptor's cosine threshold, calibrated on planted copies and unrelated corpus rows.

Planted copies: a sample of the evaluation images, each edited by every :data:`plant.IMAGE_EDITS` edit (the same
edits that measure the classical scan).  Unrelated rows: a sample spread over the corpus, leaving out the rows the
classical scan matched to an evaluation image.  The threshold is the lowest cosine at which at most the target
share of the unrelated rows reach some evaluation image; recall per edit is measured at it.  Unrelated rows that
are in fact copies the classical scan missed can only raise the threshold (a conservative error).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from zero_bench.contamination.descriptor import Descriptor, EvalSide, best_cosines, corpus_batches, decoded_rows
from zero_bench.contamination.images import decode
from zero_bench.contamination.plant import IMAGE_EDITS
from zero_bench.errors import ZeroBenchError

FALSE_POSITIVE_TARGET = 0.01  # share of unrelated corpus rows allowed at or above the threshold
PLANTED_IMAGES = 100  # evaluation images planted (each with every edit)
UNRELATED_ROWS = 2_000  # corpus rows sampled as unrelated


@dataclass(frozen=True)
class Calibration:
    threshold: float
    false_positive_target: float
    false_positive_rate: float  # measured on the unrelated rows at the threshold
    unrelated_rows: int
    planted_images: int
    recall: dict[str, float]  # per image edit, at the threshold
    method: str = "lowest cosine with at most the target share of unrelated corpus rows at or above it"

    def as_dict(self) -> dict:
        return asdict(self)


def choose_threshold(unrelated: np.ndarray, target: float) -> float:
    """The lowest threshold t (a float32, as the scan compares) with ``mean(unrelated >= t) <= target``."""
    if len(unrelated) == 0:
        raise ZeroBenchError("cannot calibrate the descriptor: no unrelated corpus rows to measure false positives on")
    allowed = int(np.floor(target * len(unrelated)))
    ordered = np.sort(unrelated.astype(np.float32))[::-1]
    if allowed >= len(ordered):
        return float(np.nextafter(ordered[-1], np.float32(-np.inf)))
    return float(np.nextafter(ordered[allowed], np.float32(np.inf)))


def unrelated_scores(
    descriptor: Descriptor,
    side: EvalSide,
    shards: list[Path],
    exclude: set[str],
    rows: int,
    stride: int,
    digests: list[str] | None = None,
) -> np.ndarray:
    """Best cosine to the evaluation side of every ``stride``-th corpus row not in ``exclude``, ``rows`` at most
    (each shard checked against ``digests`` when given, see :func:`~.descriptor.corpus_batches`)."""
    scores: list[np.ndarray] = []
    seen = taken = 0
    for batch in corpus_batches(shards, descriptor.batch_size, digests):
        keys = batch.column("key").to_pylist()
        chosen = [(r, img) for r, img in decoded_rows(batch) if (seen + r) % stride == 0 and keys[r] not in exclude]
        seen += batch.num_rows
        chosen = chosen[: rows - taken]
        if chosen:
            scores.append(best_cosines(descriptor.embed([img for _, img in chosen]), side).cpu().numpy())
            taken += len(chosen)
        if taken >= rows:
            break
    return np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)


def planted_scores(descriptor: Descriptor, side: EvalSide, images: int, seed: int) -> dict[str, np.ndarray]:
    """Per edit: each planted copy's cosine to its own evaluation image (best of the image and its mirror)."""
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(side.images(), size=min(images, side.images()), replace=False).tolist())
    originals = [side.items[g].read_bytes() for g in chosen]
    own = side.vectors.view(side.images(), 2, -1)[torch.as_tensor(chosen, device=side.vectors.device)]
    out = {}
    for name, edit in IMAGE_EDITS.items():
        queries = descriptor.embed([decode(edit(data, rng)) for data in originals])
        out[name] = (own @ queries[:, :, None]).squeeze(-1).max(dim=1).values.cpu().numpy()
    return out


def calibrate(
    descriptor: Descriptor,
    side: EvalSide,
    shards: list[Path],
    exclude: Collection[str] = (),
    *,
    corpus_rows: int | None = None,
    target: float = FALSE_POSITIVE_TARGET,
    images: int = PLANTED_IMAGES,
    rows: int = UNRELATED_ROWS,
    seed: int = 0,
    digests: list[str] | None = None,
) -> Calibration:
    """Pick the threshold; ``corpus_rows`` (the corpus size) spreads the unrelated sample over the whole corpus;
    ``digests``: each shard's sha256 to check as it is read."""
    stride = max(1, (corpus_rows or rows) // rows)
    unrelated = unrelated_scores(descriptor, side, shards, set(exclude), rows, stride, digests)
    threshold = choose_threshold(unrelated, target)
    planted = planted_scores(descriptor, side, images, seed)
    return Calibration(
        threshold=threshold,
        false_positive_target=target,
        false_positive_rate=round(float(np.mean(unrelated >= np.float32(threshold))), 6),
        unrelated_rows=len(unrelated),
        planted_images=len(next(iter(planted.values()))),
        recall={name: round(float(np.mean(s >= np.float32(threshold))), 4) for name, s in planted.items()},
    )
