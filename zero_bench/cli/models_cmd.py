"""``zero-bench models [NAME]``: the registered plugins and adapters, and the zoo; one zoo model with its
published numbers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from zero_bench.models.zoo import ZooEntry


def _card(e: ZooEntry) -> None:
    # Plain lines, not a table cell: download links must stay whole to be copied.
    typer.echo(f"\n{e.name}  (-m {e.name})")
    for label, value in (
        ("source", f"{e.source} (revision: {e.revision})"),
        ("licence", e.licence),
        ("parameters", f"{e.parameters:,} ({e.parameters_source})" if e.parameters else e.parameters_source),
        ("training data", e.training_data),
        ("training corpora", ", ".join(f"{name} ({where})" for name, where in e.training_corpora) or "not declared"),
        ("paper", e.paper),
        ("weights", e.download if e.manual_step is None else "manual download"),
        ("before use", e.manual_step or "nothing"),
    ):
        typer.echo(f"  {label}: {value}")


def _published(e: ZooEntry) -> None:
    """The model's published numbers: the reported entries of its leaderboard file, with their sources."""
    from zero_bench.leaderboard.published import published_entries, submissions_folder

    if e.published is None:
        typer.echo("  published numbers: none recorded")
        return
    entries = published_entries(e.published)
    if not entries:
        where = submissions_folder()
        typer.echo(f"  published numbers: leaderboard/submissions/{e.published}.json not found (looked in {where})")
        return
    table = Table(title=f"published numbers of {e.name} (leaderboard/submissions/{e.published}.json)")
    for column in ("task", "split", "setting", "protocol", "metrics", "source"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        metrics = ", ".join(f"{k} {v:.2f}" for k, v in entry.metrics.items())
        table.add_row(entry.task, entry.split, entry.setting, entry.protocol or "-", metrics, entry.source)
    Console().print(table)


def _listing(plugins: list[dict]) -> None:
    from zero_bench.models.zoo import ENTRIES

    console = Console()
    table = Table(title="model plugins and adapters (-m NAME or -m ADAPTER:SOURCE)")
    for column in ("name", "factory", "distribution"):
        table.add_column(column)
    for plugin in plugins:
        table.add_row(plugin["name"], plugin["factory"], plugin["distribution"] or "?")
    console.print(table)
    zoo = Table(title="zoo (-m NAME; `zero-bench models NAME` for one model and its published numbers)")
    for column in ("name", "runs as", "parameters (declared)"):
        zoo.add_column(column)
    for e in ENTRIES:
        zoo.add_row(e.name, e.model, f"{e.parameters:,}" if e.parameters is not None else "not verified")
    console.print(zoo)
    for e in ENTRIES:
        _card(e)


def models_list(
    name: str | None = typer.Argument(None, help="A zoo name: its card and its published numbers."),
    json_output: bool = typer.Option(False, "--json", help="Print plugins and zoo as JSON."),
) -> None:
    """List the model plugins (entry points ``zero_bench.models``) and the zoo of public models by name; with NAME,
    one zoo model and the numbers its authors published (the leaderboard's reported entries)."""
    from zero_bench.models.registry import model_entry_points
    from zero_bench.models.zoo import ENTRIES, get_entry

    if name is not None:
        entry = get_entry(name)
        if json_output:
            from zero_bench.leaderboard.published import published_entries

            published = [e.model_dump(mode="json") for e in published_entries(entry.published or "")]
            typer.echo(json.dumps({**entry.as_dict(), "published_numbers": published}, indent=2, ensure_ascii=False))
            return
        _card(entry)
        _published(entry)
        return
    plugins = [
        {"name": n, "factory": ep.value, "distribution": ep.dist.name if ep.dist is not None else None}
        for n, ep in sorted(model_entry_points().items())
    ]
    if json_output:
        typer.echo(json.dumps({"plugins": plugins, "zoo": [e.as_dict() for e in ENTRIES]}, indent=2))
        return
    _listing(plugins)


def register(app: typer.Typer) -> None:
    app.command("models")(models_list)
