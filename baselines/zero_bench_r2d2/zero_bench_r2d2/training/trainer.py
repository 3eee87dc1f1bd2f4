"""R2D2's training loop: the core's :class:`~zero_bench.training.trainer.TrainingLoop` with what is R2D2's own:
the exported model file (official key names, safetensors: ``create_r2d2(checkpoint=that file)`` loads it), the
model's gradient checkpointing, and DDP's unused-parameter search when an objective is switched off."""

from __future__ import annotations

from pathlib import Path

from zero_bench.evaluation.distributed import init_distributed
from zero_bench.training.trainer import TrainConfig, TrainingLoop

__all__ = ["TrainConfig", "Trainer", "init_distributed"]


class Trainer(TrainingLoop):
    """Trains a ``RetrievalObjective`` or ``MatchingObjective`` (``objectives.py``) over an R2D2 loader."""

    def enable_gradient_checkpointing(self) -> None:
        self.model.set_gradient_checkpointing(True)  # type: ignore[operator]

    def find_unused_parameters(self) -> bool:
        # with a loss weight at 0 its heads get no gradient; DDP must then look for unused parameters
        config = getattr(self.objective, "config", None)
        return config is not None and not config.all_on()

    def write_model(self, path: Path) -> Path:
        from zero_bench_r2d2.checkpoints import save_safetensors

        meta = {"step": str(self.step), "config_name": str(getattr(self.model.config, "name", ""))}
        return save_safetensors(self.model, path, metadata=meta)
