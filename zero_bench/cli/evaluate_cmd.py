"""``zero-bench evaluate`` and ``zero-bench score``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from zero_bench.cli.options import key_values
from zero_bench.errors import ZeroBenchError
from zero_bench.metrics.rules import TIE_RULES, check_tie_rule

if TYPE_CHECKING:
    from zero_bench.results import Result


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


def _single_values(values: dict[str, list]) -> dict[str, Any]:
    """Options that take one value: given twice is an error, never a silent choice of the last."""
    for flag, given in values.items():
        if len(given) > 1:
            raise ZeroBenchError(f"{flag} was given {len(given)} times; it takes one value")
    return {flag: (given[0] if given else None) for flag, given in values.items()}


def _duplicates(values: list[str], flag: str) -> None:
    seen = {v for v in values if values.count(v) > 1}
    if seen:
        raise ZeroBenchError(f"{flag} {sorted(seen)[0]!r} was given twice")


def _report(result: Result) -> None:
    note = f"{result.setting}; mean recall = {result.mean_recall.value}" if result.mean_recall else result.setting
    if result.rerank_top_k:
        note += f"; re-ranked top {result.rerank_top_k}"
    note += tie_note(result.tie_rule, result.tie_range)
    print_metrics(f"{result.model.label} on {result.task.name}/{result.task.split}", result.metrics, note)


def register(app: typer.Typer) -> None:
    @app.command("evaluate")
    def evaluate_command(
        model: list[str] = typer.Option(
            ...,
            "--model",
            "-m",
            help="Model: plugin, adapter:source or zoo name (see 'zero-bench models'); repeatable.",
        ),
        task: list[str] = typer.Option(
            ..., "--task", "-t", help="Task or suite (ccmb, public, all; see 'zero-bench tasks'); repeatable."
        ),
        split: list[str] = typer.Option([], help="Split(s) to evaluate; default: each task's default split."),
        data_dir: list[Path] = typer.Option([], help="Folder in the official layout; default: the data root."),
        output: list[Path] = typer.Option(
            [], "--output", "-o", help="Result JSON path for one run, else a folder for all runs; default results/."
        ),
        predictions: list[Path] = typer.Option(
            [], help="Also write the predictions (JSON Lines): a file for one run, else a folder."
        ),
        top_k: list[int] = typer.Option(
            [], help="Re-rank each query's top k with the cross encoder; 0 = dual encoder only; default: the task's k."
        ),
        checkpoint: list[str] = typer.Option(
            [], help="Checkpoint file or registered checkpoint name, passed to the model; repeatable (one run each)."
        ),
        model_config: list[str] = typer.Option([], help="Model configuration name or file, passed to the model."),
        model_option: list[str] = typer.Option([], help="Extra KEY=VALUE option for the model factory (repeatable)."),
        random_init: bool = typer.Option(
            False, "--random-init", help="Allow a model without loaded weights; every Result and table says so."
        ),
        skip_existing: bool = typer.Option(False, "--skip-existing", help="Keep result files already written."),
        batch_size: list[int] = typer.Option([], help="Encoding batch size (default 64)."),
        pair_batch_size: list[int] = typer.Option([], help="Cross-encoder batch size in pairs (default 256)."),
        workers: list[int] = typer.Option([], help="DataLoader workers for image decoding (default 0)."),
        device: list[str] = typer.Option([], help="cpu, cuda or cuda:N; default cuda when available."),
        precision: list[str] = typer.Option([], help="fp32 (default), fp16 or bf16 (autocast)."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the embedding cache."),
        seed: list[int] = typer.Option([], help="Random seed (default 0)."),
        tie_rule: list[str] = typer.Option(
            [],
            "--tie-rule",
            help=f"Order of equal scores: {' or '.join(TIE_RULES)} (default index: ascending index; official: R2D2 "
            "itm_eval's np.argsort()[::-1]).",
        ),
    ) -> None:
        """Evaluate models on task splits and write one Result JSON per run (the unit the leaderboard takes).

        Several -m, several -t (or suite names) and several --checkpoint make a grid; every split is read and
        checked before any model is built.
        """
        from zero_bench.evaluation.batch import Outputs, Settings, check_data, plan_jobs, plan_runs, run_grid
        from zero_bench.evaluation.distributed import finish, rank_and_world

        one = _single_values(
            {
                "--data-dir": data_dir,
                "--output": output,
                "--predictions": predictions,
                "--top-k": top_k,
                "--model-config": model_config,
                "--batch-size": batch_size,
                "--pair-batch-size": pair_batch_size,
                "--workers": workers,
                "--device": device,
                "--precision": precision,
                "--seed": seed,
                "--tie-rule": tie_rule,
            }
        )
        rule = check_tie_rule(one["--tie-rule"]) if one["--tie-rule"] is not None else None
        same = one["--output"] is not None and one["--output"] == one["--predictions"]
        if same or (
            one["--predictions"] and one["--output"] and one["--output"].resolve() == one["--predictions"].resolve()
        ):
            raise ZeroBenchError(f"{one['--output']}: --output and --predictions name the same file; choose two files")
        for flag, least in (("--batch-size", 1), ("--pair-batch-size", 1), ("--workers", 0)):
            if one[flag] is not None and one[flag] < least:
                raise ZeroBenchError(f"{flag} must be >= {least}, got {one[flag]}")
        for values, flag in ((model, "--model"), (checkpoint, "--checkpoint"), (split, "--split"), (task, "--task")):
            _duplicates(values, flag)
        jobs = plan_jobs(task, split)
        runs = plan_runs(model, checkpoint, key_values(model_option, "--model-option"), one["--model-config"])
        outputs = Outputs.plan(one["--output"], one["--predictions"], len(runs) * len(jobs))
        check_data(jobs, one["--data-dir"])
        given = {
            "data_dir": one["--data-dir"],
            "top_k": one["--top-k"],
            "batch_size": one["--batch-size"],
            "pair_batch_size": one["--pair-batch-size"],
            "num_workers": one["--workers"],
            "device": one["--device"],
            "precision": one["--precision"],
            "seed": one["--seed"],
            "tie_rule": rule,
        }
        settings = Settings(
            **{k: v for k, v in given.items() if v is not None}, use_cache=not no_cache, random_init=random_init
        )
        rank = rank_and_world()[0]
        for done in run_grid(
            runs, jobs, outputs, settings, skip_existing=skip_existing, writer=rank == 0, show_progress=True
        ):
            if rank != 0:
                continue
            if done.result is None:
                typer.echo(f"skipped, result exists: {done.path}")
                continue
            _report(done.result)
            typer.echo(f"result written to {done.path}")
        finish()

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
