"""``zero-bench evaluate`` and ``zero-bench score``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from zero_bench.cli.options import key_values
from zero_bench.errors import ZeroBenchError


def print_metrics(title: str, metrics: dict[str, float], note: str = "") -> None:
    table = Table(title=title, caption=note or None)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.2f}")
    Console().print(table)


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_command(
        model: str = typer.Option(..., "--model", "-m", help="Registered model name (see 'zero-bench models')."),
        task: str = typer.Option(..., "--task", "-t", help="Task name (see 'zero-bench tasks')."),
        split: str | None = typer.Option(None, help="Split to evaluate; default: the task's default split."),
        data_dir: Path | None = typer.Option(None, help="Folder in the official layout; default: the data root."),
        output: Path | None = typer.Option(
            None, "--output", "-o", help="Result JSON path; default results/<model>-<task>-<split>.json."
        ),
        predictions: Path | None = typer.Option(None, help="Also write the predictions (JSON Lines) here."),
        top_k: int | None = typer.Option(
            None,
            help="Re-rank each query's top k with the cross encoder; 0 = dual encoder only; default: the task's k.",
        ),
        checkpoint: str | None = typer.Option(
            None, help="Checkpoint file or registered checkpoint name, passed to the model."
        ),
        model_config: str | None = typer.Option(None, help="Model configuration name or folder, passed to the model."),
        model_option: list[str] = typer.Option([], help="Extra KEY=VALUE option for the model factory (repeatable)."),
        batch_size: int = typer.Option(64, min=1, help="Encoding batch size."),
        pair_batch_size: int = typer.Option(256, min=1, help="Cross-encoder batch size (pairs)."),
        workers: int = typer.Option(0, min=0, help="DataLoader workers for image decoding."),
        device: str | None = typer.Option(None, help="cpu, cuda or cuda:N; default cuda when available."),
        precision: str = typer.Option("fp32", help="fp32, fp16 or bf16 (autocast)."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the embedding cache."),
        seed: int = typer.Option(0, help="Random seed."),
    ) -> None:
        """Evaluate a model on one task split and write a Result JSON (the unit the leaderboard takes)."""
        from zero_bench.evaluation.distributed import finish, rank_and_world
        from zero_bench.evaluation.evaluator import evaluate
        from zero_bench.models.registry import create_model
        from zero_bench.taskspec import get_task

        spec = get_task(task)
        if output is not None and predictions is not None and output.resolve() == predictions.resolve():
            raise ZeroBenchError(f"{output}: --output and --predictions name the same file; choose two files")
        options = key_values(model_option, "--model-option")
        if checkpoint is not None:
            options["checkpoint"] = checkpoint
        if model_config is not None:
            options["config"] = model_config
        instance = create_model(model, **options)
        result = evaluate(
            instance,
            spec,
            split,
            data_dir=data_dir,
            top_k=top_k,
            batch_size=batch_size,
            pair_batch_size=pair_batch_size,
            num_workers=workers,
            device=device,
            precision=precision,
            use_cache=not no_cache,
            predictions=predictions,
            seed=seed,
            show_progress=True,
        )
        rank = rank_and_world()[0]
        finish()
        if rank != 0:
            return
        path = output or Path("results") / f"{model}-{spec.name}-{result.task.split}.json"
        result.write(path)
        note = f"{result.setting}; mean recall = {result.mean_recall.value}" if result.mean_recall else result.setting
        if result.rerank_top_k:
            note += f"; re-ranked top {result.rerank_top_k}"
        print_metrics(f"{result.model.name} on {spec.name}/{result.task.split}", result.metrics, note)
        typer.echo(f"result written to {path}")

    @app.command("score")
    def score_command(
        task: str = typer.Option(..., "--task", "-t", help="Task name."),
        predictions: Path = typer.Option(..., help="Predictions file (JSON Lines) to score."),
        split: str | None = typer.Option(None, help="Split; default: the task's default split."),
        data_dir: Path | None = typer.Option(None, help="Folder in the official layout; default: the data root."),
        json_output: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
    ) -> None:
        """Score a predictions file against the annotations, without any model."""
        from zero_bench.formats import load_split
        from zero_bench.predictions import score_predictions
        from zero_bench.taskspec import get_task

        spec = get_task(task)
        data = load_split(spec, data_dir, split)
        metrics = score_predictions(spec, data, predictions)
        if json_output:
            typer.echo(json.dumps(metrics, indent=2))
        else:
            print_metrics(
                f"{predictions.name} on {spec.name}/{data.split}",
                metrics,
                f"mean recall = {spec.mean_recall.value}" if spec.mean_recall else "",
            )
