"""``zero-bench train``, ``zero-bench finetune`` and ``zero-bench quickstart``.

The model's trainer is found through the ``zero_bench.trainers`` entry-point group (the core imports no model
plugin by name).  Both training commands run under ``torchrun`` as they are (DDP: gloo on CPU, NCCL on GPU)::

    torchrun --nproc-per-node 8 -m zero_bench.cli.app train --model r2d2 --config r2d2-vit-b --corpus zero-23m
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from zero_bench.cli.options import key_values
from zero_bench.models.registry import get_trainer

# The option block shared by ``train`` and ``finetune`` (declared once; None means the recipe's default).
ModelName = Annotated[str, typer.Option("--model", "-m", help="Model with a registered trainer.")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue exactly from OUTPUT/checkpoint-last.pt.")]
Epochs = Annotated[float | None, typer.Option(help="Epochs (default: the recipe's).")]
MaxSteps = Annotated[int | None, typer.Option(help="Optimizer steps (overrides --epochs).")]
BatchSize = Annotated[int | None, typer.Option(help="Per-process micro-batch (default: the recipe's).")]
GradAccum = Annotated[int | None, typer.Option(help="Micro-batches per optimizer step.")]
Lr = Annotated[float | None, typer.Option(help="Peak learning rate (default: the recipe's).")]
WarmupSteps = Annotated[int | None, typer.Option(help="Linear warm-up steps (default: the recipe's).")]
Precision = Annotated[str | None, typer.Option(help="auto (bf16/fp16 on GPU, fp32 on CPU), fp32, fp16, bf16.")]
GradientCheckpointing = Annotated[
    bool, typer.Option("--gradient-checkpointing", help="Recompute activations in backward.")
]
Workers = Annotated[int | None, typer.Option(help="DataLoader workers per process.")]
SaveEvery = Annotated[int | None, typer.Option(help="Save checkpoint-last.pt every N steps.")]
Seed = Annotated[int | None, typer.Option(help="Random seed.")]
Device = Annotated[str | None, typer.Option(help="cpu or cuda (default cuda when available).")]
Settings = Annotated[
    list[str],
    typer.Option(
        "--set", help="Objective / training KEY=VALUE, e.g. mlm_weight=0, queue_size=4096 (repeatable; trainer's)."
    ),
]
Plot = Annotated[bool, typer.Option("--plot", help="Write OUTPUT/loss.png at the end.")]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="No progress bar.")]


SHARED = (
    "epochs",
    "max_steps",
    "batch_size",
    "grad_accum",
    "lr",
    "warmup_steps",
    "precision",
    "gradient_checkpointing",
    "workers",
    "save_every",
    "seed",
    "device",
    "set_",
    "no_progress",
)


def training_options(values: dict[str, Any]) -> dict[str, Any]:
    """The shared option block (``values``: a command's parameters by name) as the trainer's ``options`` (see
    ``zero_bench.models.trainer_protocol``)."""
    shared = {k: values[k] for k in SHARED}
    options: dict[str, Any] = {k: v for k, v in shared.items() if k not in ("workers", "set_", "no_progress")}
    options["num_workers"] = shared["workers"]
    options["show_progress"] = not shared["no_progress"]
    if not shared["gradient_checkpointing"]:
        del options["gradient_checkpointing"]  # unset: the recipe's default
    return options | key_values(shared["set_"], "--set")


def _finish(output: Path, plot: bool, summary: dict[str, Any]) -> None:
    from zero_bench.evaluation.distributed import finish, rank_and_world

    rank, _ = rank_and_world()
    finish()
    if rank != 0:
        return
    typer.echo(f"{summary.get('step', '?')} optimizer steps; checkpoints and metrics.jsonl in {output}")
    if summary.get("best"):
        b = summary["best"]
        typer.echo(
            f"best epoch {b['epoch']} on val: {b['metric']} = {b['value']:.2f} -> {output / 'model-best.safetensors'}"
        )
    if plot:
        from zero_bench.training.plots import plot_losses

        typer.echo(f"loss curves: {plot_losses(output)}")


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        corpus: str = typer.Option(
            ..., "--corpus", help="Pre-training corpus: zero-23m, zero-2.3m, zero-toy, ... or a corpus folder."
        ),
        model: ModelName = "r2d2",
        config: str | None = typer.Option(
            None,
            "--config",
            help="Model configuration (r2d2: r2d2-vit-b, r2d2-vit-l, r2d2-tiny, r2d2-toy or a folder).",
        ),
        output: Path = typer.Option(
            Path("runs/pretrain"), "--output", "-o", help="Run folder (checkpoints, metrics.jsonl)."
        ),
        resume: Resume = False,
        init: str | None = typer.Option(None, "--init", help="Initialise the weights from this checkpoint."),
        data_root: Path | None = typer.Option(
            None, "--data-root", help="Data root holding the corpus (default: ZERO_BENCH_HOME/data)."
        ),
        epochs: Epochs = None,
        max_steps: MaxSteps = None,
        batch_size: BatchSize = None,
        grad_accum: GradAccum = None,
        lr: Lr = None,
        warmup_steps: WarmupSteps = None,
        precision: Precision = None,
        gradient_checkpointing: GradientCheckpointing = False,
        workers: Workers = None,
        save_every: SaveEvery = None,
        seed: Seed = None,
        device: Device = None,
        set_: Settings = [],  # noqa: B006 (typer copies the default)
        plot: Plot = False,
        no_progress: NoProgress = False,
    ) -> None:
        """Pre-train a model on a corpus (R2D2: GCPR + FGR + MLM with TgD/FgD distillation)."""
        options = training_options(locals())  # first: locals() is the parameters only
        trainer = get_trainer(model)
        summary = trainer.pretrain(
            config=config,
            corpus=corpus,
            output_dir=str(output),
            resume=str(output) if resume else None,
            init=init,
            data_root=str(data_root) if data_root else None,
            **options,
        )
        _finish(output, plot, summary)

    @app.command("finetune")
    def finetune_command(
        task: str = typer.Option(..., "--task", "-t", help="icr, iqr, flickr30k-cna, icm or iqm."),
        model: ModelName = "r2d2",
        checkpoint: str | None = typer.Option(
            None, "--checkpoint", help="Pre-trained checkpoint (file or registered name)."
        ),
        config: str | None = typer.Option(
            None, "--config", help="Model configuration (default: the checkpoint's or r2d2-vit-b)."
        ),
        output: Path | None = typer.Option(None, "--output", "-o", help="Run folder (default runs/finetune-TASK)."),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Task folder in the official layout."),
        resume: Resume = False,
        epochs: Epochs = None,
        max_steps: MaxSteps = None,
        batch_size: BatchSize = None,
        grad_accum: GradAccum = None,
        lr: Lr = None,
        warmup_steps: WarmupSteps = None,
        precision: Precision = None,
        gradient_checkpointing: GradientCheckpointing = False,
        workers: Workers = None,
        save_every: SaveEvery = None,
        seed: Seed = None,
        device: Device = None,
        set_: Settings = [],  # noqa: B006 (typer copies the default)
        plot: Plot = False,
        no_progress: NoProgress = False,
    ) -> None:
        """Fine-tune on a task's train split with the official recipe; the best epoch is chosen on val (never test)."""
        options = training_options(locals())  # first: locals() is the parameters only
        trainer = get_trainer(model)
        out = output or Path("runs") / f"finetune-{task}"
        summary = trainer.finetune(
            task=task,
            checkpoint=checkpoint,
            config=config,
            output_dir=str(out),
            data_dir=str(data_dir) if data_dir else None,
            resume=str(out) if resume else None,
            **options,
        )
        _finish(out, plot, summary)

    @app.command("quickstart")
    def quickstart_command(
        model: ModelName = "r2d2",
        output: Path | None = typer.Option(None, "--output", "-o", help="Folder (default ZERO_BENCH_HOME/quickstart)."),
        steps: int | None = typer.Option(None, help="Pre-training steps (default 300)."),
        finetune_task: str | None = typer.Option(None, help="Task to fine-tune on (default flickr30k-cna)."),
        seed: Seed = None,
        no_progress: NoProgress = False,
    ) -> None:
        """Offline demo on a CPU (< 10 min): zero-toy, tiny pre-training, zero-shot on 5 toy tasks, one fine-tuning."""
        from zero_bench.paths import home

        trainer = get_trainer(model)
        out = output or home() / "quickstart"
        trainer.quickstart(
            output_dir=str(out), steps=steps, finetune_task=finetune_task, seed=seed, show_progress=not no_progress
        )
