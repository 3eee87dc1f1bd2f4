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


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


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
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if debug:
            raise
        typer.echo(f"error: {type(exc).__name__}: {exc}".splitlines()[0], err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
