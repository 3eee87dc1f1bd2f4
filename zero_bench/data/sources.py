"""Where dataset files come from: a local folder or archive, an HTTP(S) URL, or a Hugging Face Hub repo.

Archives are unpacked safely: members with absolute paths, ``..`` components, duplicates, links pointing outside
the target, devices or FIFOs, sizes beyond the free disk space and compression bombs are refused before anything is
written; a local ``--from`` folder holding a link that points outside it is refused.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import io
import lzma
import os
import re
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import atomic_path, current_umask, sha256_file

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


class _Transient(Exception):
    """A transfer that failed in a way worth retrying (network error, cut short, server error)."""


class _Stale(_Transient):
    """The server refused the range of a partial download (HTTP 416): start over."""


def _open_url(url: str, timeout: float, start: int = 0, end: int | None = None) -> Any:
    """Open ``url`` from byte ``start`` (a Range request when > 0 or when ``end``, the last byte wanted, is given);
    HTTP 5xx and network errors are transient."""
    headers = {"User-Agent": "zero-bench"}
    if start or end is not None:
        headers["Range"] = f"bytes={start}-{'' if end is None else end}"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:
            raise _Stale("the partial download does not fit the file on the server; starting over") from exc
        if exc.code >= 500 or exc.code in (408, 429):
            raise _Transient(str(exc)) from exc
        raise ZeroBenchError(f"{url}: download failed: {exc}".splitlines()[0]) from exc
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets
        raise _Transient(str(exc) or type(exc).__name__) from exc
    except ValueError as exc:  # not a URL urllib can open
        raise ZeroBenchError(f"{url}: download failed: {exc}".splitlines()[0]) from exc


def _content_start_total(response: Any, start: int) -> tuple[int, int | None]:
    """(offset the body starts at, total size or None) of a response to a request from byte ``start``."""
    length = response.headers.get("Content-Length")
    if start and response.status == 206:
        match = re.match(r"bytes (\d+)-\d+/(\d+|\*)", response.headers.get("Content-Range") or "")
        if match:
            return int(match.group(1)), None if match.group(2) == "*" else int(match.group(2))
    begin = 0  # a 200 answer (the server ignored the range) starts from the beginning
    return begin, (begin + int(length)) if length else None


def _fetch_into(url: str, part: Path, timeout: float, show_progress: bool) -> None:
    """One attempt: continue ``part`` from its current size (a Range request) to the end of ``url``."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    have = part.stat().st_size if part.exists() else 0
    try:
        response = _open_url(url, timeout, have)
    except _Stale:
        part.unlink()
        raise
    with response:
        begin, total = _content_start_total(response, have)
        if begin not in (0, have):
            part.unlink()
            raise _Transient(f"the server answered from byte {begin}, not {have}; starting over")
        progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            disable=not show_progress,
            transient=True,
        )
        got = begin
        try:
            with open(part, "r+b" if begin else "wb") as out, progress:
                out.seek(begin)
                out.truncate()
                task = progress.add_task(
                    part.name.removeprefix(".").removesuffix(".part"), total=total, completed=begin
                )
                while block := response.read(1 << 20):
                    out.write(block)
                    got += len(block)
                    progress.update(task, advance=len(block))
        except (OSError, http.client.HTTPException) as exc:
            if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
                raise ZeroBenchError(f"{part}: cannot write the download ({exc.strerror})") from exc
            raise _Transient(f"connection lost after {got} bytes ({exc or type(exc).__name__})") from exc
    if total is not None and got != total:
        raise _Transient(f"download truncated ({got} of {total} bytes)")


def download_url(
    url: str,
    dest: str | Path,
    *,
    timeout: float = 60,
    show_progress: bool = True,
    retries: int = 0,
    resume: bool = False,
    sha256: str | None = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically (a partial file renamed when complete), with a rich progress bar.

    ``retries``: further attempts after a failed or cut-short transfer, each continuing where the last one stopped
    (an HTTP Range request; a server that ignores it sends the whole file again), after a short back-off.
    ``resume``: keep the bytes of a failed download in ``.<name>.part`` next to ``dest``, so that a later call
    continues from there (without it nothing is left behind).  ``sha256``: the expected checksum; a mismatch is one
    line and removes the download, partial file included.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if resume:
        part = dest.with_name(f".{dest.name}.part")
    else:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        os.close(fd)
        part = Path(tmp)
    keep = False
    try:
        for attempt in range(retries + 1):
            try:
                _fetch_into(url, part, timeout, show_progress)
                break
            except _Transient as exc:
                if attempt == retries:
                    keep = resume and part.exists()
                    tail = f"; run again to resume from {part}" if keep else ""
                    raise ZeroBenchError(f"{url}: download failed: {exc}{tail}".splitlines()[0]) from exc
                time.sleep(min(0.25 * 2**attempt, 8.0))
        if sha256 is not None:
            digest = sha256_file(part)
            if digest != sha256:
                raise ZeroBenchError(
                    f"{url}: checksum {digest[:12]}… does not match the pinned {sha256[:12]}…; nothing was installed"
                )
        os.chmod(part, 0o666 & ~current_umask())
        os.replace(part, dest)
    finally:
        if not keep:
            part.unlink(missing_ok=True)
    return dest


class RemoteFile(io.RawIOBase):
    """A seekable, read-only view of a file on an HTTP(S) server that answers Range requests.

    Sequential reads share one streamed response covering up to ``window`` bytes; a seek elsewhere (or the end of
    the window) opens a new one.  A lost connection is retried ``retries`` times from the byte reached.  Wrapped in
    :class:`io.BufferedReader` it lets :mod:`zipfile` read one member of a remote archive without fetching the rest.
    """

    window = 64 << 20

    def __init__(self, url: str, size: int, *, timeout: float = 60, retries: int = 5) -> None:
        super().__init__()
        self.url, self.size, self.timeout, self.retries = url, size, timeout, retries
        self.pos = 0
        self._response: Any = None
        self._response_pos = -1
        self._response_end = -1  # the last byte the open response covers
        self.requests = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def _drop(self) -> None:
        if self._response is not None:
            with contextlib.suppress(Exception):
                self._response.close()
        self._response, self._response_pos, self._response_end = None, -1, -1

    def close(self) -> None:
        self._drop()
        super().close()

    def _open(self) -> None:
        self._drop()
        self.requests += 1
        end = min(self.size, self.pos + self.window) - 1
        response = _open_url(self.url, self.timeout, self.pos, end)
        if response.status != 206:
            if self.pos:
                response.close()
                raise ZeroBenchError(
                    f"{self.url}: the server does not answer range requests; download the whole file and pass it "
                    "with --from FILE"
                )
            end = self.size - 1  # the whole file, from the start
        self._response, self._response_pos, self._response_end = response, self.pos, end

    def readinto(self, buffer: Any) -> int:
        want = min(len(buffer), self.size - self.pos)
        if want <= 0:
            return 0
        for attempt in range(self.retries + 1):
            try:
                if self._response is None or self._response_pos != self.pos or self.pos > self._response_end:
                    self._open()
                n = self._response.readinto(memoryview(buffer)[:want])
                if not n:
                    raise _Transient(f"connection closed at byte {self.pos} of {self.size}")
                self.pos += n
                self._response_pos += n
                return n
            except (_Transient, OSError, http.client.HTTPException) as exc:
                self._drop()
                if attempt == self.retries:
                    raise ZeroBenchError(
                        f"{self.url}: download failed at byte {self.pos}: {exc}".splitlines()[0]
                    ) from exc
                time.sleep(min(0.25 * 2**attempt, 8.0))
        return 0  # not reached


def extract_zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: str | Path, archive: str) -> Path:
    """Copy one member of an open zip archive to ``dest`` (atomically), refusing a compression bomb, a member larger
    than the free disk space or holding more than it declares; zipfile checks its CRC-32.  Nothing is left behind
    on failure."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _check_member(info.filename, Path(archive))
    _check_sizes(Path(archive), dest.parent, info.file_size, [(info.filename, info.compress_size, info.file_size)])
    try:
        with atomic_path(dest) as tmp, zf.open(info) as src, open(tmp, "wb") as out:
            _copy_bounded(src, out, info.file_size, Path(archive), info.filename)
    except (EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ZeroBenchError(f"{archive}: member {info.filename!r} is damaged or truncated ({exc})") from exc
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


@dataclass(frozen=True)
class HubFile:
    url: str  # the resolve URL at ``commit``
    path: Path | None  # the local copy, once fetched
    commit: str | None  # the commit the file was read at
    sha256: str | None  # the sha256 the Hub publishes for an LFS / Xet file (None for a small git file)
    size: int | None


def hub_file_info(src: HFSource, filename: str, *, endpoint: str | None = None) -> HubFile:
    """What the Hub says about one file (a HEAD request): commit, published sha256, size."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(src.repo_id, filename, repo_type=src.repo_type, revision=src.revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url)
    except Exception as exc:
        raise ZeroBenchError(f"{url}: Hub request failed: {exc}".splitlines()[0]) from exc
    etag = (meta.etag or "").strip('"').lower()
    if meta.commit_hash:
        url = hf_hub_url(src.repo_id, filename, repo_type=src.repo_type, revision=meta.commit_hash, endpoint=endpoint)
    return HubFile(
        url=url,
        path=None,
        commit=meta.commit_hash,
        sha256=etag if re.fullmatch(r"[0-9a-f]{64}", etag) else None,
        size=meta.size,
    )


def hf_file(src: HFSource, filename: str, dest: str | Path, *, endpoint: str | None = None) -> HubFile:
    """Fetch one file of a Hub repo into the folder ``dest``: huggingface_hub names the commit the Hub serves now,
    the size and the sha256 it publishes; the bytes come from the resolve URL at that commit with retries and a
    ``.part`` file that a later run continues, even after the process was killed (huggingface_hub's own download
    starts a new temporary file on every run).  A file whose sha256 differs from the published one is removed."""
    info = hub_file_info(src, filename, endpoint=endpoint)
    path = Path(dest) / filename
    if path.is_file() and info.sha256 is not None and sha256_file(path) != info.sha256:
        path.unlink()  # an earlier version of the file: fetched again below
    if not path.is_file():
        download_url(info.url, path, retries=5, resume=True, sha256=info.sha256, timeout=120)
    return HubFile(url=info.url, path=path, commit=info.commit, sha256=info.sha256, size=info.size)


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
