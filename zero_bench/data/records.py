"""Read the official Zero record files (JSON array or JSON Lines, optionally gzip) into one normalised table.

Fields: ``Url`` (page), ``Title``, ``Content``, ``Keywords``, ``ImageKey`` (unique id), ``ImageUrl``,
``ImageQuery``.  A malformed record is skipped and counted by reason; nothing crashes on one.
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from zero_bench.errors import ZeroBenchError

RECORD_SUFFIXES = (".json", ".jsonl", ".json.gz", ".jsonl.gz", ".ndjson", ".ndjson.gz")
FIELDS = ("Url", "Title", "Content", "Keywords", "ImageKey", "ImageUrl", "ImageQuery")
# normalised column -> record field
COLUMNS = {
    "image_key": "ImageKey",
    "url": "ImageUrl",
    "title": "Title",
    "content": "Content",
    "keywords": "Keywords",
    "query": "ImageQuery",
    "page_url": "Url",
}
INPUT_SCHEMA = pa.schema([("row", pa.int64())] + [(c, pa.string()) for c in COLUMNS])


@dataclass
class RecordStats:
    files: list[str] = field(default_factory=list)
    total: int = 0
    valid: int = 0
    malformed: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {
            "files": self.files,
            "total": self.total,
            "valid": self.valid,
            "malformed": dict(sorted(self.malformed.items())),
            "malformed_total": sum(self.malformed.values()),
        }


def record_files(folder: Path) -> list[Path]:
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.name.lower().endswith(RECORD_SUFFIXES))
    if not files:
        raise ZeroBenchError(f"{folder}: no record files (*.json, *.jsonl, optionally .gz) found")
    return files


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def iter_raw(path: Path) -> Iterator[object | Exception]:
    """Yield each record (or the exception that made it unreadable) of a JSON-array or JSON-Lines file."""
    try:
        with _open_text(path) as handle:
            head = ""
            while True:
                ch = handle.read(1)
                if not ch or not ch.isspace():
                    head = ch
                    break
            if head == "[":
                yield from _iter_array(handle)
                return
            first = True
            for line in handle:
                if first:
                    line, first = head + line, False
                if not line.strip():
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as exc:
                    yield exc
    except (OSError, EOFError, gzip.BadGzipFile) as exc:  # truncated gzip and the like: count, go on
        yield exc


_WINDOW = 4 << 20  # bytes of look-ahead kept in the buffer: a record larger than this is reported malformed
_RESYNC = re.compile(r",\s*\{")


def _iter_array(handle) -> Iterator[object | Exception]:
    """Stream the elements of a JSON array (after its '['), never holding the whole file; a malformed element is
    yielded as the exception and parsing resumes at the next ``, {``."""
    decoder = json.JSONDecoder()
    buf, pos, eof = "", 0, False
    while True:
        if not eof and len(buf) - pos < _WINDOW:
            more = handle.read(_WINDOW)
            eof = not more
            buf, pos = buf[pos:] + more, 0
            continue
        while pos < len(buf) and buf[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(buf):
            if eof:
                yield json.JSONDecodeError("unterminated JSON array", buf, pos)
                return
            continue
        if buf[pos] == "]":
            return
        try:
            obj, pos = decoder.raw_decode(buf, pos)
            yield obj
        except json.JSONDecodeError as exc:
            yield exc
            match = _RESYNC.search(buf, pos + 1)
            if match is None:
                if eof:
                    return
                buf, pos = "", 0  # skip the broken window
                continue
            pos = match.start() + 1


def _text(value: object) -> str | None:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(value)
    return None


def normalise(record: object, seen: set[str]) -> tuple[dict | None, str | None]:
    """A record -> (normalised row, None) or (None, reason it is malformed)."""
    if isinstance(record, Exception):
        return None, "unreadable_file" if not isinstance(record, json.JSONDecodeError) else "invalid_json"
    if not isinstance(record, dict):
        return None, "not_an_object"
    key = record.get("ImageKey")
    if key is None or (isinstance(key, str) and not key.strip()):
        return None, "missing_ImageKey"
    url = record.get("ImageUrl")
    if not isinstance(url, str) or not url.strip():
        return None, "missing_ImageUrl"
    if not url.strip().lower().startswith(("http://", "https://")):
        return None, "bad_ImageUrl"
    row = {}
    for col, fld in COLUMNS.items():
        value = _text(record.get(fld))
        if value is None:
            return None, f"bad_type_{fld}"
        row[col] = value.strip() if col in ("url", "image_key") else value
    if row["image_key"] in seen:
        return None, "duplicate_ImageKey"
    seen.add(row["image_key"])
    return row, None


def build_input_table(files: list[Path], out: Path, *, chunk: int = 100_000) -> RecordStats:
    """Parse every record file into ``out`` (parquet: row, image_key, url, texts); count malformed records."""
    stats = RecordStats(files=[str(f) for f in files])
    seen: set[str] = set()
    buffer: dict[str, list] = {c: [] for c in INPUT_SCHEMA.names}
    with pq.ParquetWriter(out, INPUT_SCHEMA) as writer:

        def flush() -> None:
            if buffer["row"]:
                writer.write_table(pa.table(buffer, schema=INPUT_SCHEMA))
                for v in buffer.values():
                    v.clear()

        for path in files:
            for record in iter_raw(path):
                stats.total += 1
                row, problem = normalise(record, seen)
                if problem or row is None:
                    stats.malformed[problem or "not a record"] += 1
                    continue
                buffer["row"].append(stats.valid)
                for c in COLUMNS:
                    buffer[c].append(row[c])
                stats.valid += 1
                if len(buffer["row"]) >= chunk:
                    flush()
        flush()
    return stats
