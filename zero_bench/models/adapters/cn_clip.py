"""``cn_clip:<name or checkpoint file>`` on the cn-clip package, with its own evaluation's text preprocessing,
tokenizer (context length 52) and image transform.

A name (``ViT-B-16``, ``ViT-L-14``, ``ViT-L-14-336``, ``ViT-H-14``, ``RN50``) is fetched from the hub repository
cn_clip itself names; a checkpoint file (cn_clip's ``{"state_dict": ...}`` training format) needs ``config``: a
``Vision@Text`` structure name of cn_clip's model configs, or a JSON file of the ``CLIP`` constructor's arguments
(``image_resolution`` included).  Needs the ``cn_clip`` extra."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import torch

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import sha256_file
from zero_bench.models.adapters.common import DualEncoderAdapter, check_options, count_parameters, no_weights
from zero_bench.models.protocol import ModelInfo

_OPTIONS = ("source", "config", "random_init", "device", "training_data", "name")
HUB_ORGANISATION = "OFA-Sys"  # where cn_clip's own loader fetches the released checkpoints


# The text length of Chinese-CLIP's own evaluation: ``--context-length`` defaults to 52 (tokens, [CLS] and [SEP]
# included) in cn_clip/eval/extract_features.py (retrieval) and cn_clip/eval/zeroshot_evaluation.py.
CONTEXT_LENGTH = 52


class CnClipAdapter(DualEncoderAdapter):
    """Texts and images as Chinese-CLIP's evaluation feeds them: each text through ``cn_clip.eval.data.
    _preprocess_text`` (lower case, curly double quotes to ``"``), then ``cn_clip.clip.tokenize`` at
    :data:`CONTEXT_LENGTH`; images through ``cn_clip.clip.utils.image_transform`` at the model's resolution."""

    def embed_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model.encode_image(pixels)

    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        from cn_clip.clip import tokenize
        from cn_clip.eval.data import _preprocess_text

        # Under the classification protocol ``cn_clip`` zero_bench.prompts has already applied _preprocess_text to
        # the prompts; applying it again here changes nothing (lower-casing and the quote replacement are
        # idempotent), so the protocol record stays true for every adapter.
        tokens = tokenize([_preprocess_text(str(text)) for text in texts], context_length=CONTEXT_LENGTH)
        return self.model.encode_text(tokens.to(self.device))


def model_arguments(config: str) -> dict[str, Any]:
    """``CLIP(**arguments)`` from a ``Vision@Text`` name (cn_clip's config files) or a JSON file."""
    import cn_clip.clip

    path = Path(config).expanduser()
    if path.is_file():
        try:
            args = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ZeroBenchError(f"{path}: invalid JSON: {exc}") from exc
    else:
        folder = Path(cn_clip.clip.__file__).parent / "model_configs"
        vision, _, text = config.partition("@")
        files = [folder / f"{vision}.json", folder / f"{text}.json"]
        if not text or not all(f.is_file() for f in files):
            raise ZeroBenchError(f"cn_clip: config {config!r} is neither a JSON file nor 'Vision@Text' of {folder}")
        args = {**json.loads(files[0].read_text()), **json.loads(files[1].read_text())}
    if isinstance(args.get("vision_layers"), str):  # cn_clip writes ResNet layer lists as strings
        args["vision_layers"] = ast.literal_eval(args["vision_layers"])
    return args


def _released(name: str) -> tuple[Path, str]:
    """A released checkpoint by name, from the hub repository cn_clip's own table names: (file, structure)."""
    from cn_clip.clip.utils import _MODEL_INFO, _MODELS
    from huggingface_hub import hf_hub_download

    repo, filename = _MODELS[name]
    try:
        path = hf_hub_download(f"{HUB_ORGANISATION}/{repo}", filename)
    except Exception as exc:
        raise ZeroBenchError(
            f"cn_clip:{name}: cannot get {filename} from huggingface.co/{HUB_ORGANISATION}/{repo} "
            f"({type(exc).__name__}); or download it and pass the file with --model-config {_MODEL_INFO[name]['struct']}"
        ) from exc
    return Path(path), str(_MODEL_INFO[name]["struct"])


def load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """cn_clip's checkpoint format: ``{"state_dict": ...}``, keys possibly prefixed ``module.`` (DDP)."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ZeroBenchError(f"{path}: not a readable torch checkpoint ({type(exc).__name__}: {exc})") from exc
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise ZeroBenchError(f"{path}: expected cn_clip's checkpoint format {{'state_dict': ...}}")
    return {k.removeprefix("module."): v for k, v in checkpoint["state_dict"].items() if "bert.pooler" not in k}


def create_cn_clip(source: str = "", random_init: bool = False, **options: Any) -> CnClipAdapter:
    from cn_clip.clip.model import CLIP
    from cn_clip.clip.utils import _MODEL_INFO, _MODELS, image_transform

    check_options("cn_clip", {"source": source, **options}, _OPTIONS)
    config = options.get("config")
    weights: Path | None = None
    if source in _MODELS:
        config = config or str(_MODEL_INFO[source]["struct"])
        if not random_init:
            weights, config = _released(source)
    elif source and Path(source).expanduser().is_file():
        if random_init:
            raise ZeroBenchError(f"cn_clip:{source}: --random-init and a checkpoint file exclude each other")
        weights = Path(source).expanduser()
    elif not random_init:
        raise no_weights(f"cn_clip:{source or '?'} (neither a released name {sorted(_MODELS)} nor a file)")
    if not config:
        raise ZeroBenchError(f"cn_clip:{source}: a checkpoint file needs --model-config (Vision@Text or a JSON file)")
    args = model_arguments(config)
    resolution = int(args.get("image_resolution", 224))
    model = CLIP(**args)
    if weights is not None:
        try:
            model.load_state_dict(load_state_dict(weights))
        except RuntimeError as exc:
            raise ZeroBenchError(f"{weights}: does not fit config {config}: {exc}".splitlines()[0]) from exc
    model.float().eval()
    info = ModelInfo(
        name=str(options.get("name") or f"Chinese-CLIP {source if source in _MODELS else Path(config).stem}"),
        parameters=count_parameters(model),
        training_data=str(options.get("training_data") or ("random init" if random_init else "not declared")),
        checkpoint=str(weights) if weights is not None else "none (random init)",
        checkpoint_sha256=sha256_file(weights) if weights is not None else None,
        link="https://github.com/OFA-Sys/Chinese-CLIP",
        random_init=random_init,
    )
    adapter = CnClipAdapter(model, info, image_transform(resolution))
    if options.get("device") is not None:
        adapter.to(options["device"])
    return adapter
