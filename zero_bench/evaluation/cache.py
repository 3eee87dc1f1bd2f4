"""On-disk cache of encoder outputs, keyed by model identity + task + split + data checksum.

Outputs are stored in fixed-size chunks as they are produced, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch

from zero_bench.fileio import atomic_path
from zero_bench.models.protocol import Encoded, ModelInfo


def cache_key(
    info: ModelInfo, task: str, task_version: str, split: str, data_sha256: str, modality: str, precision: str
) -> str | None:
    """None when the model's weights cannot be identified (no checkpoint hash): nothing is cached then."""
    if not info.checkpoint_sha256:
        return None
    identity = json.dumps(
        {
            "model": info.model_dump(mode="json"),
            "task": task,
            "version": task_version,
            "split": split,
            "data": data_sha256,
            "modality": modality,
            "precision": precision,
        },
        sort_keys=True,
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


class ChunkCache:
    """Chunks ``<root>/<key>/chunk-<start>.pt`` holding the ``Encoded`` of items [start, start + size)."""

    def __init__(self, root: Path, key: str, chunk_size: int) -> None:
        self.folder = root / key
        self.chunk_size = chunk_size

    def _path(self, start: int) -> Path:
        return self.folder / f"chunk-{start:09d}-{self.chunk_size}.pt"

    def load(self, start: int, mmap: bool = False) -> Encoded | None:
        """``mmap``: tensors stay on disk and are paged in as read (row reads of large states cost no memory)."""
        path = self._path(start)
        if not path.is_file():
            return None
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except Exception:  # a damaged chunk is recomputed, never trusted
            path.unlink(missing_ok=True)
            return None
        return Encoded(embeddings=payload["embeddings"], states=payload["states"])

    def save(self, start: int, encoded: Encoded) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        payload = {"embeddings": encoded.embeddings.cpu(), "states": {k: v.cpu() for k, v in encoded.states.items()}}
        with atomic_path(self._path(start)) as tmp:
            torch.save(payload, tmp)
