"""Line and JSON Lines reading with one-line errors that name the file and line.

Bounded: a line longer than ``MAX_LINE_BYTES`` is refused before it is held in memory, bytes are decoded line by
line (a non-UTF-8 byte is reported with its line and column), and JSON that Python cannot represent safely (huge
integers, deep nesting, lone surrogates) is refused with its line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from zero_bench.errors import DataFormatError

MAX_LINE_BYTES = 1 << 20  # annotation and prediction lines are short; a longer one is damage or an attack


def read_lines(
    path: Path, what: str = "annotation file", max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, str]]:
    """(1-based line number, text without the line break) of each line of a UTF-8 file."""
    if not path.is_file():
        if path.is_dir():
            raise DataFormatError(path, f"is a folder; the {what} must be a file")
        raise DataFormatError(
            path, f"is not a regular file; the {what} must be one" if path.exists() else f"{what} not found"
        )
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the `with handle:` below
    except OSError as exc:
        raise DataFormatError(path, f"cannot read {what}: {exc.strerror}") from exc
    with handle:
        number = 0
        while raw := handle.readline(max_line_bytes + 1):
            number += 1
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                raise DataFormatError(path, f"line longer than the limit of {max_line_bytes} bytes", number)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    path, f"not UTF-8 text ({exc.reason} at byte {exc.start + 1} of the line)", number
                ) from exc
            yield number, text.rstrip("\r\n")


def _lone_surrogate(value: Any) -> bool:
    """True if a string anywhere in ``value`` holds a lone surrogate (JSON ``\\ud800`` escapes parse into one)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def parse_json_line(path: Path, line: str, number: int) -> Any:
    """One JSON value; every failure (syntax, 4300+ digit integers, deep nesting) as a DataFormatError."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataFormatError(path, f"bad JSON: {exc.msg} at column {exc.colno}", number) from exc
    except RecursionError as exc:
        raise DataFormatError(path, "bad JSON: nested too deeply", number) from exc
    except ValueError as exc:  # e.g. an integer with more digits than int() accepts
        raise DataFormatError(path, f"bad JSON: {str(exc).splitlines()[0]}", number) from exc
    if _lone_surrogate(value):
        raise DataFormatError(path, "a string holds a lone surrogate escape (not valid Unicode text)", number)
    return value


def read_json_lines(
    path: Path,
    required: tuple[str, ...] = (),
    what: str = "annotation file",
) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each line; blank lines, bad JSON, non-objects and missing fields are errors."""
    for number, line in read_lines(path, what):
        if not line.strip():
            raise DataFormatError(path, "empty line (JSON Lines needs one object per line)", number)
        record = parse_json_line(path, line, number)
        if not isinstance(record, dict):
            raise DataFormatError(path, "expected a JSON object", number)
        for key in required:
            if key not in record:
                raise DataFormatError(path, f"missing field {key!r}", number)
        yield number, record
