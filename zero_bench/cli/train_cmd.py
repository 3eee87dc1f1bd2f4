"""``zero-bench train``, ``zero-bench finetune`` and ``zero-bench quickstart``.

The model's trainer is found through the ``zero_bench.trainers`` entry-point group (the core imports no model
plugin by name).  Both training commands run under ``torchrun`` as they are (DDP: gloo on CPU, NCCL on GPU)::

    torchrun --nproc-per-node 8 -m zero_bench.cli.app train --model r2d2 --config r2d2-vit-b --corpus zero-23m
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from zero_bench.cli import options as opt
from zero_bench.cli.options import key_values
from zero_bench.models.registry import get_trainer

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
        chosen = "kept the starting weights (no epoch beat them)" if b.get("kept_start") else f"best epoch {b['epoch']}"
        typer.echo(f"{chosen} on val: {b['metric']} = {b['value']:.2f} -> {output / 'model-best.safetensors'}")
    if plot:
        from zero_bench.training.plots import plot_losses

        typer.echo(f"loss curves: {plot_losses(output)}")


def train_command(
    corpus: str = typer.Option(
        ..., "--corpus", help="Pre-training corpus: zero-23m, zero-2.3m, zero-toy, ... or a corpus folder."
    ),
    model: opt.ModelName = "r2d2",
    config: str | None = typer.Option(
        None,
        "--config",
        help="Model configuration (r2d2: r2d2-vit-b, r2d2-vit-l, r2d2-tiny, r2d2-toy or a folder).",
    ),
    output: Path = typer.Option(
        Path("runs/pretrain"), "--output", "-o", help="Run folder (checkpoints, metrics.jsonl)."
    ),
    resume: opt.Resume = False,
    init: str | None = typer.Option(None, "--init", help="Initialise the weights from this checkpoint."),
    data_root: Path | None = typer.Option(
        None, "--data-root", help="Data root holding the corpus (default: ZERO_BENCH_HOME/data)."
    ),
    epochs: opt.Epochs = None,
    max_steps: opt.MaxSteps = None,
    batch_size: opt.BatchSize = None,
    grad_accum: opt.GradAccum = None,
    lr: opt.Lr = None,
    warmup_steps: opt.WarmupSteps = None,
    precision: opt.Precision = None,
    gradient_checkpointing: opt.GradientCheckpointing = False,
    workers: opt.Workers = None,
    save_every: opt.SaveEvery = None,
    seed: opt.Seed = None,
    device: opt.Device = None,
    set_: opt.SetOptions = [],  # noqa: B006 (typer copies the default)
    plot: opt.Plot = False,
    no_progress: opt.NoProgress = False,
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


def finetune_command(
    task: str = typer.Option(..., "--task", "-t", help="icr, iqr, flickr30k-cna, icm or iqm."),
    model: opt.ModelName = "r2d2",
    checkpoint: str | None = typer.Option(
        None, "--checkpoint", help="Pre-trained checkpoint (file or registered name)."
    ),
    config: str | None = typer.Option(
        None, "--config", help="Model configuration (default: the checkpoint's or r2d2-vit-b)."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="Run folder (default runs/finetune-TASK)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Task folder in the official layout."),
    resume: opt.Resume = False,
    epochs: opt.Epochs = None,
    max_steps: opt.MaxSteps = None,
    batch_size: opt.BatchSize = None,
    grad_accum: opt.GradAccum = None,
    lr: opt.Lr = None,
    warmup_steps: opt.WarmupSteps = None,
    precision: opt.Precision = None,
    gradient_checkpointing: opt.GradientCheckpointing = False,
    workers: opt.Workers = None,
    save_every: opt.SaveEvery = None,
    seed: opt.Seed = None,
    device: opt.Device = None,
    set_: opt.SetOptions = [],  # noqa: B006 (typer copies the default)
    plot: opt.Plot = False,
    no_progress: opt.NoProgress = False,
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


def quickstart_command(
    model: opt.ModelName = "r2d2",
    output: Path | None = typer.Option(None, "--output", "-o", help="Folder (default ZERO_BENCH_HOME/quickstart)."),
    steps: int | None = typer.Option(None, help="Pre-training steps (default: the trainer's; r2d2: 1800)."),
    finetune_task: str | None = typer.Option(None, help="Task to fine-tune on (default flickr30k-cna)."),
    seed: opt.Seed = None,
    no_progress: opt.NoProgress = False,
) -> None:
    """Offline demo on a CPU (< 10 min): zero-toy, tiny pre-training, zero-shot on 5 toy tasks, one fine-tuning."""
    from zero_bench.paths import home

    trainer = get_trainer(model)
    out = output or home() / "quickstart"
    trainer.quickstart(
        output_dir=str(out), steps=steps, finetune_task=finetune_task, seed=seed, show_progress=not no_progress
    )


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("finetune")(finetune_command)
    app.command("quickstart")(quickstart_command)
