"""On-disk cache of encoder outputs, keyed by model identity + task + split + data checksum.

Outputs are stored in fixed-size chunks as they are produced, so an interrupted run resumes where it stopped.
A chunk is used only if it matches its entry in the folder's index (sha256 of the file, cache key, start, rows,
state names and shapes) and holds finite numbers; any other chunk is named in one line on stderr and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import torch

from zero_bench.fileio import atomic_path, atomic_write_text, sha256_file
from zero_bench.models.protocol import Encoded, ModelInfo

INDEX_NAME = "index.json"


def cache_key(
    info: ModelInfo, task: str, task_version: str, split: str, data_sha256: str, modality: str, precision: str
) -> str | None:
    """None when the model's weights cannot be identified (no checkpoint hash): nothing is cached then."""
    if not info.checkpoint_sha256:
        return None
    identity = json.dumps(
        {
            # declared training corpora describe the model, they do not change its outputs (and old keys stay valid)
            "model": info.model_dump(mode="json", exclude={"training_corpora"}),
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


def _describe(encoded: Encoded) -> dict[str, Any]:
    """What the index records of a chunk besides its checksum: rows, and the name and shape of every tensor."""
    return {
        "rows": int(encoded.embeddings.shape[0]),
        "embeddings": list(encoded.embeddings.shape),
        "states": {name: list(value.shape) for name, value in sorted(encoded.states.items())},
    }


def _problem(payload: object, key: str, start: int, entry: dict[str, Any]) -> str | None:
    """Why a loaded chunk cannot be used (None when it can)."""
    if not isinstance(payload, dict) or set(payload) != {"key", "start", "embeddings", "states"}:
        return "not a chunk of this cache"
    if payload["key"] != key or payload["start"] != start:
        return f"holds key {payload['key']!r} start {payload['start']!r}"
    embeddings, states = payload["embeddings"], payload["states"]
    if not isinstance(embeddings, torch.Tensor) or embeddings.dim() != 2 or not embeddings.is_floating_point():
        return "embeddings are not a 2-D float tensor"
    if not isinstance(states, dict) or not all(isinstance(v, torch.Tensor) for v in states.values()):
        return "states are not a dict of tensors"
    if _describe(Encoded(embeddings, states)) != {k: entry.get(k) for k in ("rows", "embeddings", "states")}:
        return "shape or state names differ from the index"
    for name, tensor in [("embeddings", embeddings), *sorted(states.items())]:
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            return f"{name} hold NaN or infinite values"
    return None


class ChunkCache:
    """Chunks ``<root>/<key>/chunk-<start>-<size>.pt`` holding the ``Encoded`` of items [start, start + size),
    listed in ``<root>/<key>/index.json`` with their checksum.  Generic: any ``Encoded`` (embeddings plus named
    per-item states) can be stored per ``start``."""

    def __init__(self, root: Path, key: str, chunk_size: int) -> None:
        self.key = key
        self.folder = root / key
        self.chunk_size = chunk_size

    def _path(self, start: int) -> Path:
        return self.folder / f"chunk-{start:09d}-{self.chunk_size}.pt"

    def _index(self) -> dict[str, dict[str, Any]]:
        try:
            index = json.loads((self.folder / INDEX_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: every chunk is recomputed
        return index if isinstance(index, dict) else {}

    def _reject(self, path: Path, reason: str) -> None:
        print(f"zero-bench: cache chunk {path}: {reason}; recomputing it", file=sys.stderr)
        path.unlink(missing_ok=True)

    def load(self, start: int, rows: int | None = None, mmap: bool = False) -> Encoded | None:
        """The chunk at ``start`` if present and sound (and of ``rows`` items when given); else None.  ``mmap``:
        tensors stay on disk and are paged in as read (row reads of large states cost no memory)."""
        path = self._path(start)
        if not path.is_file():
            return None
        entry = self._index().get(path.name)
        if not isinstance(entry, dict) or entry.get("key") != self.key or entry.get("start") != start:
            self._reject(path, "not listed in the cache index")
            return None
        if sha256_file(path) != entry.get("sha256"):
            self._reject(path, "checksum differs from the cache index")
            return None
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
        except Exception as exc:  # any unpickling failure means a damaged chunk
            self._reject(path, f"unreadable ({type(exc).__name__})")
            return None
        problem = _problem(payload, self.key, start, entry)
        if problem is None and rows is not None and payload["embeddings"].shape[0] != rows:
            problem = f"holds {payload['embeddings'].shape[0]} rows, expected {rows}"
        if problem is not None:
            self._reject(path, problem)
            return None
        return Encoded(embeddings=payload["embeddings"], states=payload["states"])

    def save(self, start: int, encoded: Encoded) -> None:
        from filelock import FileLock

        self.folder.mkdir(parents=True, exist_ok=True)
        encoded = Encoded(encoded.embeddings.cpu(), {k: v.cpu() for k, v in encoded.states.items()})
        payload = {"key": self.key, "start": start, "embeddings": encoded.embeddings, "states": encoded.states}
        path = self._path(start)
        # Several ranks may write chunks of one folder at once: the index is updated under a file lock.
        with FileLock(str(self.folder / f".{INDEX_NAME}.lock")):
            with atomic_path(path) as tmp:
                torch.save(payload, tmp)
                digest = sha256_file(tmp)
            index = self._index()
            index[path.name] = {"key": self.key, "start": start, "sha256": digest, **_describe(encoded)}
            atomic_write_text(self.folder / INDEX_NAME, json.dumps(index, indent=1, sort_keys=True) + "\n")
