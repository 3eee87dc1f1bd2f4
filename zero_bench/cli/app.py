"""The ``zero-bench`` command line.  Each command group lives in its own module and registers itself here.

Heavy libraries (torch models, transformers, datasets) are imported inside the commands, not at start-up.
"""

from __future__ import annotations

import importlib
import sys

import typer

from zero_bench.errors import ZeroBenchError
from zero_bench.version import __version__

app = typer.Typer(
    name="zero-bench",
    help="Zero / CCMB benchmark toolkit: data, evaluation, training and the leaderboard for Chinese image-text models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules, each with ``register(app)``.
COMMAND_MODULES = [
    "zero_bench.cli.tasks_cmd",
    "zero_bench.cli.data_cmd",
    "zero_bench.cli.evaluate_cmd",
    "zero_bench.cli.models_cmd",
    "zero_bench.cli.results_cmd",
    "zero_bench.cli.leaderboard_cmd",
    "zero_bench.cli.train_cmd",
    "zero_bench.cli.contamination_cmd",
]


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks instead of one-line errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Declares the global options; ``main`` reads ``--debug`` itself (errors can occur before this runs)."""


# Where each command is documented (docs/ of the repository); appended to its --help.
DOCS = {
    "evaluate": "docs/tasks-and-metrics.md, docs/classification.md, docs/models.md",
    "score": "docs/tasks-and-metrics.md, docs/classification.md",
    "models": "docs/models.md",
    "download": "docs/data.md",
    "datasets": "docs/data.md",
    "verify": "docs/data.md",
    "stats": "docs/data.md",
    "results": "docs/tasks-and-metrics.md",
    "submit": "docs/leaderboard.md",
    "leaderboard": "docs/leaderboard.md",
    "train": "docs/r2d2.md",
    "finetune": "docs/r2d2.md",
    "quickstart": "docs/r2d2.md",
    "contamination": "docs/contamination.md",
    "tasks": "docs/tasks-and-metrics.md",
}


def _point_to_docs(typer_app: typer.Typer) -> None:
    """Append "Docs: <page>" to the help of every command and command group named in DOCS."""
    for command in typer_app.registered_commands:
        name = command.name or (command.callback.__name__ if command.callback else "")
        if name in DOCS:
            text = command.help or (command.callback.__doc__ if command.callback else "") or ""
            command.help = f"{text.rstrip()}\n\nDocs: {DOCS[name]} (in the zero-bench repository)."
    for group in typer_app.registered_groups:
        if group.name in DOCS and group.typer_instance is not None:
            info = group.typer_instance.info
            info.help = f"{(info.help or '').rstrip()}\n\nDocs: {DOCS[group.name]} (in the zero-bench repository)."


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)
_point_to_docs(app)


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except ZeroBenchError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}".splitlines()[0], err=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors and the like
        if _is_click_error(exc):
            if debug:
                raise
            typer.echo(_usage_line(exc), err=True)
            sys.exit(int(getattr(exc, "exit_code", 2)))
        if debug:
            raise
        typer.echo(_unexpected_line(exc), err=True)
        sys.exit(1)


def _unexpected_line(exc: Exception) -> str:
    """An error no check caught, as one line: an OSError by the file it names (``error: out/r.json: No space left
    on device``), anything else by its type."""
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"error: {exc.filename}: {exc.strerror}"
    return f"error: {type(exc).__name__}: {exc}".splitlines()[0]


def _is_click_error(exc: Exception) -> bool:
    """click's errors, and typer's own copy of them (typer >= 0.22 ships click inside as ``typer._click``; its
    errors derive from ``typer.TyperException``, not from click's classes)."""
    import click

    return isinstance(exc, click.exceptions.ClickException) or (
        isinstance(exc, getattr(typer, "TyperException", ())) and hasattr(exc, "format_message")
    )


def _usage_line(exc: Exception) -> str:
    """A usage error (an unknown option or command, a value that does not parse, a missing argument) as one line,
    with where to look: ``error: No such option: --confg (see 'zero-bench evaluate --help')``."""
    ctx = getattr(exc, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    return f"error: {message.strip()}".splitlines()[0] + hint


if __name__ == "__main__":
    main()
