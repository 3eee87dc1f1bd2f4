"""R2D2 checkpoints: reading official ``.pt``/``.pth`` and safetensors files, a key report, export, and the registry.

Every key is accounted for: :func:`load_into` compares the file's state dict with the model's and raises one
clear :class:`ZeroBenchError` for missing, unexpected or shape-mismatched keys unless ``allow_mismatch=True``
(then matching keys are loaded and the report says what was skipped).  The only tolerated difference is the
``*.embeddings.position_ids`` buffers (deterministic ``arange``), which transformers >= 4.31 no longer saves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import atomic_path, sha256_file
from zero_bench.paths import home

SAFETENSORS_SUFFIXES = (".safetensors",)
TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
OFFICIAL_SOURCE = "Google Drive share linked from the official R2D2 README (github yuxie11/R2D2)"


def _is_position_ids(key: str) -> bool:
    return key.endswith("embeddings.position_ids")


# ---------------------------------------------------------------------------------------------------------------
# Reading and writing state dicts


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of an official ``{"model": state_dict}`` file, a bare state dict, or a safetensors file (CPU)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ZeroBenchError(f"{path}: checkpoint file not found")
    if path.suffix in SAFETENSORS_SUFFIXES:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return dict(load_file(str(path), device="cpu"))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ZeroBenchError(f"{path}: not a readable safetensors file ({exc})") from None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt / non-checkpoint files
        raise ZeroBenchError(
            f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from None
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    elif isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ZeroBenchError(f"{path}: expected a state dict of tensors (optionally under 'model')")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module.") :]: v for k, v in obj.items()}
    return dict(obj)


def save_safetensors(
    state: nn.Module | dict[str, torch.Tensor], path: str | Path, metadata: dict[str, str] | None = None
) -> Path:
    """Write a state dict (or a module's) as safetensors, atomically; keys and order are kept."""
    from safetensors.torch import save_file

    sd = state.state_dict() if isinstance(state, nn.Module) else state
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in sd.items()}
    path = Path(path).expanduser()
    meta = {"format": "pt", "producer": "zero_bench_r2d2", "key_order": json.dumps(list(tensors))}
    meta.update(metadata or {})
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def convert_checkpoint(src: str | Path, dst: str | Path) -> Path:
    """Convert an official ``.pt``/``.pth`` checkpoint (or safetensors) to safetensors at ``dst``; returns ``dst``."""
    src = Path(src).expanduser()
    sd = read_state_dict(src)
    return save_safetensors(sd, dst, metadata={"source_file": src.name, "source_sha256": sha256_file(src)})


# ---------------------------------------------------------------------------------------------------------------
# Key report and loading


@dataclass
class LoadReport:
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    shape_mismatch: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)
    position_ids_filled: list[str] = field(default_factory=list)
    position_ids_ignored: list[str] = field(default_factory=list)
    loaded: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.shape_mismatch)

    def summary(self, limit: int = 5) -> str:
        def show(items: list[str]) -> str:
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            return ", ".join(items[:limit]) + more

        parts = []
        if self.missing:
            parts.append(f"{len(self.missing)} missing: {show(self.missing)}")
        if self.unexpected:
            parts.append(f"{len(self.unexpected)} unexpected: {show(self.unexpected)}")
        if self.shape_mismatch:
            parts.append(
                f"{len(self.shape_mismatch)} shape-mismatched: "
                + show([f"{k} (file {list(a)} vs model {list(b)})" for k, a, b in self.shape_mismatch])
            )
        return "; ".join(parts) if parts else f"all {self.loaded} keys matched"


def compare_state_dicts(model_sd: dict[str, torch.Tensor], file_sd: dict[str, torch.Tensor]) -> LoadReport:
    report = LoadReport()
    for key, value in model_sd.items():
        if key not in file_sd:
            (report.position_ids_filled if _is_position_ids(key) else report.missing).append(key)
        elif tuple(file_sd[key].shape) != tuple(value.shape):
            report.shape_mismatch.append((key, tuple(file_sd[key].shape), tuple(value.shape)))
    for key in file_sd:
        if key not in model_sd:
            (report.position_ids_ignored if _is_position_ids(key) else report.unexpected).append(key)
    return report


def load_into(
    model: nn.Module, source: str | Path | dict[str, torch.Tensor], allow_mismatch: bool = False
) -> LoadReport:
    """Load a checkpoint file (or state dict) into ``model``; raises on any key problem unless ``allow_mismatch``."""
    file_sd = read_state_dict(source) if not isinstance(source, dict) else source
    where = str(source) if not isinstance(source, dict) else "state dict"
    model_sd = model.state_dict()
    report = compare_state_dicts(model_sd, file_sd)
    if not report.ok and not allow_mismatch:
        raise ZeroBenchError(
            f"{where}: checkpoint does not match the model: {report.summary()} (pass allow_mismatch=True to load the matching keys)"
        )
    skip = {k for k, _, _ in report.shape_mismatch}
    usable = {k: v for k, v in file_sd.items() if k in model_sd and k not in skip}
    for key in usable:
        value = usable[key]
        corrupt = _is_position_ids(key) and not torch.equal(
            value.to(torch.long), torch.arange(value.shape[-1]).expand_as(value)
        )
        if corrupt and not allow_mismatch:
            raise ZeroBenchError(f"{where}: {key} is not 0..n-1 (a corrupted or non-R2D2 checkpoint)")
    result = model.load_state_dict(usable, strict=False)
    expected_missing = set(report.missing) | set(report.position_ids_filled) | skip
    if set(result.missing_keys) - expected_missing or result.unexpected_keys:  # pragma: no cover - defensive
        raise ZeroBenchError(f"{where}: internal key accounting error: {result}")
    report.loaded = len(usable)
    return report


# ---------------------------------------------------------------------------------------------------------------
# Registry of the released checkpoints (manual download)


@dataclass(frozen=True)
class CheckpointEntry:
    name: str
    description: str
    config: str
    model: str  # "r2d2" or "prd2"
    training_data: str
    fine_tuned_on: str | None = None
    source: str = OFFICIAL_SOURCE
    sha256: str | None = None  # unknown: never published

    def candidates(self) -> list[Path]:
        folder = checkpoints_dir()
        return [folder / f"{self.name}{suffix}" for suffix in (".safetensors", ".pth", ".pt")]

    def manual_steps(self) -> str:
        folder = checkpoints_dir()
        return (
            f"download the {self.description} checkpoint manually: (1) open the {self.source}; "
            f"(2) download the file for '{self.description}' (a torch file whose ['model'] entry is the state dict; "
            f"no checksum is published); (3) save it as {folder / (self.name + '.pth')} "
            f"(or convert it with zero_bench_r2d2.checkpoints.convert_checkpoint(src, '{folder / (self.name + '.safetensors')}')); "
            "(4) run again: the file's sha256 is recorded in the result"
        )


_VITB_FT = "R2D2 ViT-B/16 pre-trained on Zero-Corpus 23M, fine-tuned on {task}"
REGISTRY: dict[str, CheckpointEntry] = {
    e.name: e
    for e in (
        CheckpointEntry(
            "r2d2-vit-l-250m", "R2D2 ViT-L/14 pre-trained on Zero-250M", "r2d2-vit-l", "r2d2", "Zero-250M (declared)"
        ),
        CheckpointEntry(
            "r2d2-vit-l-23m",
            "R2D2 ViT-L/14 pre-trained on Zero-Corpus 23M",
            "r2d2-vit-l",
            "r2d2",
            "Zero-Corpus 23M (declared)",
        ),
        CheckpointEntry(
            "prd2-vit-l-250m",
            "PRD2 ViT-L/14 (dual encoder) pre-trained on Zero-250M",
            "r2d2-vit-l",
            "prd2",
            "Zero-250M (declared)",
        ),
        CheckpointEntry(
            "r2d2-vit-b-23m-flickr30k-cna",
            _VITB_FT.format(task="Flickr30k-CNA"),
            "r2d2-vit-b",
            "r2d2",
            "Zero-Corpus 23M (declared)",
            "flickr30k-cna",
        ),
        CheckpointEntry(
            "r2d2-vit-b-23m-iqr", _VITB_FT.format(task="IQR"), "r2d2-vit-b", "r2d2", "Zero-Corpus 23M (declared)", "iqr"
        ),
        CheckpointEntry(
            "r2d2-vit-b-23m-icr", _VITB_FT.format(task="ICR"), "r2d2-vit-b", "r2d2", "Zero-Corpus 23M (declared)", "icr"
        ),
        CheckpointEntry(
            "r2d2-vit-b-23m-iqm", _VITB_FT.format(task="IQM"), "r2d2-vit-b", "r2d2", "Zero-Corpus 23M (declared)", "iqm"
        ),
        CheckpointEntry(
            "r2d2-vit-b-23m-icm", _VITB_FT.format(task="ICM"), "r2d2-vit-b", "r2d2", "Zero-Corpus 23M (declared)", "icm"
        ),
    )
}


def checkpoints_dir() -> Path:
    return home() / "checkpoints"


def resolve_checkpoint(name_or_path: str | Path) -> tuple[Path, CheckpointEntry | None]:
    """A local file path, or a registry name whose file must already be in ``$ZERO_BENCH_HOME/checkpoints/``."""
    text = str(name_or_path)
    entry = REGISTRY.get(text)
    if entry is None:
        path = Path(text).expanduser()
        if path.is_file():
            return path, None
        known = ", ".join(REGISTRY)
        raise ZeroBenchError(f"checkpoint {text!r} is neither an existing file nor a registered name ({known})")
    for candidate in entry.candidates():
        if candidate.is_file():
            return candidate, entry
    raise ZeroBenchError(f"checkpoint {entry.name!r} not found in {checkpoints_dir()}: {entry.manual_steps()}")


def embed_dim_from(file_sd: dict[str, Any]) -> int | None:
    weight = file_sd.get("vision_proj.weight")
    return int(weight.shape[0]) if isinstance(weight, torch.Tensor) and weight.dim() == 2 else None
