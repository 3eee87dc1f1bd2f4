"""User-facing errors: each renders as one line that names the file (and line) and what is wrong."""

from __future__ import annotations

from pathlib import Path


class ZeroBenchError(Exception):
    """An error caused by the user's input or environment; the CLI prints it as one line, no traceback."""


class DataFormatError(ZeroBenchError):
    """Malformed input file: names the file, the line (1-based) when known, and what is wrong."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")
