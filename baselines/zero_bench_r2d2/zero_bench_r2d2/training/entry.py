"""The R2D2 trainer plugin (entry point ``r2d2`` in the ``zero_bench.trainers`` group).

The core's ``zero-bench train / finetune / quickstart`` commands load ``TRAINER`` through the entry point and
call ``pretrain``, ``finetune`` or ``quickstart`` with generic options; nothing here is imported by the core.
"""

from __future__ import annotations

from typing import Any

from zero_bench.errors import ZeroBenchError

_TRAIN_KEYS = {
    "epochs",
    "max_steps",
    "stop_after",
    "time_limit_s",
    "batch_size",
    "grad_accum",
    "lr",
    "weight_decay",
    "warmup_steps",
    "schedule",
    "min_lr_ratio",
    "clip_grad",
    "precision",
    "gradient_checkpointing",
    "num_workers",
    "seed",
    "device",
    "save_every",
    "keep_every",
    "log_every",
    "show_progress",
}


def _split(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from dataclasses import fields

    from zero_bench_r2d2.training.objectives import ObjectiveConfig

    objective_keys = {f.name for f in fields(ObjectiveConfig)}
    train, objective = {}, {}
    for key, value in options.items():
        if value is None or key in ("dropout", "text_mix", "group_by"):
            continue
        if key in _TRAIN_KEYS:
            train[key] = value
        elif key in objective_keys:
            objective[key] = value
        else:
            raise ZeroBenchError(f"r2d2 trainer: unknown option {key!r}")
    return train, objective


class R2D2Trainer:
    name = "r2d2"
    tasks = ("icr", "iqr", "flickr30k-cna", "icm", "iqm")

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
        from zero_bench_r2d2.training.objectives import ObjectiveConfig
        from zero_bench_r2d2.training.recipes import pretrain

        train, objective = _split(options)
        ocfg = ObjectiveConfig.from_dict({"seed": train.get("seed", 0)} | objective)
        return pretrain(
            config=config or "r2d2-vit-b",
            corpus=corpus,
            output_dir=output_dir,
            train=train,
            objective=ocfg,
            init=init,
            resume=resume,
            data_root=data_root,
            dropout=options.get("dropout"),
            text_mix=options.get("text_mix"),
            group_by=options.get("group_by"),
        )

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
        from zero_bench_r2d2.training.recipes import finetune

        train, objective = _split(options)
        if options.get("text_mix") is not None:
            raise ZeroBenchError(
                "text_mix weights the pre-training corpus's text fields; fine-tuning reads the task's texts"
            )
        if options.get("group_by") is not None:
            raise ZeroBenchError("group_by batches the pre-training corpus's families; fine-tuning reads a task")
        if objective:
            raise ZeroBenchError(
                f"fine-tuning uses the official recipe's losses; objective options {sorted(objective)} do not apply"
            )
        return finetune(
            task=task,
            checkpoint=checkpoint,
            config=config,
            output_dir=output_dir,
            data_dir=data_dir,
            train=train,
            resume=resume,
            dropout=options.get("dropout"),
        )

    def quickstart(self, *, output_dir: str, **options: Any) -> dict[str, Any]:
        from zero_bench_r2d2.training.quickstart import QuickstartConfig, run_quickstart

        return run_quickstart(
            QuickstartConfig(output_dir=output_dir, **{k: v for k, v in options.items() if v is not None})
        )


TRAINER = R2D2Trainer()
