"""``zero-bench.lock.json``: checksums recorded at the first download, checked on every later use.

No checksums are published for the Zero / CCMB files, so the first download pins them ("trust on first use").
A later download or ``verify`` that sees different bytes is refused with a one-line message.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from zero_bench.errors import DataFormatError, ZeroBenchError
from zero_bench.fileio import atomic_write_text, sha256_file
from zero_bench.version import __version__

LOCK_NAME = "zero-bench.lock.json"


@dataclass
class LockFile:
    path: Path
    entries: dict[str, dict] = field(default_factory=dict)  # dataset name -> {"source", "recorded", "files"}

    @classmethod
    def load(cls, folder: str | Path) -> LockFile:
        path = Path(folder) / LOCK_NAME
        if not path.exists():
            return cls(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            entries = raw["entries"]
            assert isinstance(entries, dict)
        except Exception as exc:
            raise DataFormatError(path, f"unreadable lock file ({exc}); delete it to re-record the checksums") from exc
        return cls(path, entries)

    def save(self) -> None:
        payload = {"format": 1, "toolkit_version": __version__, "entries": self.entries}
        atomic_write_text(self.path, json.dumps(payload, indent=1, ensure_ascii=False, sort_keys=True) + "\n")

    def files(self, dataset: str) -> dict[str, dict]:
        return self.entries.get(dataset, {}).get("files", {})

    def check_file(self, dataset: str, rel: str, actual: Path, *, sha256: str | None = None) -> str:
        """Compare one file against the lock; raise on mismatch. Returns its sha256."""
        digest = sha256 or sha256_file(actual)
        pinned = self.files(dataset).get(rel)
        if pinned is not None and pinned["sha256"] != digest:
            raise ZeroBenchError(
                f"{actual}: checksum {digest[:12]}… does not match {pinned['sha256'][:12]}… recorded for {dataset} in "
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
        entry = self.entries.setdefault(dataset, {"files": {}})
        if replace:
            entry["files"] = {}
        out: dict[str, str] = {}
        for rel, path in sorted(files.items()):
            digest = self.check_file(dataset, rel, path, sha256=(digests or {}).get(rel))
            out[rel] = digest
            entry["files"].setdefault(
                rel,
                {
                    "sha256": digest,
                    "size": path.stat().st_size,
                    "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                },
            )
        if source is not None:
            entry["source"] = source
        self.save()
        return out


@dataclass
class VerifyReport:
    dataset: str
    checked: int = 0
    ok: int = 0
    missing: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unpinned: list[str] = field(default_factory=list)  # present on disk, not in the lock

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
        elif path.stat().st_size != pinned.get("size", path.stat().st_size) or sha256_file(path) != pinned["sha256"]:
            report.changed.append(rel)
        else:
            report.ok += 1
    return report
