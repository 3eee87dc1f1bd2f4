"""Published numbers for reproduction: a zoo model's reported leaderboard entries beside a Result of ours.

The numbers live in one place only, the reported entries of ``leaderboard/submissions/<slug>.json``; a zoo entry
names its file (``ZooEntry.published``).  The folder is the ``leaderboard/`` of the current folder or one above it
(as ``zero-bench leaderboard`` finds it), else the one of the checkout this package runs from; an installed copy
without a checkout has none, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from zero_bench.leaderboard.schema import Entry
from zero_bench.results import Result


def submissions_folder(start: Path | None = None) -> Path | None:
    """``leaderboard/submissions`` of ``start`` (default: the current folder) or a folder above, else of the
    checkout holding this package; None when there is none."""
    here = (start or Path.cwd()).resolve()
    checkout = Path(__file__).resolve().parents[2]
    for folder in (here, *here.parents, checkout):
        candidate = folder / "leaderboard" / "submissions"
        if candidate.is_dir():
            return candidate
    return None


def published_entries(slug: str, folder: Path | None = None) -> list[Entry]:
    """The reported entries of ``<slug>.json`` (none when the file or the folder is missing)."""
    from zero_bench.leaderboard.submit import read_model_file

    folder = folder or submissions_folder()
    path = folder / f"{slug}.json" if folder is not None else None
    if path is None or not path.is_file():
        return []
    return [entry for entry in read_model_file(path).entries if entry.status == "reported"]


@dataclass(frozen=True)
class Comparison:
    """One published metric beside ours."""

    metric: str
    published: float
    ours: float
    source: str
    protocol: str | None

    @property
    def difference(self) -> float:
        return self.ours - self.published

    def line(self) -> str:
        protocol = f", protocol {self.protocol}" if self.protocol else ""
        return (
            f"published {self.metric} {self.published:.2f}{protocol}; ours {self.ours:.2f}; "
            f"difference {self.difference:+.2f}  (source: {self.source})"
        )


def _same_setting(entry: Entry, result: Result) -> bool:
    if (entry.task, entry.split, entry.setting) != (result.task.name, result.task.split, result.setting):
        return False
    record = result.classification
    if record is None:
        return True
    return entry.protocol in (record.protocol, "not stated")


def compare(result: Result, entries: list[Entry]) -> list[Comparison]:
    """Every published metric of the same task, split and setting (and, for classification, a protocol that is the
    same or not stated) that our Result also has."""
    out = []
    for entry in entries:
        if not _same_setting(entry, result):
            continue
        for metric, value in entry.metrics.items():
            if metric in result.metrics:
                out.append(Comparison(metric, value, result.metrics[metric], entry.source, entry.protocol))
    return out
