"""R2D2 / PRD2 model plugin for zero-bench (reference model of the Zero / CCMB benchmark).

Heavy modules (torch models, transformers) are imported lazily: ``from zero_bench_r2d2 import R2D2Model``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "create_r2d2": "plugin",
    "create_prd2": "plugin",
    "R2D2Plugin": "plugin",
    "R2D2DualEncoderPlugin": "plugin",
    "R2D2Model": "modeling",
    "R2D2Config": "config",
    "load_config": "config",
    "R2D2Tokenizer": "tokenizer",
    "R2D2ImageTransform": "preprocessing",
    "convert_checkpoint": "checkpoints",
    "save_safetensors": "checkpoints",
    "read_state_dict": "checkpoints",
    "load_into": "checkpoints",
    "REGISTRY": "checkpoints",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(f"zero_bench_r2d2.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'zero_bench_r2d2' has no attribute {name!r}")
