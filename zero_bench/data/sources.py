"""Where dataset files come from: a local folder or archive, an HTTP(S) URL, or a Hugging Face Hub repo.

Archives are unpacked safely: members with absolute paths, ``..`` components, duplicates, links pointing outside
the target, devices or FIFOs, sizes beyond the free disk space and compression bombs are refused before anything is
written; a local ``--from`` folder holding a link that points outside it is refused.
"""

from __future__ import annotations

import lzma
import os
import re
import shutil
import tarfile
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import atomic_path

ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
MAX_RATIO = 200  # unpacked / packed bytes; images barely compress, text ~5x: beyond this it is a bomb
RATIO_FLOOR = 1 << 20  # small members may compress better (a file of spaces); only bigger ones are checked
_HF_RE = re.compile(r"^hf://(datasets|models|spaces)/([^/@]+)/([^/@]+?)(?:@([^/]+))?(?:/(.*))?$")


@dataclass(frozen=True)
class HFSource:
    repo_type: str  # "dataset", "model" or "space"
    repo_id: str  # ORG/NAME
    revision: str | None = None
    subfolder: str | None = None


def parse_hf_url(url: str) -> HFSource:
    """``hf://datasets/ORG/NAME[@REVISION][/sub/folder]`` -> :class:`HFSource`."""
    match = _HF_RE.match(url.strip())
    if not match:
        raise ZeroBenchError(f"{url}: not a Hub source; expected hf://datasets/ORG/NAME[@REVISION][/FOLDER]")
    kind, org, name, revision, sub = match.groups()
    return HFSource(
        repo_type=kind.rstrip("s"),
        repo_id=f"{org}/{name}",
        revision=revision,
        subfolder=(sub or None) and sub.strip("/"),
    )


def is_archive(path: str | Path) -> bool:
    return str(path).lower().endswith(ARCHIVE_SUFFIXES)


def _check_member(name: str, archive: Path) -> PurePosixPath:
    if "\x00" in name:
        raise ZeroBenchError(f"{archive}: refusing a member name with a NUL character: {name!r}")
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        raise ZeroBenchError(f"{archive}: refusing to unpack absolute path {name!r}")
    if ".." in pure.parts:
        raise ZeroBenchError(f"{archive}: refusing to unpack path with '..': {name!r}")
    return pure


def _inside(target: Path, candidate: Path) -> bool:
    try:
        candidate.resolve().relative_to(target.resolve())
        return True
    except ValueError:
        return False


def _check_members(archive: Path, names: list[str]) -> None:
    """Every member path is relative, without ``..``, and appears once (a second copy would silently win)."""
    seen: set[PurePosixPath] = set()
    for name in names:
        pure = _check_member(name, archive)
        key = PurePosixPath(*pure.parts)  # "a//b" and "a/./b" name the same file as "a/b"
        if not key.parts:
            raise ZeroBenchError(f"{archive}: refusing a file member without a name: {name!r}")
        if key in seen:
            raise ZeroBenchError(f"{archive}: refusing an archive that holds {name!r} twice")
        seen.add(key)


def _check_sizes(archive: Path, target: Path, declared: int, ratios: list[tuple[str, int, int]]) -> None:
    """Refuse before writing: more than the free disk space, or a member inflating by more than MAX_RATIO."""
    for name, packed, size in ratios:
        if size > RATIO_FLOOR and size > MAX_RATIO * max(packed, 1):
            raise ZeroBenchError(
                f"{archive}: refusing {name!r}: {packed} bytes would unpack to {size} (more than {MAX_RATIO}x; "
                "a compression bomb?)"
            )
    free = shutil.disk_usage(target).free
    if declared > free:
        raise ZeroBenchError(f"{archive}: unpacks to {declared} bytes, more than the {free} bytes free in {target}")


def _copy_bounded(src: IO[bytes], out: IO[bytes], limit: int, archive: Path, name: str) -> None:
    """Copy at most the member's declared size: a member that yields more than it declares is refused."""
    copied = 0
    while block := src.read(1 << 20):
        copied += len(block)
        if copied > limit:
            raise ZeroBenchError(f"{archive}: member {name!r} holds more than its declared {limit} bytes")
        out.write(block)


def safe_unpack(archive: str | Path, target: str | Path) -> list[Path]:
    """Unpack ``archive`` (zip / tar / tar.gz / tar.bz2 / tar.xz) into ``target``; returns the files written.

    Every member is checked first: absolute paths, ``..``, duplicates, links leaving ``target``, devices and
    FIFOs, sizes beyond the free disk space and compression bombs are refused (nothing is written then).  A damaged
    or truncated archive is reported in one line and whatever was unpacked from it is removed.
    """
    archive, target = Path(archive), Path(target)
    if not archive.is_file():
        raise ZeroBenchError(f"{archive}: archive not found")
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        if str(archive).lower().endswith(".zip"):
            _unpack_zip(archive, target, written)
        else:
            _unpack_tar(archive, target, written)
    except ZeroBenchError:
        _remove(written)
        raise
    except (EOFError, OSError, zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError) as exc:
        _remove(written)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ZeroBenchError(f"{archive}: damaged or truncated archive ({reason})") from exc
    except BaseException:
        _remove(written)
        raise
    return written


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _unpack_zip(archive: Path, target: Path, written: list[Path]) -> None:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        _check_members(archive, [info.filename for info in infos])
        for info in infos:
            mode = (info.external_attr >> 16) & 0o170000
            if mode == 0o120000:  # symlink stored in a zip
                raise ZeroBenchError(f"{archive}: refusing to unpack symbolic link {info.filename!r}")
        _check_sizes(
            archive,
            target,
            sum(i.file_size for i in infos),
            [(i.filename, i.compress_size, i.file_size) for i in infos],
        )
        for info in infos:
            dest = target / _check_member(info.filename, archive)
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            written.append(dest)
            with zf.open(info) as src, open(dest, "wb") as out:
                _copy_bounded(src, out, info.file_size, archive, info.filename)


def _unpack_tar(archive: Path, target: Path, written: list[Path]) -> None:
    with tarfile.open(archive, "r:*") as tf:
        members = tf.getmembers()
        _check_members(archive, [m.name for m in members if not m.isdir()])
        for m in members:
            rel = _check_member(m.name, archive)
            if m.isdev() or m.isfifo():
                raise ZeroBenchError(f"{archive}: refusing to unpack device or FIFO {m.name!r}")
            if m.issym() or m.islnk():
                link = PurePosixPath(m.linkname)
                resolved = (target / rel.parent / link) if m.issym() else (target / link)
                if link.is_absolute() or not _inside(target, resolved):
                    raise ZeroBenchError(
                        f"{archive}: refusing link {m.name!r} -> {m.linkname!r} leaving the target folder"
                    )
        declared = sum(m.size for m in members if m.isfile())
        _check_sizes(archive, target, declared, [(archive.name, archive.stat().st_size, declared)])
        for m in members:
            dest = target / _check_member(m.name, archive)
            if m.isdir():
                dest.mkdir(parents=True, exist_ok=True)
            elif m.isfile():
                dest.parent.mkdir(parents=True, exist_ok=True)
                src = tf.extractfile(m)
                if src is None:
                    raise ZeroBenchError(f"{archive}: cannot read member {m.name!r}")
                written.append(dest)
                with src, open(dest, "wb") as out:
                    _copy_bounded(src, out, m.size, archive, m.name)
            elif m.issym() or m.islnk():
                # materialise links as copies of their (checked, inside-target) destination
                base = dest.parent if m.issym() else target
                source = base / m.linkname
                if source.is_file():
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    written.append(dest)
                    shutil.copyfile(source, dest)


def check_folder_links(folder: Path) -> None:
    """Refuse a source folder holding a symbolic link that resolves outside it (its target would be installed)."""
    root = folder.resolve()
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path.is_symlink() and not _inside(root, path):
                raise ZeroBenchError(
                    f"{path}: refusing a symbolic link that points outside {folder} (to {os.readlink(path)})"
                )


def download_url(url: str, dest: str | Path, *, timeout: float = 60, show_progress: bool = True) -> Path:
    """Download ``url`` to ``dest`` atomically (a temp file renamed when complete), with a rich progress bar."""
    dest = Path(dest)
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    request = urllib.request.Request(url, headers={"User-Agent": "zero-bench"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, atomic_path(dest) as tmp:
            total = int(response.headers.get("Content-Length") or 0) or None
            with (
                open(tmp, "wb") as out,
                Progress(
                    "[progress.description]{task.description}",
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    disable=not show_progress,
                    transient=True,
                ) as progress,
            ):
                task = progress.add_task(dest.name, total=total)
                got = 0
                while block := response.read(1 << 20):
                    out.write(block)
                    got += len(block)
                    progress.update(task, advance=len(block))
            if total is not None and got != total:
                raise ZeroBenchError(f"{url}: download truncated ({got} of {total} bytes)")
    except ZeroBenchError:
        raise
    except Exception as exc:  # urllib.error.URLError, socket timeouts, http.client.IncompleteRead ...
        raise ZeroBenchError(f"{url}: download failed: {exc}".splitlines()[0]) from exc
    return dest


def hf_snapshot(src: HFSource, dest: str | Path) -> Path:
    """Fetch a Hub repo snapshot (through ``huggingface_hub.snapshot_download``) into ``dest``."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(
            repo_id=src.repo_id,
            repo_type=src.repo_type,
            revision=src.revision,
            local_dir=str(dest),
            allow_patterns=[f"{src.subfolder}/**"] if src.subfolder else None,
        )
    except Exception as exc:
        raise ZeroBenchError(
            f"hf://{src.repo_type}s/{src.repo_id}: Hub download failed: {exc}".splitlines()[0]
        ) from exc
    out = Path(path)
    return out / src.subfolder if src.subfolder else out


def materialize(source: str, workdir: str | Path) -> Path:
    """Turn a ``--from`` value into a local folder (unpacked when it is an archive) under ``workdir``.

    A local folder is returned as is (never modified); archives, URLs and Hub repos land in ``workdir``.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if source.startswith("hf://"):
        folder = hf_snapshot(parse_hf_url(source), workdir / "hf")
        return _unpack_archives_in(folder, workdir)
    if source.startswith(("http://", "https://")):
        name = Path(urllib.parse.urlparse(source).path).name or "download"
        local = download_url(source, workdir / "download" / name)
        if is_archive(local):
            safe_unpack(local, workdir / "unpacked")
            return workdir / "unpacked"
        return local.parent
    path = Path(source).expanduser()
    if not path.exists():
        raise ZeroBenchError(f"{path}: --from path not found")
    if path.is_dir():
        check_folder_links(path)
        return path
    if is_archive(path):
        safe_unpack(path, workdir / "unpacked")
        return workdir / "unpacked"
    # a single plain file: expose it in a folder of its own
    (workdir / "single").mkdir(exist_ok=True)
    link = workdir / "single" / path.name
    if not link.exists():
        try:
            os.link(path, link)
        except OSError:
            shutil.copyfile(path, link)
    return workdir / "single"


def _unpack_archives_in(folder: Path, workdir: Path) -> Path:
    """A Hub snapshot may hold archives: unpack them next to the plain files (into ``workdir/unpacked``)."""
    archives = [p for p in folder.rglob("*") if p.is_file() and is_archive(p)]
    if not archives:
        return folder
    out = workdir / "unpacked"
    for p in folder.rglob("*"):
        if p.is_file() and not is_archive(p) and ".cache" not in p.parts:
            rel = p.relative_to(folder)
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(p, out / rel)
    for a in archives:
        safe_unpack(a, out)
    return out
