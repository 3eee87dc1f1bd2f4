"""``hf:<repo-or-folder>[@revision]``: any transformers model with ``get_image_features`` / ``get_text_features``
(ChineseCLIPModel, AltCLIPModel, CLIPModel, SiglipModel, ...), with the repository's own image processor and
tokenizer.  Needs the ``hf`` extra (transformers); imported only when such a model is asked for."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zero_bench.errors import ZeroBenchError
from zero_bench.models.adapters.common import (
    DualEncoderAdapter,
    check_options,
    commit_sha256,
    count_parameters,
    hub_snapshot,
    no_weights,
    split_revision,
    weight_files,
    weights_sha256,
)
from zero_bench.models.protocol import ModelInfo

_OPTIONS = ("source", "revision", "image_tower", "random_init", "device", "training_data", "name")
_SMALL_FILES = ("*.json", "*.txt", "*.model", "*.tiktoken", "*merges*")
_TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Buffers that transformers recomputes and stops saving (not weights); missing from a checkpoint is harmless.
_NOT_WEIGHTS = ("position_ids",)


class HFImageTransform:
    """PIL image -> pixel tensor with the repository's image processor (picklable for DataLoader workers)."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor

    def __call__(self, image: Any) -> torch.Tensor:
        return self.processor(images=image, return_tensors="pt")["pixel_values"][0]


def _features(output: Any) -> torch.Tensor:
    """transformers 5 returns a model output whose ``pooler_output`` holds the projected features; 4.x a tensor."""
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class HFAdapter(DualEncoderAdapter):
    def __init__(self, model: Any, info: ModelInfo, image_processor: Any, tokenizer: Any) -> None:
        super().__init__(model, info, HFImageTransform(image_processor))
        self.tokenizer = tokenizer
        config = model.config
        text_config = getattr(config, "text_config", config)
        limit = getattr(text_config, "max_position_embeddings", None) or 512
        self.max_length = min(int(getattr(tokenizer, "model_max_length", limit) or limit), int(limit))
        # SigLIP was trained on texts padded to the full length; the others on dynamic padding.
        self.padding = "max_length" if config.model_type.startswith("siglip") else True
        accepted = inspect.signature(model.get_text_features).parameters
        self.text_inputs = [name for name in _TEXT_INPUTS if name in accepted]

    def embed_images(self, pixels: torch.Tensor) -> torch.Tensor:
        return _features(self.model.get_image_features(pixel_values=pixels))

    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        batch = self.tokenizer(
            texts, padding=self.padding, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        inputs = {name: batch[name].to(self.device) for name in self.text_inputs if name in batch}
        return _features(self.model.get_text_features(**inputs))


class TwoTowers(nn.Module):
    """A text-only repository whose classifier logits are the text features, beside a CLIP-like image tower from
    another repository (Taiyi-CLIP: ``BertForSequenceClassification`` + ``openai/clip-vit-base-patch32``).

    Texts run with their attention mask; the model card's example passes ``input_ids`` alone, which lets the
    padding of a batch into its shorter texts (a batch-dependent embedding)."""

    def __init__(self, text_model: Any, image_model: Any) -> None:
        super().__init__()
        self.text_model: Any = text_model
        self.image_model: Any = image_model
        self.config = text_model.config

    def get_image_features(self, pixel_values: torch.Tensor) -> torch.Tensor:
        return _features(self.image_model.get_image_features(pixel_values=pixel_values))

    def get_text_features(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.text_model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits


def _resolve(source: str, revision: str | None) -> tuple[Path, str, str | None]:
    """(folder, description for ModelInfo.checkpoint, identity sha256 or None for a local folder)."""
    folder = Path(source).expanduser()
    if folder.is_dir():
        if revision is not None:
            raise ZeroBenchError(f"hf:{source}: a local folder has no revision")
        return folder, str(folder.resolve()), None
    # Configs, tokenizer and processor files first; then safetensors weights, and only if a repository has none the
    # pickled ones (hub repositories often hold both, and Chinese-CLIP's also a .pt in cn_clip's own format).
    folder, commit = hub_snapshot(source, revision, list(_SMALL_FILES))
    for patterns in (["*.safetensors"], ["*.bin"]):
        hub_snapshot(source, commit, patterns)
        if weight_files(folder):
            break
    return folder, f"{source}@{commit}", commit_sha256(source, commit)


def _load_weights(folder: Path, label: str, auto: Any = None) -> nn.Module:
    from transformers import AutoModel

    if not weight_files(folder):
        raise no_weights(f"hf:{label} has no weight files in {folder}")
    try:
        model, loading = (auto or AutoModel).from_pretrained(folder, output_loading_info=True)
    except (OSError, ValueError, KeyError) as exc:
        raise ZeroBenchError(f"hf:{label}: cannot load the model: {exc}".splitlines()[0]) from exc
    missing = [k for k in loading.get("missing_keys", []) if not k.endswith(_NOT_WEIGHTS)]
    if missing:
        raise no_weights(
            f"hf:{label}: {len(missing)} weight(s) are not in the checkpoint and would stay random (e.g. {sorted(missing)[0]})"
        )
    return model


def _local_identity(folder: Path) -> str:
    return weights_sha256(weight_files(folder))


def _combined(*identities: str) -> str:
    return hashlib.sha256(" ".join(identities).encode()).hexdigest()


def _two_towers(text_folder: Path, image_folder: Path, repo: str, tower: str, random_init: bool) -> TwoTowers:
    from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification

    if random_init:
        return TwoTowers(
            AutoModelForSequenceClassification.from_config(AutoConfig.from_pretrained(text_folder)),
            AutoModel.from_config(AutoConfig.from_pretrained(image_folder)),
        )
    return TwoTowers(
        _load_weights(text_folder, repo, AutoModelForSequenceClassification), _load_weights(image_folder, tower)
    )


def create_hf(source: str = "", random_init: bool = False, **options: Any) -> HFAdapter:
    """``source``: a local folder saved with ``save_pretrained`` or a hub id, optionally ``@revision``.
    ``image_tower``: for a text-only repository whose classifier logits are its text features, the CLIP-like
    repository (or folder) whose ``get_image_features`` embeds the images (Taiyi-CLIP)."""
    from transformers import AutoConfig, AutoImageProcessor, AutoModel, AutoTokenizer

    check_options("hf", {"source": source, **options}, _OPTIONS)
    if not source:
        raise ZeroBenchError("hf: name a model folder or hub id, e.g. -m hf:OFA-Sys/chinese-clip-vit-base-patch16")
    repo, revision = split_revision(source)
    folder, checkpoint, identity = _resolve(repo, options.get("revision") or revision)
    image_folder = folder
    if options.get("image_tower"):
        tower, tower_revision = split_revision(options["image_tower"])
        image_folder, tower_checkpoint, tower_identity = _resolve(tower, tower_revision)
        model: nn.Module = _two_towers(folder, image_folder, repo, tower, random_init)
        checkpoint = f"{checkpoint} + image tower {tower_checkpoint}"
        identity = _combined(identity or _local_identity(folder), tower_identity or _local_identity(image_folder))
    elif random_init:
        model = AutoModel.from_config(AutoConfig.from_pretrained(folder))
    else:
        model = _load_weights(folder, repo)
        identity = identity or _local_identity(folder)
    if not (hasattr(model, "get_image_features") and hasattr(model, "get_text_features")):
        raise ZeroBenchError(
            f"hf:{repo}: {type(model).__name__} has no get_image_features / get_text_features (not a dual encoder)"
        )
    model.eval()
    info = ModelInfo(
        name=str(options.get("name") or f"{type(model).__name__} ({repo})"),
        parameters=count_parameters(model),
        training_data=str(options.get("training_data") or ("random init" if random_init else "not declared")),
        checkpoint="none (random init)" if random_init else checkpoint,
        checkpoint_sha256=None if random_init else identity,
        link=f"https://huggingface.co/{repo}" if not Path(repo).expanduser().exists() else None,
        random_init=random_init,
    )
    processor = AutoImageProcessor.from_pretrained(image_folder)
    adapter = HFAdapter(model, info, processor, AutoTokenizer.from_pretrained(folder))
    if options.get("device") is not None:
        adapter.to(options["device"])
    return adapter
