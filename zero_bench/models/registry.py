"""Model and trainer plugins, discovered from the ``zero_bench.models`` and ``zero_bench.trainers`` entry-point
groups (the core imports none by name)."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from zero_bench.errors import ZeroBenchError
from zero_bench.models.protocol import Model
from zero_bench.models.trainer_protocol import Trainer

GROUP = "zero_bench.models"
TRAINER_GROUP = "zero_bench.trainers"


def model_entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def list_models() -> list[str]:
    return sorted(model_entry_points())


def create_model(name: str, **options: Any) -> Model:
    """Build a registered model.  ``options`` (checkpoint, config, device, ...) go to the plugin's factory."""
    eps = model_entry_points()
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none installed"
        raise ZeroBenchError(f"unknown model {name!r}; registered models: {known}")
    factory = eps[name].load()
    model = factory(**options)
    if not isinstance(model, Model):
        raise ZeroBenchError(
            f"model plugin {name!r} ({eps[name].value}) does not implement the zero_bench Model protocol"
        )
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
