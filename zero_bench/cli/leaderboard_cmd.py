"""``zero-bench submit`` and ``zero-bench leaderboard build``."""

from __future__ import annotations

from pathlib import Path

import typer

from zero_bench.errors import ZeroBenchError

ROOT_HELP = "Leaderboard folder (holds submissions/); default: leaderboard/ of the current folder or one above it."


def submit_command(
    result: Path = typer.Argument(..., help="Result JSON from 'zero-bench evaluate', or a bundle JSON."),
    predictions: Path | None = typer.Option(
        None, help="The predictions file of the result: re-scored. Without it the entry is stored as 'reported'."
    ),
    replace: bool = typer.Option(False, "--replace", help="Replace this model's existing entry for the task."),
    data_dir: Path | None = typer.Option(
        None,
        help="Folder in the official layout to re-score against (as for 'zero-bench score'); default: the data root.",
    ),
    root: Path | None = typer.Option(None, help=ROOT_HELP),
) -> None:
    """Validate a result, re-score its predictions and add it to leaderboard/submissions/."""
    from zero_bench.leaderboard.submit import submit

    outcome = submit(result, predictions, replace=replace, data_dir=data_dir, root=root)
    for entry in outcome.stored:
        typer.echo(
            f"stored {entry.status} {entry.setting} entry for {entry.task}/{entry.split}"
            f"{' (replaced the old one)' if any(e.key == entry.key for e in outcome.replaced) else ''}"
        )
    typer.echo(f"written {outcome.path}; run 'zero-bench leaderboard build' to regenerate the pages")


def build_command(
    root: Path | None = typer.Option(None, help=ROOT_HELP),
    out: Path | None = typer.Option(None, help="Write the generated files here instead of the root."),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; fail (exit 2) when the generated files are stale."
    ),
    data_dir: Path | None = typer.Option(
        None,
        help="Folder in the official layout to re-score the re-scored entries against; default: the data root.",
    ),
) -> None:
    """Regenerate leaderboard/README.md, index.html and charts/ from leaderboard/submissions/."""
    from zero_bench.leaderboard.build import build, stale_files
    from zero_bench.leaderboard.submit import default_root

    folder = root or default_root()
    if not (folder / "submissions").is_dir():
        raise ZeroBenchError(f"{folder}/submissions does not exist (pass --root)")
    if check:
        stale = stale_files(folder, data_dir)
        if stale:
            # like every failure: one line on stderr, exit 2
            raise ZeroBenchError(f"leaderboard files are stale: {', '.join(stale)}; run 'zero-bench leaderboard build'")
        typer.echo("leaderboard is up to date")
        return
    for path in build(folder, out, data_dir):
        typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command("submit")(submit_command)
    group = typer.Typer(help="Leaderboard pages.", no_args_is_help=True)
    app.add_typer(group, name="leaderboard")
    group.command("build")(build_command)
