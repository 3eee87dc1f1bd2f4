"""Atomic writes, checksums and write guards: nothing half-written is ever left at a final path, no write follows a
link out of its folder, no output replaces an input, and every file gets the user's umask."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from zero_bench.errors import ZeroBenchError

_CHUNK = 1 << 20
_UMASK_LOCK = threading.Lock()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def current_umask() -> int:
    """The process umask (reading it means setting it: done under a lock and restored at once)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _publish_mode(path: Path, *, folder: bool = False) -> None:
    # mkstemp / mkdtemp create 0600 / 0700; a finished output gets the mode a plain open() / mkdir() would give.
    os.chmod(path, (0o777 if folder else 0o666) & ~current_umask())


@contextlib.contextmanager
def atomic_path(final: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary file path next to ``final``; it is renamed onto ``final`` only if the block succeeds."""
    final = check_output_file(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix + ".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _publish_mode(tmp_path)
        os.replace(tmp_path, final)
    finally:
        tmp_path.unlink(missing_ok=True)


def atomic_write_text(final: str | Path, text: str) -> None:
    with atomic_path(final) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(final: str | Path, data: bytes) -> None:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


@contextlib.contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Yield a temporary folder next to ``final``; on success it replaces ``final`` (an old one is removed)."""
    final = check_output_folder(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        _publish_mode(tmp, folder=True)
        if final.exists():
            trash = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, trash)
            os.replace(tmp, final)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def inside_root(root: str | Path, rel: str | Path) -> Path:
    """``root / rel`` after checking that no part of it below ``root`` is a symbolic link (which could lead a write,
    rename or delete out of ``root``) and that ``rel`` stays below ``root``.  ``root`` itself may be a link."""
    root = Path(root)
    rel = Path(rel)
    if rel.is_absolute() or ".." in rel.parts:
        raise ZeroBenchError(f"{root / rel}: refusing a path that leaves {root}")
    current = root
    for part in rel.parts:
        current = current / part
        if current.is_symlink():
            raise ZeroBenchError(f"{current}: is a symbolic link; refusing to write through it (it could leave {root})")
    return current


def _not_a_folder(path: Path) -> Path | None:
    """The nearest of ``path`` and its parents that exists, when it is not a folder (None when it is one, or when
    none exists)."""
    existing = next((p for p in (path, *path.parents) if p.exists()), None)
    return existing if existing is not None and not existing.is_dir() else None


def check_output_folder(folder: str | Path, what: str = "output folder") -> Path:
    """``folder`` as a Path, refused in one line when it, or the nearest part of it that exists, is not a folder (a
    file given as ``--output``): before anything is generated, not as an OSError half-way through a run."""
    path = Path(folder)
    blocking = _not_a_folder(path)
    if blocking == path:
        raise ZeroBenchError(f"{path}: exists and is not a folder; the {what} must be a folder")
    if blocking is not None:
        raise ZeroBenchError(f"{path}: {blocking} is not a folder, so the {what} cannot be made there")
    return path


def check_output_file(file: str | Path, what: str = "output") -> Path:
    """``file`` as a Path, refused in one line when it is a folder or when its folder cannot be made (a file where
    a folder should be): checked before the work that produces it, not after."""
    path = Path(file)
    if path.is_dir():
        raise ZeroBenchError(f"{path}: is a folder; the {what} must be a file")
    if (blocking := _not_a_folder(path.parent)) is not None:
        raise ZeroBenchError(f"{path}: {blocking} is not a folder, so the {what} cannot be written there")
    return path


def refuse_overwrite(output: str | Path, inputs: Iterable[str | Path | None], what: str = "output") -> None:
    """Raise if ``output`` is (a link to) one of ``inputs``: an output never replaces a file it was computed from."""
    out = Path(output)
    if not out.exists():
        return
    for item in inputs:
        if item is None:
            continue
        source = Path(item)
        if source.exists() and os.path.samefile(out, source):
            raise ZeroBenchError(f"{out}: the {what} would overwrite an input ({source}); choose another file")


def swap_folder(new: str | Path, dest: str | Path, aside: str | Path) -> None:
    """Put the folder ``new`` at ``dest`` (renames on one file system): an old ``dest`` is moved to ``aside`` first
    and put back if the rename fails, then removed."""
    new, dest, aside = Path(new), Path(dest), Path(aside)
    shutil.rmtree(aside, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    had_old = dest.exists()
    if had_old:
        os.replace(dest, aside)
    try:
        os.replace(new, dest)
    except BaseException:
        if had_old:
            os.replace(aside, dest)
        raise
    shutil.rmtree(aside, ignore_errors=True)
