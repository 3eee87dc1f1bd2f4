"""``zero-bench tasks``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from zero_bench.taskspec import all_tasks, get_task


def register(app: typer.Typer) -> None:
    tasks_app = typer.Typer(help="List the benchmark's tasks or show one.", invoke_without_command=True)

    @tasks_app.callback()
    def tasks_list(ctx: typer.Context) -> None:
        """Print every task as a table."""
        if ctx.invoked_subcommand is not None:
            return
        table = Table(title="zero-bench tasks")
        for column in ("task", "kind", "text", "directions", "default split", "primary metric", "top-k", "format"):
            table.add_column(column)
        for spec in all_tasks().values():
            directions = ", ".join("i2t" if d.value == "image_to_text" else "t2i" for d in spec.directions) or "-"
            primary = spec.primary_metric + (f" ({spec.mean_recall.value})" if spec.mean_recall else "")
            table.add_row(
                spec.name,
                spec.kind.value,
                spec.text_kind,
                directions,
                spec.default_split,
                primary,
                str(spec.rerank_top_k or "-"),
                spec.format,
            )
        Console().print(table)

    @tasks_app.command("show")
    def tasks_show(name: str = typer.Argument(..., help="Task name, e.g. icr.")) -> None:
        """Print one task definition in full."""
        spec = get_task(name)
        table = Table(title=f"{spec.name} v{spec.version}: {spec.title}", show_header=False)
        table.add_column("field", style="bold")
        table.add_column("value")
        for key, value in spec.model_dump(mode="json").items():
            if key == "splits":
                value = "\n".join(
                    f"{s}: {v['annotation']}" + (f" + {v['images']}" if v.get("images") else "")
                    for s, v in value.items()
                )
            elif key == "decided_by" and value:
                value = "\n".join(f"{k.replace('_', ' ')}: {v}" for k, v in value.items())
            elif isinstance(value, list):
                value = ", ".join(map(str, value))
            table.add_row(key, "" if value is None else str(value))
        Console().print(table)

    app.add_typer(tasks_app, name="tasks")
