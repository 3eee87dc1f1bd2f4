"""User-facing errors: each renders as one line that names the file (and line) and what is wrong."""

from __future__ import annotations

import re
from pathlib import Path

# torch's DataLoader re-raises an error from a worker process as ``type(text)``, where the text is "Caught <type> in
# DataLoader worker process N." followed by the worker's traceback; the error's own line is the traceback's last.
_WORKER_TEXT = re.compile(r"^Caught \w+ in DataLoader worker process \d+\.\nOriginal Traceback")
_FINAL_LINE = re.compile(r"^zero_bench[\w.]*\.\w+: (.*)$", re.MULTILINE)


class ZeroBenchError(Exception):
    """An error caused by the user's input or environment; the CLI prints it as one line, no traceback."""

    def __init__(self, *args: object) -> None:
        if len(args) == 1 and isinstance(args[0], str) and _WORKER_TEXT.match(args[0]):
            found = _FINAL_LINE.findall(args[0])
            if found:
                args = (found[-1],)
        super().__init__(*args)


class DataFormatError(ZeroBenchError):
    """Malformed input file: names the file, the line (1-based) when known, and what is wrong."""

    def __init__(self, path: str | Path, problem: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {problem}")
