"""``zero-bench results table|export``: Result files as one table (text, CSV, Markdown or JSON on standard output), or
written in CLIP_benchmark's or MTEB's result format."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    results_app = typer.Typer(help="Work with Result files.", no_args_is_help=True)

    @results_app.command("table")
    def table_command(
        paths: list[Path] = typer.Argument(..., help="Result JSON files or folders holding them."),
        csv: bool = typer.Option(False, "--csv", help="CSV: a header line, then one line per row."),
        md: bool = typer.Option(False, "--md", help="A Markdown table."),
        json_output: bool = typer.Option(False, "--json", help="JSON: one object per row."),
    ) -> None:
        """One row per model and setting, one column per task's primary metric, and the mean over complete rows."""
        from zero_bench.errors import ZeroBenchError
        from zero_bench.results_table import load_results, to_markdown, to_text_rows

        if csv + md + json_output > 1:
            raise ZeroBenchError("choose one of --csv, --md, --json")
        frame = load_results(paths)
        if csv:
            typer.echo(frame.to_csv(index=False, float_format="%.4f"), nl=False)
        elif md:
            typer.echo(to_markdown(frame), nl=False)
        elif json_output:
            typer.echo(frame.to_json(orient="records", indent=2))
        else:
            shown = frame.drop(columns=["random_init"])  # the model column already says "(random init)"
            table = Table(title=f"{len(shown)} model(s) and setting(s)")
            for column in shown.columns:
                table.add_column(str(column), overflow="fold")
            for row in to_text_rows(shown):
                table.add_row(*row)
            Console().print(table)

    @results_app.command("export")
    def export_command(
        paths: list[Path] = typer.Argument(..., help="Result JSON files or folders holding them."),
        fmt: str = typer.Option(
            ..., "--format", help="clip_benchmark (its per-run JSON) or mteb (MTEB's result layout and JSON)."
        ),
        out: Path = typer.Option(Path("exported-results"), "--out", "-o", help="Folder to write into."),
    ) -> None:
        """Write every Result in CLIP_benchmark's or MTEB's result format (names, 0-1 scale: see results_export)."""
        from zero_bench.results_export import export_results

        report = export_results(paths, fmt, out)
        typer.echo(f"{report.results} Result(s) exported as {fmt}: {len(report.written)} file(s) in {out}")

    app.add_typer(results_app, name="results")
