"""JSON Lines reading with one-line errors that name the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from zero_bench.errors import DataFormatError


def read_lines(path: Path, what: str = "annotation file") -> Iterator[tuple[int, str]]:
    """(1-based line number, text without the line break) of each line of a UTF-8 file."""
    if not path.is_file():
        raise DataFormatError(path, f"{what} not found")
    try:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                yield number, line.rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


def read_json_lines(
    path: Path,
    required: tuple[str, ...] = (),
    what: str = "annotation file",
) -> Iterator[tuple[int, dict]]:
    """(line number, object) of each line; blank lines, bad JSON, non-objects and missing fields are errors."""
    for number, line in read_lines(path, what):
        if not line.strip():
            raise DataFormatError(path, "empty line (JSON Lines needs one object per line)", number)
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataFormatError(path, f"bad JSON: {exc.msg} at column {exc.colno}", number) from exc
        if not isinstance(record, dict):
            raise DataFormatError(path, "expected a JSON object", number)
        for key in required:
            if key not in record:
                raise DataFormatError(path, f"missing field {key!r}", number)
        yield number, record
