"""The interface of a trainer plugin, registered in the ``zero_bench.trainers`` entry-point group under the
model's name; ``zero-bench train``, ``finetune`` and ``quickstart`` call it with the generic options of the
command line (importable without torch).

Every method returns a summary dict (at least ``step``, the optimizer steps done; ``best``, the selected epoch's
``metric``, ``value`` and ``epoch`` when model selection ran).  ``options`` are the training settings the user
gave (``epochs``, ``max_steps``, ``batch_size``, ``grad_accum``, ``lr``, ``warmup_steps``, ``precision``,
``num_workers``, ``seed``, ``device``, ``save_every``, ``gradient_checkpointing``, ``show_progress`` and whatever
``--set KEY=VALUE`` added); a value of None means "the recipe's default" and an option the trainer does not know
is a :class:`~zero_bench.errors.ZeroBenchError`.  The loop itself can be the core's
:class:`zero_bench.training.trainer.TrainingLoop`.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Trainer(Protocol):
    name: str  # the model name (the entry point's name)
    tasks: tuple[str, ...]  # tasks it has a fine-tuning recipe for

    def pretrain(
        self,
        *,
        config: str | None,
        corpus: str,
        output_dir: str,
        resume: str | None = None,
        init: str | None = None,
        data_root: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Pre-train model configuration ``config`` on ``corpus`` (a registry name or folder) into
        ``output_dir``; ``resume`` a run folder to continue exactly, ``init`` weights to start from."""
        ...

    def finetune(
        self,
        *,
        task: str,
        checkpoint: str | None,
        config: str | None,
        output_dir: str,
        data_dir: str | None = None,
        resume: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Fine-tune ``checkpoint`` on ``task``'s train split, choosing the best epoch on its val split."""
        ...

    def quickstart(self, *, output_dir: str, **options: Any) -> dict[str, Any]:
        """A small end-to-end demonstration (data, training, evaluation) that runs offline on a CPU."""
        ...
