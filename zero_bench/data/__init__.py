"""The data layer: dataset registry, downloaders, Arrow corpora, verify / stats and the zero-toy benchmark.

Public entry points (imported lazily so that ``import zero_bench.data`` stays cheap):
``load_corpus``, ``CorpusIterable``, ``generate_zero_toy``, ``toy_task_dir``, ``REGISTRY``, ``get_entry``.
"""

from __future__ import annotations

_EXPORTS = {
    "load_corpus": "zero_bench.data.corpus",
    "download_corpus": "zero_bench.data.corpus",
    "verify_corpus": "zero_bench.data.corpus",
    "CorpusIterable": "zero_bench.data.torch_adapter",
    "generate_zero_toy": "zero_bench.data.toy",
    "toy_task_dir": "zero_bench.data.toy",
    "toy_corpus_dir": "zero_bench.data.toy",
    "ToySizes": "zero_bench.data.toy",
    "REGISTRY": "zero_bench.data.registry",
    "get_entry": "zero_bench.data.registry",
    "install_task_dataset": "zero_bench.data.tasks",
    "verify_dataset": "zero_bench.data.tasks",
    "check_pins": "zero_bench.data.lock",
    "install_elevater": "zero_bench.data.classification",
    "install_imagenet": "zero_bench.data.classification",
    "verify_elevater": "zero_bench.data.classification",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'zero_bench.data' has no attribute {name!r}")
