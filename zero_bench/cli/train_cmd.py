"""``zero-bench train``, ``zero-bench finetune`` and ``zero-bench quickstart``.

The model's trainer is found through the ``zero_bench.trainers`` entry-point group (the core imports no model
plugin by name).  Both training commands run under ``torchrun`` as they are (DDP: gloo on CPU, NCCL on GPU)::

    torchrun --nproc-per-node 8 -m zero_bench.cli.app train --model r2d2 --config r2d2-vit-b --corpus zero-23m
"""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import typer

from zero_bench.cli.options import key_values
from zero_bench.errors import ZeroBenchError

GROUP = "zero_bench.trainers"


def get_trainer(name: str) -> Any:
    eps = {ep.name: ep for ep in entry_points(group=GROUP)}
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none installed"
        raise ZeroBenchError(f"model {name!r} has no registered trainer (entry points '{GROUP}': {known})")
    return eps[name].load()


def _finish(output: Path, plot: bool, summary: dict[str, Any]) -> None:
    import torch

    rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    if rank != 0:
        return
    typer.echo(f"{summary.get('step', '?')} optimizer steps; checkpoints and metrics.jsonl in {output}")
    if summary.get("best"):
        b = summary["best"]
        typer.echo(
            f"best epoch {b['epoch']} on val: {b['metric']} = {b['value']:.2f} -> {output / 'model-best.safetensors'}"
        )
    if plot:
        typer.echo(f"loss curves: {plot_losses(output)}")


def plot_losses(output: Path) -> Path:
    """Plot ``metrics.jsonl`` of a run folder (generic: every logged loss key) to ``loss.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from zero_bench.fileio import atomic_path

    metrics = output / "metrics.jsonl"
    if not metrics.is_file():
        raise ZeroBenchError(f"{metrics}: no metrics log to plot")
    rows = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if "loss" in r]
    if not rows:
        raise ZeroBenchError(f"{metrics}: no training rows to plot")
    skip = {"step", "epoch", "lr", "samples_per_s", "data_share", "time"}
    keys = sorted({k for r in rows for k, v in r.items() if k not in skip and isinstance(v, (int, float))})
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k in keys:
        pts = [(r["step"], r[k]) for r in rows if k in r and r[k] > 0]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=k, linewidth=1.4 if k == "loss" else 0.9)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (log scale)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"training losses: {output.name}")
    out = output / "loss.png"
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return out


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train_command(
        model: str = typer.Option("r2d2", "--model", "-m", help="Model with a registered trainer."),
        config: str | None = typer.Option(
            None, "--config", help="Model configuration (r2d2: r2d2-vit-b, r2d2-vit-l, r2d2-tiny or a folder)."
        ),
        corpus: str = typer.Option(
            ..., "--corpus", help="Pre-training corpus: zero-23m, zero-2.3m, zero-toy, ... or a corpus folder."
        ),
        output: Path = typer.Option(
            Path("runs/pretrain"), "--output", "-o", help="Run folder (checkpoints, metrics.jsonl)."
        ),
        resume: bool = typer.Option(False, "--resume", help="Continue exactly from OUTPUT/checkpoint-last.pt."),
        init: str | None = typer.Option(None, "--init", help="Initialise the weights from this checkpoint."),
        data_root: Path | None = typer.Option(
            None, "--data-root", help="Data root holding the corpus (default: ZERO_BENCH_HOME/data)."
        ),
        epochs: float | None = typer.Option(None, help="Epochs over the corpus (default 1)."),
        max_steps: int | None = typer.Option(None, help="Optimizer steps (overrides --epochs)."),
        batch_size: int | None = typer.Option(None, help="Per-process micro-batch (default 64)."),
        grad_accum: int | None = typer.Option(None, help="Micro-batches per optimizer step."),
        lr: float | None = typer.Option(None, help="Peak learning rate (default 1e-4)."),
        warmup_steps: int | None = typer.Option(None, help="Linear warm-up steps (default 1000)."),
        precision: str | None = typer.Option(None, help="auto (bf16/fp16 on GPU, fp32 on CPU), fp32, fp16, bf16."),
        gradient_checkpointing: bool = typer.Option(
            False, "--gradient-checkpointing", help="Recompute activations in backward."
        ),
        workers: int | None = typer.Option(None, help="DataLoader workers per process."),
        save_every: int | None = typer.Option(None, help="Save checkpoint-last.pt every N steps."),
        seed: int | None = typer.Option(None, help="Random seed."),
        device: str | None = typer.Option(None, help="cpu or cuda (default cuda when available)."),
        set_: list[str] = typer.Option(
            [],
            "--set",
            help="Objective / training KEY=VALUE, e.g. mlm_weight=0, tgd_alpha=0, queue_size=4096 (repeatable).",
        ),
        plot: bool = typer.Option(False, "--plot", help="Write OUTPUT/loss.png at the end."),
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    ) -> None:
        """Pre-train a model on a corpus (R2D2: GCPR + FGR + MLM with TgD/FgD distillation)."""
        trainer = get_trainer(model)
        options = {
            "epochs": epochs,
            "max_steps": max_steps,
            "batch_size": batch_size,
            "grad_accum": grad_accum,
            "lr": lr,
            "warmup_steps": warmup_steps,
            "precision": precision,
            "num_workers": workers,
            "save_every": save_every,
            "seed": seed,
            "device": device,
            "show_progress": not no_progress,
        }
        if gradient_checkpointing:
            options["gradient_checkpointing"] = True
        options |= key_values(set_, "--set")
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
        model: str = typer.Option("r2d2", "--model", "-m", help="Model with a registered trainer."),
        task: str = typer.Option(..., "--task", "-t", help="icr, iqr, flickr30k-cna, icm or iqm."),
        checkpoint: str | None = typer.Option(
            None, "--checkpoint", help="Pre-trained checkpoint (file or registered name)."
        ),
        config: str | None = typer.Option(
            None, "--config", help="Model configuration (default: the checkpoint's or r2d2-vit-b)."
        ),
        output: Path | None = typer.Option(None, "--output", "-o", help="Run folder (default runs/finetune-TASK)."),
        data_dir: Path | None = typer.Option(None, "--data-dir", help="Task folder in the official layout."),
        resume: bool = typer.Option(False, "--resume", help="Continue exactly from OUTPUT/checkpoint-last.pt."),
        epochs: float | None = typer.Option(None, help="Override the recipe's epochs."),
        max_steps: int | None = typer.Option(None, help="Optimizer steps (overrides epochs)."),
        batch_size: int | None = typer.Option(None, help="Override the recipe's per-process batch."),
        grad_accum: int | None = typer.Option(None, help="Micro-batches per optimizer step."),
        lr: float | None = typer.Option(None, help="Override the recipe's learning rate."),
        warmup_steps: int | None = typer.Option(None, help="Override the recipe's warm-up."),
        precision: str | None = typer.Option(None, help="auto, fp32, fp16, bf16."),
        gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing"),
        workers: int | None = typer.Option(None, help="DataLoader workers per process."),
        seed: int | None = typer.Option(None, help="Random seed."),
        device: str | None = typer.Option(None, help="cpu or cuda."),
        set_: list[str] = typer.Option([], "--set", help="Training KEY=VALUE (repeatable)."),
        plot: bool = typer.Option(False, "--plot", help="Write OUTPUT/loss.png at the end."),
        no_progress: bool = typer.Option(False, "--no-progress"),
    ) -> None:
        """Fine-tune on a task's train split with the official recipe; the best epoch is chosen on val (never test)."""
        trainer = get_trainer(model)
        out = output or Path("runs") / f"finetune-{task}"
        options = {
            "epochs": epochs,
            "max_steps": max_steps,
            "batch_size": batch_size,
            "grad_accum": grad_accum,
            "lr": lr,
            "warmup_steps": warmup_steps,
            "precision": precision,
            "num_workers": workers,
            "seed": seed,
            "device": device,
            "show_progress": not no_progress,
        }
        if gradient_checkpointing:
            options["gradient_checkpointing"] = True
        options |= key_values(set_, "--set")
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
        model: str = typer.Option("r2d2", "--model", "-m", help="Model with a registered trainer."),
        output: Path | None = typer.Option(None, "--output", "-o", help="Folder (default ZERO_BENCH_HOME/quickstart)."),
        steps: int | None = typer.Option(None, help="Pre-training steps (default 300)."),
        finetune_task: str | None = typer.Option(None, help="Task to fine-tune on (default flickr30k-cna)."),
        seed: int | None = typer.Option(None, help="Random seed."),
        no_progress: bool = typer.Option(False, "--no-progress"),
    ) -> None:
        """Offline demo on a CPU (< 10 min): zero-toy, tiny pre-training, zero-shot on 5 toy tasks, one fine-tuning."""
        from zero_bench.paths import home

        trainer = get_trainer(model)
        out = output or home() / "quickstart"
        trainer.quickstart(
            output_dir=str(out), steps=steps, finetune_task=finetune_task, seed=seed, show_progress=not no_progress
        )
