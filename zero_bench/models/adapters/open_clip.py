"""``open_clip:<architecture>[/<pretrained tag or weights file>]`` on open-clip-torch (multilingual text towers
included), with open_clip's own preprocessing and tokenizer.  Needs the ``open_clip`` extra."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import sha256_file
from zero_bench.models.adapters.common import (
    DualEncoderAdapter,
    check_options,
    count_parameters,
    no_weights,
)
from zero_bench.models.protocol import ModelInfo

_OPTIONS = ("source", "config", "random_init", "device", "training_data", "name")


class OpenClipAdapter(DualEncoderAdapter):
    def __init__(self, model: nn.Module, info: ModelInfo, preprocess: Any, tokenizer: Any) -> None:
        super().__init__(model, info, preprocess)
        self.tokenizer = tokenizer

    def embed_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels)

    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        return self.model.encode_text(self.tokenizer(texts).to(self.device))


def _register_config(config: str) -> str:
    """A model config JSON file registered through open_clip's API; its architecture name is the file stem."""
    import open_clip

    path = Path(config).expanduser()
    if not path.is_file() or path.suffix != ".json":
        raise ZeroBenchError(f"{config}: an open_clip model config must be an existing .json file")
    open_clip.add_model_config(path)
    return path.stem


def _weights(arch: str, pretrained: str) -> Path:
    """A weights file, or a pretrained tag downloaded (or found in the cache) by open_clip itself."""
    import open_clip

    path = Path(pretrained).expanduser()
    if path.is_file():
        return path
    cfg = open_clip.get_pretrained_cfg(arch, pretrained)
    if not cfg:
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
        raise ZeroBenchError(f"open_clip:{arch}/{pretrained}: neither a file nor a known tag (tags for {arch}: {tags})")
    try:
        return Path(open_clip.download_pretrained(cfg))
    except Exception as exc:
        raise ZeroBenchError(
            f"open_clip:{arch}/{pretrained}: cannot get the weights ({type(exc).__name__}: {exc})"
        ) from exc


def create_open_clip(source: str = "", random_init: bool = False, **options: Any) -> OpenClipAdapter:
    import open_clip

    check_options("open_clip", {"source": source, **options}, _OPTIONS)
    arch, _, pretrained = source.partition("/")
    if options.get("config"):
        registered = _register_config(options["config"])
        arch = arch or registered
    if arch not in open_clip.list_models():
        raise ZeroBenchError(f"open_clip: unknown architecture {arch!r} (see open_clip.list_models())")
    weights: Path | None = None
    if random_init:
        if pretrained:
            raise ZeroBenchError(f"open_clip:{source}: --random-init and pretrained weights exclude each other")
    elif not pretrained:
        raise no_weights(f"open_clip:{arch} without a pretrained tag or weights file")
    else:
        weights = _weights(arch, pretrained)
    model, _, preprocess = open_clip.create_model_and_transforms(
        arch, pretrained=str(weights) if weights is not None else None
    )
    model.eval()
    info = ModelInfo(
        name=str(options.get("name") or f"open_clip {arch}" + (f" ({pretrained})" if pretrained else "")),
        parameters=count_parameters(model),
        training_data=str(options.get("training_data") or ("random init" if random_init else "not declared")),
        checkpoint=str(weights) if weights is not None else "none (random init)",
        checkpoint_sha256=sha256_file(weights) if weights is not None else None,
        link="https://github.com/mlfoundations/open_clip",
        random_init=random_init,
    )
    adapter = OpenClipAdapter(model, info, preprocess, open_clip.get_tokenizer(arch))
    if options.get("device") is not None:
        adapter.to(options["device"])
    return adapter
