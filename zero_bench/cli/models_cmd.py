"""``zero-bench models``: the registered plugins and adapters, and the zoo."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models_list(
        json_output: bool = typer.Option(False, "--json", help="Print plugins and zoo as JSON."),
    ) -> None:
        """List the model plugins (entry points ``zero_bench.models``) and the zoo of public models by name."""
        from zero_bench.models.registry import model_entry_points
        from zero_bench.models.zoo import ENTRIES

        plugins = [
            {"name": name, "factory": ep.value, "distribution": ep.dist.name if ep.dist is not None else None}
            for name, ep in sorted(model_entry_points().items())
        ]
        if json_output:
            typer.echo(json.dumps({"plugins": plugins, "zoo": [e.as_dict() for e in ENTRIES]}, indent=2))
            return
        console = Console()
        table = Table(title="model plugins and adapters (-m NAME or -m ADAPTER:SOURCE)")
        for column in ("name", "factory", "distribution"):
            table.add_column(column)
        for plugin in plugins:
            table.add_row(plugin["name"], plugin["factory"], plugin["distribution"] or "?")
        console.print(table)
        zoo = Table(title="zoo (-m NAME)")
        for column in ("name", "runs as", "parameters (declared)"):
            zoo.add_column(column)
        for e in ENTRIES:
            zoo.add_row(e.name, e.model, f"{e.parameters:,}" if e.parameters is not None else "not verified")
        console.print(zoo)
        # Plain lines, not a table cell: download links must stay whole to be copied.
        for e in ENTRIES:
            typer.echo(f"\n{e.name}  (-m {e.name})")
            for label, value in (
                ("source", f"{e.source} (revision: {e.revision})"),
                ("licence", e.licence),
                ("parameters", f"{e.parameters:,} ({e.parameters_source})" if e.parameters else e.parameters_source),
                ("training data", e.training_data),
                ("paper", e.paper),
                ("weights", e.download if e.manual_step is None else "manual download"),
                ("before use", e.manual_step or "nothing"),
            ):
                typer.echo(f"  {label}: {value}")
