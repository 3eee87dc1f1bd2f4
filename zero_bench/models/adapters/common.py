"""What the hf / open_clip / cn_clip adapters share: weight identity, hub snapshots, the dual-encoder wrapper."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import sha256_file
from zero_bench.models.protocol import Encoded, ModelInfo

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")


def no_weights(what: str) -> ZeroBenchError:
    return ZeroBenchError(
        f"{what}: no pretrained weights would be loaded; pass --random-init to evaluate random weights on purpose"
    )


def check_options(adapter: str, options: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ZeroBenchError(f"{adapter}: unknown option(s) {', '.join(unknown)}; known: {', '.join(known)}")


def weight_files(folder: Path) -> list[Path]:
    """The weight files of a model folder (top level, sorted by name)."""
    return sorted(p for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.is_file())


def weights_sha256(files: list[Path]) -> str:
    """One file: its sha256.  Several: sha256 over ``name sha256`` lines, so renaming or editing any file counts."""
    if len(files) == 1:
        return sha256_file(files[0])
    lines = "".join(f"{p.name} {sha256_file(p)}\n" for p in sorted(files, key=lambda p: p.name))
    return hashlib.sha256(lines.encode()).hexdigest()


def commit_sha256(repo: str, commit: str) -> str:
    """Identity of a hub snapshot: its repository and commit (hashing gigabytes again on every run tells nothing
    more; the commit is recorded in ``ModelInfo.checkpoint``)."""
    return hashlib.sha256(f"{repo}@{commit}".encode()).hexdigest()


def split_revision(source: str) -> tuple[str, str | None]:
    """``repo@revision`` -> (repo, revision); local paths never carry a revision."""
    if Path(source).expanduser().exists() or "@" not in source:
        return source, None
    repo, _, revision = source.rpartition("@")
    return repo, revision or None


def hub_snapshot(repo: str, revision: str | None, allow_patterns: list[str] | None = None) -> tuple[Path, str]:
    """Download (or find in the local hub cache) a snapshot: (folder, commit)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        folder = Path(snapshot_download(repo, revision=revision, allow_patterns=allow_patterns))
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError) as exc:
        raise ZeroBenchError(
            f"{repo}: not a local folder and the hub snapshot is unavailable ({type(exc).__name__}: {exc})"
        ) from exc
    return folder, folder.name  # hub cache layout: .../snapshots/<commit>


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


class DualEncoderAdapter(nn.Module):
    """A library model behind the zero_bench Model protocol: ``embed_images`` / ``embed_texts`` return the
    library's own features; this class L2-normalises them."""

    def __init__(self, model: nn.Module, info: ModelInfo, preprocess: Callable[[Any], torch.Tensor]) -> None:
        super().__init__()
        self.model: Any = model  # the library's own class; its methods are typed there, not here
        self.info = info
        # an attribute (not a bound method) so DataLoader workers pickle only the transform
        self.preprocess_image = preprocess

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def embed_images(self, pixels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def encode_images(self, pixels: torch.Tensor) -> Encoded:
        features = self.embed_images(pixels.to(self.device))
        return Encoded(embeddings=nn.functional.normalize(features.float(), dim=-1))

    @torch.no_grad()
    def encode_texts(self, texts: list[str]) -> Encoded:
        features = self.embed_texts(list(texts))
        return Encoded(embeddings=nn.functional.normalize(features.float(), dim=-1))
