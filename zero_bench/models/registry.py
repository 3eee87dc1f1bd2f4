"""Model and trainer plugins, discovered from the ``zero_bench.models`` and ``zero_bench.trainers`` entry-point
groups (the core imports none by name).

A model is named three ways, all through the same entry points: a plugin name (``r2d2``), an adapter with its
source (``hf:<repo or folder>``, ``open_clip:<arch>/<pretrained>``, ``cn_clip:<name>``), or a zoo entry
(``chinese-clip-vit-b-16``) that stands for one of those with its options and declared facts.
"""

from __future__ import annotations

import inspect
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from zero_bench.errors import ZeroBenchError
from zero_bench.models.protocol import Model
from zero_bench.models.trainer_protocol import Trainer
from zero_bench.models.zoo import ZOO

GROUP = "zero_bench.models"
TRAINER_GROUP = "zero_bench.trainers"


def model_entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def list_models() -> list[str]:
    return sorted(model_entry_points())


def _missing_package(name: str, ep: EntryPoint, exc: ImportError) -> ZeroBenchError:
    """The shipped adapters are extras of zero-bench itself; a third-party plugin names its own distribution."""
    dist = ep.dist.name if ep.dist is not None else None
    fix = f"pip install 'zero-bench[{name}]'" if dist == "zero-bench" else f"reinstall {dist or ep.value}"
    return ZeroBenchError(f"model {name!r} needs {exc.name or exc}, which is not installed: {fix}")


def _factory(name: str, eps: dict[str, EntryPoint]) -> Any:
    try:
        return eps[name].load()
    except ImportError as exc:
        raise _missing_package(name, eps[name], exc) from exc


def _accepts_random_init(factory: Any) -> bool:
    return "random_init" in inspect.signature(factory).parameters


def create_model(name: str, *, random_init: bool = False, **options: Any) -> Model:
    """Build a model by plugin name, ``adapter:source`` or zoo name.  ``options`` (checkpoint, config, device,
    ...) go to the factory.  A model whose weights cannot be identified (none loaded) is refused unless
    ``random_init``; then its ``info.random_init`` is set so every Result and table says so."""
    eps = model_entry_points()
    entry = ZOO.get(name)
    spec = entry.model if entry is not None else name
    if entry is not None:
        options = {**entry.options, **options}
    plugin, sep, source = spec.partition(":")
    if plugin not in eps:
        known = ", ".join(sorted(eps)) or "none installed"
        raise ZeroBenchError(
            f"unknown model {name!r}; registered models: {known}; zoo: {', '.join(ZOO)} (see 'zero-bench models')"
        )
    if sep:
        options["source"] = source
    factory = _factory(plugin, eps)
    if _accepts_random_init(factory):
        options["random_init"] = random_init
    try:
        model = factory(**options)
    except ImportError as exc:  # the adapters import their library only here
        raise _missing_package(plugin, eps[plugin], exc) from exc
    except ZeroBenchError as exc:
        if entry is None or entry.manual_step is None:
            raise
        raise ZeroBenchError(f"{name}: {exc}".splitlines()[0] + f" -- before use: {entry.manual_step}") from exc
    if not isinstance(model, Model):
        raise ZeroBenchError(
            f"model plugin {plugin!r} ({eps[plugin].value}) does not implement the zero_bench Model protocol"
        )
    if not model.info.checkpoint_sha256 and not model.info.random_init:
        if not random_init:
            raise ZeroBenchError(
                f"model {name!r} has no identified weights (no checkpoint loaded): give a checkpoint, "
                "or pass --random-init to evaluate random weights on purpose"
            )
        model.info = model.info.model_copy(update={"random_init": True})
    if entry is not None:
        declared: dict[str, Any] = {
            "training_data": entry.training_data,
            "training_corpora": entry.corpora(),
            "organisation": entry.organisation,
            "link": entry.paper,
        }
        if model.info.random_init:
            declared.pop("training_data")
            declared.pop("training_corpora")
        model.info = model.info.model_copy(update={"name": entry.name, **declared})
    return model


def get_trainer(name: str) -> Trainer:
    """The trainer registered for model ``name`` (an object implementing :class:`Trainer`)."""
    eps = {ep.name: ep for ep in entry_points(group=TRAINER_GROUP)}
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none installed"
        raise ZeroBenchError(f"model {name!r} has no registered trainer (entry points '{TRAINER_GROUP}': {known})")
    trainer = eps[name].load()
    if not isinstance(trainer, Trainer):
        raise ZeroBenchError(
            f"trainer plugin {name!r} ({eps[name].value}) does not implement the zero_bench Trainer protocol"
        )
    return trainer
