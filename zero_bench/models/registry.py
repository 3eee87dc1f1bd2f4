"""Model plugins, discovered from the ``zero_bench.models`` entry-point group (the core imports none by name)."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Any

from zero_bench.errors import ZeroBenchError
from zero_bench.models.protocol import Model

GROUP = "zero_bench.models"


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
