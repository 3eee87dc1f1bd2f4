"""R2D2 configuration: the three official-format config files, named configs, and what the model is built from.

A config folder holds the files the official code reads:

* ``vision_config_base.json``: a CLIPConfig; only its ``vision_config`` (merged with the legacy
  ``vision_config_dict``, which wins, as transformers 4.15 read only that one) is used;
* ``hfl_roberta_config.json``: the BERT text encoder;
* ``bert_config.json``: the two joint (cross) encoders.  As in the official constructor, its
  ``num_hidden_layers`` and ``encoder_width`` are overridden (6 layers; cross-attention width = vision width for
  ``text_joint_layer``, text width for ``img_joint_layer``).  Ours, not the official files': a ``joint_layers``
  key in it sets the joint depth instead (only ``r2d2-toy`` has one; every other config gets the official 6).

The projection width ``embed_dim`` is not in the official files (the official constructor takes it as an
argument, 768 in every released model).  It is taken from, in order: an explicit ``embed_dim`` option, an
``embed_dim`` key in ``vision_config_base.json`` (the named configs here have one), the checkpoint's
``vision_proj.weight`` when a checkpoint is loaded, else 768.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from zero_bench.errors import ZeroBenchError

CONFIG_FILES = ("vision_config_base.json", "hfl_roberta_config.json", "bert_config.json")
# r2d2-tiny: the test model (32 px, 2 x 2 patches of 16 px; the official-output fixture uses it).  r2d2-toy: the same
# network at 48 px with 8 px patches (6 x 6), used by the quickstart: with 2 x 2 patches the cross encoders have almost
# no tokens to attend to and re-ranking does not beat the dual encoder (TRAINING.md, "The ranking stage on the toy"),
# and at 32 px a small shape's outline is lost (TRAINING.md, "Input size"); 2 joint layers, not 6: twice the steps in
# the same time, which the miniature needs (TRAINING.md, "Depth and steps").
NAMED_CONFIGS = ("r2d2-vit-b", "r2d2-vit-l", "r2d2-tiny", "r2d2-toy")
DEFAULT_CONFIG = "r2d2-vit-b"
DEFAULT_EMBED_DIM = 768
JOINT_LAYERS = 6
JOINT_LAYERS_KEY = "joint_layers"  # ours (see the module docstring); the official constructor fixes 6
TEXT_VOCAB_SIZE = 21128
MAX_TEXT_LENGTH = 64

_VISION_KEYS = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_channels",
    "image_size",
    "patch_size",
    "hidden_act",
    "layer_norm_eps",
    "attention_dropout",
    "initializer_range",
    "initializer_factor",
)
_BERT_KEYS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "hidden_dropout_prob",
    "attention_probs_dropout_prob",
    "max_position_embeddings",
    "type_vocab_size",
    "layer_norm_eps",
    "pad_token_id",
    "initializer_range",
)
_VISION_DEFAULTS: dict[str, Any] = {
    "num_channels": 3,
    "hidden_act": "quick_gelu",
    "layer_norm_eps": 1e-5,
    "attention_dropout": 0.0,
    "initializer_range": 0.02,
    "initializer_factor": 1.0,
}
_BERT_DEFAULTS: dict[str, Any] = {
    "vocab_size": TEXT_VOCAB_SIZE,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
    "initializer_range": 0.02,
}


@dataclass
class R2D2Config:
    """Everything :class:`~zero_bench_r2d2.modeling.R2D2Model` is built from (plain dicts of HF config values)."""

    vision: dict[str, Any]
    text: dict[str, Any]
    joint: dict[str, Any]
    embed_dim: int | None = None
    name: str = "custom"
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def vision_width(self) -> int:
        return int(self.vision["hidden_size"])

    @property
    def text_width(self) -> int:
        return int(self.text["hidden_size"])

    @property
    def joint_width(self) -> int:
        return int(self.joint["hidden_size"])

    @property
    def image_size(self) -> int:
        return int(self.vision["image_size"])

    @property
    def num_patches(self) -> int:
        return (self.image_size // int(self.vision["patch_size"])) ** 2

    def resolved_embed_dim(self) -> int:
        return int(self.embed_dim) if self.embed_dim is not None else DEFAULT_EMBED_DIM

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def configs_dir() -> Path:
    return Path(__file__).resolve().parent / "configs"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ZeroBenchError(f"{path}: config file missing (a config folder needs {', '.join(CONFIG_FILES)})") from None
    except json.JSONDecodeError as exc:
        raise ZeroBenchError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ZeroBenchError(f"{path}: expected a JSON object")
    return data


def _pick(source: dict[str, Any], keys: tuple[str, ...], defaults: dict[str, Any], path: Path) -> dict[str, Any]:
    out = dict(defaults)
    out.update({k: source[k] for k in keys if k in source and source[k] is not None})
    missing = [k for k in keys if k not in out]
    if missing:
        raise ZeroBenchError(f"{path}: missing {', '.join(missing)}")
    return out


def _joint_layers(joint_file: dict[str, Any], path: Path) -> int:
    """The joint depth: the file's ``joint_layers`` (ours) or the official constructor's 6, which overrides the file's
    ``num_hidden_layers``."""
    layers = joint_file.get(JOINT_LAYERS_KEY, JOINT_LAYERS)
    if isinstance(layers, bool) or not isinstance(layers, int) or layers < 1:
        raise ZeroBenchError(f"{path}: {JOINT_LAYERS_KEY} must be an integer >= 1, got {layers!r}")
    return layers


def load_config(config: str | Path | None = None, embed_dim: int | None = None) -> R2D2Config:
    """A named config (``r2d2-vit-b`` default, ``r2d2-vit-l``, ``r2d2-tiny``, ``r2d2-toy``) or a folder with the 3 official files."""
    name = DEFAULT_CONFIG if config is None else str(config)
    if name in NAMED_CONFIGS:
        folder = configs_dir() / name
    else:
        folder = Path(name).expanduser()
        if not folder.is_dir():
            raise ZeroBenchError(
                f"unknown R2D2 config {name!r}: use one of {', '.join(NAMED_CONFIGS)} or a folder holding {', '.join(CONFIG_FILES)}"
            )
        name = folder.name
    vision_file = _read_json(folder / CONFIG_FILES[0])
    vision_src = dict(vision_file.get("vision_config") or {})
    vision_src.update(vision_file.get("vision_config_dict") or {})
    if not vision_src:
        raise ZeroBenchError(f"{folder / CONFIG_FILES[0]}: no vision_config (expected a CLIPConfig)")
    vision = _pick(vision_src, _VISION_KEYS, _VISION_DEFAULTS, folder / CONFIG_FILES[0])
    text = _pick(_read_json(folder / CONFIG_FILES[1]), _BERT_KEYS, _BERT_DEFAULTS, folder / CONFIG_FILES[1])
    joint_file = _read_json(folder / CONFIG_FILES[2])
    joint = _pick(joint_file, _BERT_KEYS, _BERT_DEFAULTS, folder / CONFIG_FILES[2])
    joint["num_hidden_layers"] = _joint_layers(joint_file, folder / CONFIG_FILES[2])
    if text["hidden_size"] != joint["hidden_size"]:
        raise ZeroBenchError(
            f"{folder}: text encoder width {text['hidden_size']} != joint-layer width {joint['hidden_size']} "
            "(the text-image joint layer takes the text states directly)"
        )
    if embed_dim is None and vision_file.get("embed_dim") is not None:
        embed_dim = int(vision_file["embed_dim"])
    return R2D2Config(vision=vision, text=text, joint=joint, embed_dim=embed_dim, name=name, source=str(folder))
