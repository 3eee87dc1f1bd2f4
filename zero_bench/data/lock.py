"""``zero-bench.lock.json``: checksums recorded at the first download, checked on every later use.

No checksums are published for the Zero / CCMB files, so the first download pins them ("trust on first use").
A later download, ``verify`` or evaluation that sees different bytes is refused with a one-line message.

Evaluations find their pins by walking up from the file read: a lock file in any folder above it pins the file
under its path relative to that folder, whichever dataset recorded it (zero-toy pins its task files under
``zero-toy/``, the task datasets under their own folders), so ``--data-dir`` cannot step around a pin.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zero_bench.errors import DataFormatError, ZeroBenchError
from zero_bench.fileio import atomic_write_text, sha256_file
from zero_bench.version import __version__

LOCK_NAME = "zero-bench.lock.json"
BUSY_NAME = ".zero-bench.busy"  # the file lock held while a download writes into a folder


class FilePin(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    recorded: str


class DatasetPins(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: dict[str, FilePin] = Field(default_factory=dict)
    source: str | None = None


class LockModel(BaseModel):
    model_config = ConfigDict(extra="allow")  # "format", "toolkit_version" and later additions

    entries: dict[str, DatasetPins]


@dataclass
class LockFile:
    path: Path
    entries: dict[str, DatasetPins] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: str | Path) -> LockFile:
        path = Path(folder) / LOCK_NAME
        if not path.exists():
            return cls(path)
        hint = "delete it to re-record the checksums"
        try:
            raw = path.read_bytes()
            model = LockModel.model_validate_json(raw)
        except OSError as exc:
            raise DataFormatError(path, f"unreadable lock file ({exc.strerror}); {hint}") from exc
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(top level)"
            raise DataFormatError(path, f"not a zero-bench lock file ({where}: {err['msg']}); {hint}") from exc
        return cls(path, model.entries)

    def save(self) -> None:
        payload = {
            "format": 1,
            "toolkit_version": __version__,
            "entries": {name: pins.model_dump(mode="json") for name, pins in self.entries.items()},
        }
        atomic_write_text(self.path, json.dumps(payload, indent=1, ensure_ascii=False, sort_keys=True) + "\n")

    def files(self, dataset: str) -> dict[str, FilePin]:
        pins = self.entries.get(dataset)
        return pins.files if pins is not None else {}

    def check_file(self, dataset: str, rel: str, actual: Path, *, sha256: str | None = None) -> str:
        """Compare one file against the lock; raise on mismatch. Returns its sha256."""
        digest = sha256 or sha256_file(actual)
        pinned = self.files(dataset).get(rel)
        if pinned is not None and pinned.sha256 != digest:
            raise ZeroBenchError(
                f"{actual}: checksum {digest[:12]}… does not match {pinned.sha256[:12]}… recorded for {dataset} in "
                f"{self.path}; the file changed since the first download (delete the entry from the lock file only if "
                f"the new file is known good)"
            )
        return digest

    def record(
        self,
        dataset: str,
        files: dict[str, Path],
        *,
        source: str | None = None,
        digests: dict[str, str] | None = None,
        replace: bool = False,
    ) -> dict[str, str]:
        """Check ``files`` (rel -> path) against the lock, pin new ones, save. Returns rel -> sha256."""
        entry = self.entries.setdefault(dataset, DatasetPins())
        if replace:
            entry.files = {}
        out: dict[str, str] = {}
        for rel, path in sorted(files.items()):
            digest = self.check_file(dataset, rel, path, sha256=(digests or {}).get(rel))
            out[rel] = digest
            entry.files.setdefault(
                rel,
                FilePin(
                    sha256=digest,
                    size=path.stat().st_size,
                    recorded=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                ),
            )
        if source is not None:
            entry.source = source
        self.save()
        return out


def check_pins(path: Path) -> str:
    """sha256 of ``path``, after checking it against every pin recorded for it in a lock file of any folder above
    it (under any dataset name). Raises on a mismatch."""
    digest = sha256_file(path)
    resolved = path.resolve()
    for folder in resolved.parents:
        if not (folder / LOCK_NAME).is_file():
            continue
        lock = LockFile.load(folder)
        rel = resolved.relative_to(folder).as_posix()
        for dataset in sorted(lock.entries):
            lock.check_file(dataset, rel, path, sha256=digest)
    return digest


@contextlib.contextmanager
def writing(folder: Path, what: str) -> Iterator[None]:
    """Hold the folder's file lock while ``what`` writes into it; a second writer is refused at once (it would share
    the work folder and interleave installs), with one line naming the lock."""
    from filelock import FileLock, Timeout

    from zero_bench.fileio import check_output_folder

    check_output_folder(folder, f"folder {what} writes into")
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / BUSY_NAME), timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        raise ZeroBenchError(
            f"{folder / BUSY_NAME}: another zero-bench process is writing into {folder} ({what}); wait for it to "
            "finish and run again"
        ) from exc
    try:
        yield
    finally:
        lock.release()


@dataclass
class VerifyReport:
    dataset: str
    checked: int = 0
    ok: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.missing and not self.changed


def verify_against_lock(lock: LockFile, dataset: str, base: Path) -> VerifyReport:
    report = VerifyReport(dataset)
    for rel, pinned in sorted(lock.files(dataset).items()):
        report.checked += 1
        path = base / rel
        if not path.is_file():
            report.missing.append(rel)
        elif path.stat().st_size != pinned.size or sha256_file(path) != pinned.sha256:
            report.changed.append(rel)
        else:
            report.ok += 1
    return report
