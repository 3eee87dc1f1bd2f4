"""``zero-bench evaluate`` and ``zero-bench score``: thin calls into ``zero_bench.evaluation.batch`` and
``zero_bench.predictions``; the options are declared in ``zero_bench.cli.options``."""

# The grid options' list defaults: typer copies them and nothing mutates them.
# ruff: noqa: B006

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from zero_bench.cli import options as opt
from zero_bench.cli.options import key_values

if TYPE_CHECKING:
    from zero_bench.evaluation.batch import Grid
    from zero_bench.results import Result

# The evaluate parameters that take one value (each a list, so that one given twice is refused); flag = --name.
SINGLE_VALUED = (
    "data_dir",
    "output",
    "predictions",
    "top_k",
    "model_config",
    "batch_size",
    "pair_batch_size",
    "workers",
    "device",
    "precision",
    "seed",
    "tie_rule",
    "protocol",
    "templates",
)


def tie_note(rule: str, tie_range: dict[str, tuple[float, float]]) -> str:
    """The tie rule used, and the metrics that another order of tied scores would change, with their range."""
    moved = [f"{key} {low:.2f}-{high:.2f}" for key, (low, high) in tie_range.items() if low < high]
    return f"; ties by {rule}" + (f"; tie-sensitive: {', '.join(moved)}" if moved else "")


def print_metrics(title: str, metrics: dict[str, float], note: str = "") -> None:
    table = Table(title=title, caption=note or None)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.2f}")
    Console().print(table)


def _report(result: Result) -> None:
    note = f"{result.setting}; mean recall = {result.mean_recall.value}" if result.mean_recall else result.setting
    if result.rerank_top_k:
        note += f"; re-ranked top {result.rerank_top_k}"
    classification = getattr(result, "classification", None)
    if classification is not None:
        note += f"; protocol {classification.protocol}"
    note += tie_note(result.tie_rule, result.tie_range)
    print_metrics(f"{result.model.label} on {result.task.name}/{result.task.split}", result.metrics, note)


def _reproduction(model: str, result: Result) -> None:
    """For a zoo model, the published numbers of the same task, split and setting beside ours."""
    from zero_bench.leaderboard.published import compare, published_entries
    from zero_bench.models.zoo import ZOO

    entry = ZOO.get(model)
    if entry is None or entry.published is None:
        return
    found = compare(result, published_entries(entry.published))
    if not found:
        typer.echo(f"published: no number of {model} for {result.task.name}/{result.task.split} {result.setting}")
    for comparison in found:
        typer.echo(comparison.line())


def _run(grid: Grid, skip_existing: bool) -> None:
    """Run a planned grid; rank 0 alone writes and reports (under torchrun)."""
    from zero_bench.evaluation.batch import run_grid
    from zero_bench.evaluation.distributed import finish, rank_and_world

    rank = rank_and_world()[0]
    for done in run_grid(
        grid.runs,
        grid.jobs,
        grid.outputs,
        grid.settings,
        skip_existing=skip_existing,
        writer=rank == 0,
        show_progress=True,
    ):
        if rank != 0:
            continue
        if done.result is None:
            typer.echo(f"skipped, result exists: {done.path}")
            continue
        _report(done.result)
        _reproduction(done.model, done.result)
        typer.echo(f"result written to {done.path}")
    finish()


def evaluate_command(
    model: opt.Models,
    task: opt.Tasks,
    split: opt.Splits = [],
    data_dir: opt.DataDirs = [],
    output: opt.ResultOutput = [],
    predictions: opt.PredictionsOutput = [],
    top_k: opt.TopK = [],
    checkpoint: opt.Checkpoints = [],
    model_config: opt.ModelConfig = [],
    model_option: opt.ModelOptions = [],
    random_init: opt.RandomInit = False,
    skip_existing: opt.SkipExisting = False,
    batch_size: opt.EvalBatchSize = [],
    pair_batch_size: opt.PairBatchSize = [],
    workers: opt.EvalWorkers = [],
    device: opt.EvalDevice = [],
    precision: opt.EvalPrecision = [],
    no_cache: opt.NoCache = False,
    seed: opt.EvalSeed = [],
    tie_rule: opt.TieRule = [],
    protocol: opt.Protocol = [],
    templates: opt.Templates = [],
) -> None:
    """Evaluate models on task splits and write one Result JSON per run (the unit the leaderboard takes).

    Several -m, several -t (or suite names) and several --checkpoint make a grid; every split is read and
    checked before any model is built.
    """
    given = locals()  # first: the parameters only
    from zero_bench.evaluation.batch import plan_grid

    single = {f"--{name.replace('_', '-')}": given[name] for name in SINGLE_VALUED}
    options = key_values(model_option, "--model-option")
    grid = plan_grid(model, task, split, checkpoint, options, single, use_cache=not no_cache, random_init=random_init)
    _run(grid, skip_existing)


def score_command(
    task: str = typer.Option(..., "--task", "-t", help="Task name."),
    predictions: Path = typer.Option(..., help="Predictions file (JSON Lines) to score."),
    split: str | None = typer.Option(None, help="Split; default: the task's default split."),
    data_dir: opt.DataDir = None,
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


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_command)
    app.command("score")(score_command)
