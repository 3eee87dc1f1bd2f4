"""Install the zero-shot classification data: ELEVATER-CN (Chinese-CLIP's 20 sets) and ImageNet-1k validation.

ELEVATER-CN: Chinese-CLIP publishes ``ELEVATER_all.zip`` (37 GB) in the Hub dataset repo OFA-Sys/chinese-clip-eval;
it holds one ``<set>.zip`` per set, each unpacking to ``<set>/`` (label_cn.txt, label.txt, optional index.json,
test/, train/).  Without ``--only`` the whole archive is fetched with huggingface_hub and checked against the sha256
the Hub publishes for it; with ``--only`` only those sets' zips are read out of the remote archive with HTTP range
requests (the archive is never stored).  ``--from`` takes the archive, a single ``<set>.zip``, a folder of them or
an unpacked folder.  Each set is unpacked beside the data, checked, then swapped in whole, with its own lock file
``<set>/zero-bench.lock.json`` pinning every file: the first download records the checksums, a later one that
differs is refused in one line and changes nothing.  Without ``--from``, sets already installed are skipped (the
run resumes at set granularity; ``zero-bench verify elevater-cn`` re-hashes them).

ImageNet-CN: the images are manual (ImageNet's terms): ``--from`` a folder in the ``val/<wnid>/`` layout, or the
folder holding ILSVRC2012_img_val.tar and the devkit (checked against the MD5s image-net.org publishes, then sorted
by the devkit's ground truth).  Chinese-CLIP's ``label_cn.txt`` is fetched over HTTP (resumable, retried) and must
match the sha256 pinned in the registry.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import shutil
import tarfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from zero_bench.data.lock import LOCK_NAME, LockFile, VerifyReport, verify_against_lock, writing
from zero_bench.data.registry import (
    ELEVATER_ARCHIVE,
    ELEVATER_HUB,
    MissingDataError,
    elevater_sets,
    get_entry,
)
from zero_bench.data.sources import (
    HFSource,
    RemoteFile,
    check_folder_links,
    extract_zip_member,
    hf_file,
    hub_file_info,
    parse_hf_url,
    safe_unpack,
)
from zero_bench.data.tasks import InstallReport, count_lines
from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import sha256_file, swap_folder
from zero_bench.paths import data_root

ELEVATER = "elevater-cn"
IMAGENET = "imagenet-cn"
LABELS_URL_ENV = "ZERO_BENCH_IMAGENET_LABELS_URL"  # a mirror of Chinese-CLIP's label_cn.txt (the pin still holds)
# What image-net.org publishes for the two ILSVRC-2012 files the tar route reads.
IMAGENET_ARCHIVE_MD5 = {
    "ILSVRC2012_img_val.tar": "29b22e2961454d5413ddabcf34fc5622",
    "ILSVRC2012_devkit_t12.tar.gz": "fa75699e90414af021442c21a62c3abf",
}
_WNID = re.compile(r"^n\d{8}$")
_VAL_IMAGE = re.compile(r"^ILSVRC2012_val_(\d{8})\.JPEG$")
_SKIP = (LOCK_NAME, ".zero-bench.busy")
Echo = Callable[..., object]


# ---- ELEVATER-CN -----------------------------------------------------------------------------------------------


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-").removesuffix("-cn")


def select_sets(only: Iterable[str] | None) -> list[str] | None:
    """``--only`` values (set folders or task names, comma-separated or repeated) -> set folders; None: all."""
    if not only:
        return None
    sets = elevater_sets()
    by_key = {_key(s): s for s in sets}
    chosen: list[str] = []
    for item in only:
        for part in filter(None, (p.strip() for p in item.split(","))):
            if _key(part) not in by_key:
                raise ZeroBenchError(f"--only {part!r}: not an ELEVATER-CN set; the sets: {', '.join(sets)}")
            if by_key[_key(part)] not in chosen:
                chosen.append(by_key[_key(part)])
    return chosen or None


@dataclass
class _Offer:
    """One set a source can provide: ``fetch(work)`` leaves its files in a folder under ``work`` and returns it."""

    name: str
    origin: str
    fetch: Callable[[Path], Path]


def _set_base(folder: Path, name: str) -> Path:
    """The folder holding ``label_cn.txt`` in an unpacked set (``<set>/`` inside it, or the folder itself)."""
    candidates = [folder] if (folder / "label_cn.txt").is_file() else []
    for child in sorted(p for p in folder.iterdir() if p.is_dir()):
        if (child / "label_cn.txt").is_file():
            candidates.append(child)
    named = [c for c in candidates if c.name == name]
    if len(named) == 1 or len(candidates) == 1:
        return (named or candidates)[0]
    raise ZeroBenchError(f"{name}: no single {name}/label_cn.txt in the unpacked set ({len(candidates)} candidates)")


def _from_zip(zf: zipfile.ZipFile, label: str, local: Path | None, note: str = "") -> dict[str, _Offer]:
    """Sets in an open zip (``local``: its path, None when it is read remotely): its ``<set>.zip`` members
    (ELEVATER_all.zip), else its ``<set>/label_cn.txt`` folders (a single set's zip).  ``note`` ends each set's
    origin (the lock file's ``source``)."""
    sets = elevater_sets()
    members: dict[str, list[zipfile.ZipInfo]] = {}
    for info in zf.infolist():
        pure = PurePosixPath(info.filename)
        if not info.is_dir() and pure.suffix == ".zip" and pure.stem in sets and "__MACOSX" not in pure.parts:
            members.setdefault(pure.stem, []).append(info)
    for name, infos in members.items():
        if len(infos) > 1:
            raise ZeroBenchError(f"{label}: {len(infos)} members are named {name}.zip; refusing to guess")
    if members:
        return {
            name: _Offer(name, f"{label}#{infos[0].filename}{note}", _inner_zip_fetcher(zf, infos[0], label, name))
            for name, infos in sorted(members.items())
        }
    names = [PurePosixPath(i.filename) for i in zf.infolist()]
    found = sorted({p.parent.name for p in names if p.name == "label_cn.txt"} & set(sets))
    if not found:
        raise ZeroBenchError(f"{label}: neither <set>.zip members nor <set>/label_cn.txt of an ELEVATER-CN set")
    return {name: _Offer(name, f"{label}{note}", _folder_zip_fetcher(zf, label, local, name)) for name in found}


def _inner_zip_fetcher(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str, name: str) -> Callable[[Path], Path]:
    def fetch(work: Path) -> Path:
        inner = extract_zip_member(zf, info, work / f"{name}.zip", label)
        safe_unpack(inner, work / "unpacked")
        inner.unlink()
        return _set_base(work / "unpacked", name)

    return fetch


def _folder_zip_fetcher(zf: zipfile.ZipFile, label: str, local: Path | None, name: str) -> Callable[[Path], Path]:
    def fetch(work: Path) -> Path:
        if local is not None:
            safe_unpack(local, work / "unpacked")
        else:  # a remote zip: member by member (each name checked, sizes bounded, CRC-32 checked)
            for info in zf.infolist():
                if not info.is_dir():
                    extract_zip_member(zf, info, work / "unpacked" / info.filename, label)
        return _set_base(work / "unpacked", name)

    return fetch


def _whole_zip_fetcher(archive: Path, name: str) -> Callable[[Path], Path]:
    def fetch(work: Path) -> Path:
        safe_unpack(archive, work / "unpacked")
        return _set_base(work / "unpacked", name)

    return fetch


def _copy_fetcher(folder: Path, name: str) -> Callable[[Path], Path]:
    """A set folder of the user's: linked (or copied) into the work folder, never modified."""

    def link_or_copy(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    def fetch(work: Path) -> Path:
        check_folder_links(folder)
        shutil.copytree(folder, work / name, copy_function=link_or_copy, ignore=shutil.ignore_patterns(*_SKIP))
        return work / name

    return fetch


def _from_folder(folder: Path) -> dict[str, _Offer]:
    """Sets in a local folder (up to three levels down): ``<set>/label_cn.txt`` folders and ``<set>.zip`` files."""
    sets = elevater_sets()
    offers: dict[str, _Offer] = {}

    def visit(path: Path, depth: int) -> None:
        if path.name in sets and (path / "label_cn.txt").is_file():
            offers.setdefault(path.name, _Offer(path.name, str(path), _copy_fetcher(path, path.name)))
            return
        if depth == 3:
            return
        for child in sorted(path.iterdir()):
            if child.is_dir() and child.name not in ("train", "test", "__MACOSX"):
                visit(child, depth + 1)
            elif child.is_file() and child.suffix == ".zip" and child.stem in sets:
                offers.setdefault(child.stem, _Offer(child.stem, str(child), _whole_zip_fetcher(child, child.stem)))

    visit(folder, 0)
    if not offers:
        raise ZeroBenchError(f"{folder}: no ELEVATER-CN set (<set>/label_cn.txt or <set>.zip) found")
    return offers


def _has_sets(folder: Path) -> bool:
    try:
        return bool(_from_folder(folder))
    except ZeroBenchError:
        return False


def _installed(folder: Path) -> bool:
    """A set whose lock pins files that are all there with their recorded sizes (not re-hashed: that is verify)."""
    if not (folder / LOCK_NAME).is_file():
        return False
    pins = LockFile.load(folder).files(ELEVATER)
    return bool(pins) and all(
        (folder / rel).is_file() and (folder / rel).stat().st_size == pin.size for rel, pin in pins.items()
    )


def _hash_against(lock: LockFile, dataset: str, files: dict[str, Path], shown: Path) -> dict[str, str]:
    """sha256 of every new file, refusing (one line, before anything changes) one that differs from its pin."""
    pins = lock.files(dataset)
    digests: dict[str, str] = {}
    for rel, path in files.items():
        digests[rel] = sha256_file(path)
        pinned = pins.get(rel)
        if pinned is not None and pinned.sha256 != digests[rel]:
            raise ZeroBenchError(
                f"{shown / rel}: checksum {digests[rel][:12]}… of the new copy does not match {pinned.sha256[:12]}… "
                f"recorded at the first download in {lock.path}; nothing was changed (delete that lock file only if the "
                "new copy is known good)"
            )
    return digests


def _files_under(folder: Path) -> dict[str, Path]:
    return {
        p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in _SKIP
    }


def _install_set(base: Path, dest: Path, work: Path, origin: str) -> int:
    """Check the unpacked set ``base`` against ``dest``'s pins, pin it, swap it in; returns its file count."""
    if not (base / "label_cn.txt").is_file() or not (base / "test").is_dir():
        raise ZeroBenchError(f"{origin}: {dest.name} has no label_cn.txt and test/ (not Chinese-CLIP's layout)")
    old = LockFile.load(dest) if (dest / LOCK_NAME).is_file() else LockFile(dest / LOCK_NAME)
    files = _files_under(base)
    digests = _hash_against(old, ELEVATER, files, dest)
    lock = LockFile(base / LOCK_NAME, dict(old.entries))  # earlier pins are kept: a file gone since shows in verify
    lock.record(ELEVATER, files, source=origin, digests=digests)
    swap_folder(base, dest, work / f".old-{dest.name}")
    return len(files)


def _hub_offers(
    stack: contextlib.ExitStack,
    src: HFSource,
    filename: str,
    wanted: list[str],
    whole: bool,
    work: Path,
    endpoint: str | None,
    echo: Echo,
) -> dict[str, _Offer]:
    """The Hub archive: fetched whole (checked against the Hub's sha256) or read remotely (range requests)."""
    if whole:
        info = hub_file_info(src, filename, endpoint=endpoint)
        kept = work / "hub" / filename  # what a failed run left: reused (huggingface_hub checks it is current)
        need = 2 * (info.size or 0) - (kept.stat().st_size if kept.is_file() else 0)
        free = shutil.disk_usage(work.parent).free
        if need > free:
            raise ZeroBenchError(
                f"{filename}: {info.size} bytes, and unpacking needs as much again; only {free} bytes are free in "
                f"{work.parent} (fetch some sets with --only: their zips are read remotely, nothing big is stored)"
            )
        echo(f"fetching {filename} ({(info.size or 0) / 1e9:.1f} GB) from hf://{src.repo_type}s/{src.repo_id}")
        got = hf_file(src, filename, work / "hub", endpoint=endpoint)
        assert got.path is not None
        label = f"hf://{src.repo_type}s/{src.repo_id}@{got.commit}/{filename}"
        note = f" (archive sha256 {got.sha256}, as the Hub publishes)" if got.sha256 else ""
        return _from_zip(stack.enter_context(zipfile.ZipFile(got.path)), label, got.path, note)
    info = hub_file_info(src, filename, endpoint=endpoint)
    if info.size is None:
        raise ZeroBenchError(f"{info.url}: the Hub did not give the file's size; fetch it whole (without --only)")
    echo(f"reading {', '.join(wanted)} out of {filename} on the Hub (range requests)")
    label = f"hf://{src.repo_type}s/{src.repo_id}@{info.commit}/{filename}"
    return _from_zip(stack.enter_context(_remote_zip(info.url, info.size)), label, None)


def _remote_zip(url: str, size: int) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BufferedReader(RemoteFile(url, size), buffer_size=1 << 20))
    except zipfile.BadZipFile as exc:
        raise ZeroBenchError(f"{url}: not a zip archive ({exc})") from exc


def _url_size(url: str) -> int:
    import urllib.request

    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "zero-bench"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            length = response.headers.get("Content-Length")
    except OSError as exc:
        raise ZeroBenchError(f"{url}: cannot reach it ({exc})".splitlines()[0]) from exc
    if not length:
        raise ZeroBenchError(f"{url}: the server gives no size; download the file and pass it with --from FILE")
    return int(length)


def _offers(
    stack: contextlib.ExitStack,
    source: str | None,
    wanted: list[str],
    whole: bool,
    work: Path,
    endpoint: str | None,
    echo: Echo,
) -> dict[str, _Offer]:
    """The sets ``source`` can provide (see :func:`install_elevater`)."""
    if source is None or source.startswith("hf://"):
        src = parse_hf_url(source or ELEVATER_HUB)
        filename = ELEVATER_ARCHIVE
        if src.subfolder:
            sub = src.subfolder
            filename = sub if sub.endswith(".zip") else f"{sub}/{ELEVATER_ARCHIVE}"
        return _hub_offers(
            stack, HFSource(src.repo_type, src.repo_id, src.revision), filename, wanted, whole, work, endpoint, echo
        )
    if source.startswith(("http://", "https://")):
        return _from_zip(stack.enter_context(_remote_zip(source, _url_size(source))), source, None)
    path = Path(source).expanduser()
    if path.is_dir() and (path / ELEVATER_ARCHIVE).is_file() and not _has_sets(path):
        path = path / ELEVATER_ARCHIVE  # the folder the archive was downloaded into
    if path.is_dir():
        return _from_folder(path)
    if path.is_file() and path.suffix.lower() == ".zip":
        try:
            return _from_zip(stack.enter_context(zipfile.ZipFile(path)), str(path), path)
        except zipfile.BadZipFile as exc:
            raise ZeroBenchError(f"{path}: damaged or not a zip archive ({exc})") from exc
    raise ZeroBenchError(f"{path}: --from takes ELEVATER_all.zip, a <set>.zip, a folder of them or an unpacked folder")


def install_elevater(
    source: str | None,
    root: str | Path | None = None,
    *,
    only: Iterable[str] | None = None,
    echo: Echo = print,
    endpoint: str | None = None,
) -> InstallReport:
    """Install ELEVATER-CN sets into ``<data root>/elevater-cn/<set>/`` (see the module docstring).

    ``source``: None (the Hub), ``hf://datasets/ORG/NAME[@REV][/FILE]``, an http(s) URL of the archive (read with
    range requests), a local zip or folder.  ``only``: set folders or task names.  ``endpoint``: a Hub endpoint
    (default ``HF_ENDPOINT``).
    """
    entry = get_entry(ELEVATER)
    droot = data_root(root)
    target = droot / entry.folder
    selected = select_sets(only)
    wanted = selected or list(elevater_sets())
    report = InstallReport(ELEVATER, target)
    work = droot / f".{ELEVATER}.work"
    with writing(droot, f"download {ELEVATER}"):
        todo = wanted if source is not None else [s for s in wanted if not _installed(target / s)]
        for name in (s for s in wanted if s not in todo):
            echo(f"{name}: already installed (zero-bench verify {ELEVATER} re-hashes it; --from re-installs)")
        if todo:
            _install_sets(source, todo, selected is not None, target, work, endpoint, echo, report)
    for name in wanted:
        labels = target / name / "label_cn.txt"
        if labels.is_file():
            report.split_sizes[f"{name}/label_cn.txt"] = count_lines(labels)
        elif source is None or selected is not None:
            report.missing.append(f"{name}/")
    installed = [s for s in elevater_sets() if (target / s / LOCK_NAME).is_file()]
    echo(f"{ELEVATER}: {len(installed)} of {len(elevater_sets())} sets installed in {target}")
    return report


def _install_sets(
    source: str | None,
    todo: list[str],
    subset: bool,
    target: Path,
    work: Path,
    endpoint: str | None,
    echo: Echo,
    report: InstallReport,
) -> None:
    """Install the sets ``todo`` one by one; from the Hub, the whole archive (``subset`` false) or the sets' members
    read remotely.  A failure keeps a fetched Hub archive (``work/hub``) for the next run; nothing else stays."""
    shutil.rmtree(work / "sets", ignore_errors=True)
    done = False
    try:
        with contextlib.ExitStack() as stack:
            offers = _offers(stack, source, todo, not subset, work, endpoint, echo)
            absent = [s for s in todo if s not in offers]
            if absent and subset:
                raise ZeroBenchError(f"{source or ELEVATER_HUB}: has no {', '.join(absent)}; nothing was installed")
            for name in (s for s in todo if s in offers):
                echo(f"{name}: unpacking from {offers[name].origin}")
                set_work = work / "sets" / name
                n = _install_set(offers[name].fetch(set_work), target / name, work, offers[name].origin)
                shutil.rmtree(set_work, ignore_errors=True)
                report.installed.append(f"{name}/")
                echo(f"{name}: {n} files installed and pinned in {target / name / LOCK_NAME}")
        done = True
    finally:
        for child in sorted(work.iterdir()) if work.is_dir() else []:
            if done or child.name != "hub" or not any(child.rglob("*.zip")):
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        if work.is_dir() and not any(work.iterdir()):
            work.rmdir()


def verify_elevater(root: str | Path | None = None) -> VerifyReport:
    """Re-hash every file pinned in the sets' lock files (``<set>/zero-bench.lock.json``)."""
    target = data_root(root) / get_entry(ELEVATER).folder
    report = VerifyReport(ELEVATER)
    locked = 0
    for name in elevater_sets():
        folder = target / name
        if not (folder / LOCK_NAME).is_file():
            continue
        lock = LockFile.load(folder)
        if not lock.files(ELEVATER):
            continue
        locked += 1
        part = verify_against_lock(lock, ELEVATER, folder)
        report.checked += part.checked
        report.ok += part.ok
        report.missing += [f"{name}/{rel}" for rel in part.missing]
        report.changed += [f"{name}/{rel}" for rel in part.changed]
    if not locked:
        raise ZeroBenchError(f"{target}: no checksums recorded for {ELEVATER}; run: zero-bench download {ELEVATER}")
    return report


# ---- ImageNet-CN -----------------------------------------------------------------------------------------------


def install_imagenet(
    source: str | None,
    root: str | Path | None = None,
    *,
    only: Iterable[str] | None = None,
    echo: Echo = print,
    labels_url: str | None = None,
    labels_sha256: str | None = None,
    classes: int = 1000,
    images: int = 50_000,
    archive_md5: dict[str, str] | None = None,
) -> InstallReport:
    """Install ImageNet-1k val from ``source`` (a local folder: ``val/<wnid>/`` layout, or the val tar + devkit),
    then fetch Chinese-CLIP's ``label_cn.txt`` (checked against the pinned sha256) into ``<data root>/imagenet-cn``.

    ``labels_url`` / ``labels_sha256`` override the registry's URL and pin (tests, mirrors: ``$ZERO_BENCH_IMAGENET_
    LABELS_URL`` overrides the URL only); ``classes`` / ``images`` the expected counts; ``archive_md5`` the published
    MD5s of the tar route ({} skips that check).  Without the images: MissingDataError with the manual steps.
    """
    if only:
        raise ZeroBenchError("--only selects ELEVATER-CN sets; imagenet-cn has none")
    entry = get_entry(IMAGENET)
    droot = data_root(root)
    target = droot / entry.folder
    work = droot / f".{IMAGENET}.work"
    report = InstallReport(IMAGENET, target)
    with writing(droot, f"download {IMAGENET}"):
        try:
            if source is not None:
                _install_val(source, target, work, (classes, images), archive_md5, echo, report)
            pin = labels_sha256 or next(f.sha256 for f in entry.files if f.path == "label_cn.txt")
            url = labels_url or os.environ.get(LABELS_URL_ENV) or entry.extra["urls"]["label_cn.txt"]
            assert pin is not None
            _fetch_labels(url, pin, target, work, echo)
        finally:
            shutil.rmtree(work / "val", ignore_errors=True)
            shutil.rmtree(work / ".old-val", ignore_errors=True)
            if work.is_dir() and not any(work.iterdir()):
                work.rmdir()
    report.split_sizes["label_cn.txt"] = count_lines(target / "label_cn.txt")
    val = target / "val"
    if not val.is_dir():
        raise MissingDataError(
            f"{val}: the ImageNet validation images are not installed; see the manual steps above", entry.manual_text()
        )
    report.checked_images = sum(1 for p in val.rglob("*") if p.is_file())
    return report


def _fetch_labels(url: str, pin: str, target: Path, work: Path, echo: Echo) -> None:
    from zero_bench.data.sources import download_url

    dest = target / "label_cn.txt"
    lock = LockFile.load(target)
    if dest.is_file():
        digest = sha256_file(dest)
        if digest != pin:
            raise ZeroBenchError(
                f"{dest}: sha256 {digest[:12]}… is not the pinned {pin[:12]}… of Chinese-CLIP's label_cn.txt; delete it "
                "and run again to fetch the pinned file"
            )
        lock.record(IMAGENET, {"label_cn.txt": dest}, digests={"label_cn.txt": digest})
        echo(f"{dest}: present, sha256 matches the pin")
        return
    got = download_url(url, work / "label_cn.txt", retries=4, resume=True, sha256=pin, show_progress=False)
    target.mkdir(parents=True, exist_ok=True)
    lock.check_file(IMAGENET, "label_cn.txt", got, sha256=pin)
    os.replace(got, dest)
    lock.record(IMAGENET, {"label_cn.txt": dest}, digests={"label_cn.txt": pin})
    echo(f"{dest}: fetched from {url}, sha256 {pin[:12]}… as pinned")


def _wnid_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and _WNID.match(p.name))


def _install_val(
    source: str,
    target: Path,
    work: Path,
    expected: tuple[int, int],
    archive_md5: dict[str, str] | None,
    echo: Echo,
    report: InstallReport,
) -> None:
    if source.startswith(("http://", "https://", "hf://")):
        raise ZeroBenchError(
            f"{source}: imagenet-cn takes a local folder (ImageNet's terms: download it yourself; see zero-bench "
            "download imagenet-cn without --from for the steps)"
        )
    path = Path(source).expanduser()
    if not path.exists():
        raise ZeroBenchError(f"{path}: --from path not found")
    staged = work / "val"
    shutil.rmtree(staged, ignore_errors=True)
    tars = _val_tars(path)
    if tars is not None:
        echo(f"sorting {tars[0].name} into val/<wnid>/ with {tars[1].name}")
        _val_from_tars(*tars, staged, IMAGENET_ARCHIVE_MD5 if archive_md5 is None else archive_md5)
    else:
        val = next((d for d in (path, path / "val") if d.is_dir() and _wnid_dirs(d)), None)
        if val is None:
            raise ZeroBenchError(
                f"{path}: neither val/<wnid>/ folders nor ILSVRC2012_img_val.tar with ILSVRC2012_devkit_t12.tar.gz"
            )
        check_folder_links(val)
        _link_images(val, staged)
    _check_val(staged, path, *expected)
    lock = LockFile.load(target)
    files = {f"val/{rel}": p for rel, p in _files_under(staged).items()}
    digests = _hash_against(lock, IMAGENET, files, target)
    swap_folder(staged, target / "val", work / ".old-val")
    lock.record(IMAGENET, {rel: target / rel for rel in files}, source=str(path), digests=digests)
    report.installed.append("val/")
    echo(f"val: {len(files)} images installed and pinned in {lock.path}")


def _val_tars(path: Path) -> tuple[Path, Path] | None:
    """(val tar, devkit) when ``path`` is the val tar or a folder holding both; None when neither is there."""
    folder = path.parent if path.is_file() else path
    val, devkit = folder / "ILSVRC2012_img_val.tar", folder / "ILSVRC2012_devkit_t12.tar.gz"
    if path.is_file() and path != val:
        raise ZeroBenchError(f"{path}: --from takes a folder, or ILSVRC2012_img_val.tar with the devkit beside it")
    if not val.is_file():
        return None
    if not devkit.is_file():
        raise ZeroBenchError(f"{devkit}: not found; the val tar is sorted into classes with the devkit's ground truth")
    return val, devkit


def _link_images(val: Path, staged: Path) -> None:
    from zero_bench.formats.elevater import IMAGE_EXTENSIONS

    for wnid in _wnid_dirs(val):
        for path in sorted(wnid.rglob("*")):
            if path.is_file() and path.name.lower().endswith(IMAGE_EXTENSIONS):
                dest = staged / path.relative_to(val)
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(path, dest)
                except OSError:
                    shutil.copy2(path, dest)


def _check_val(staged: Path, source: Path, classes: int, images: int) -> None:
    folders = _wnid_dirs(staged) if staged.is_dir() else []
    counts = {d.name: sum(1 for p in d.rglob("*") if p.is_file()) for d in folders}
    empty = [w for w, n in counts.items() if not n]
    found = sum(counts.values())
    if len(folders) != classes or found != images or empty:
        raise ZeroBenchError(
            f"{source}: {found} images in {len(folders)} wnid folders ({len(empty)} empty); ImageNet-1k validation "
            f"has {images} in {classes}; nothing was installed"
        )


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _read_devkit(devkit: Path) -> tuple[list[int], dict[int, str]]:
    """(the ILSVRC2012 class id of each validation image, class id -> wnid of the 1,000 leaf classes)."""
    try:
        from scipy.io import loadmat
    except ImportError as exc:
        raise ZeroBenchError(
            "reading the devkit's meta.mat needs scipy (pip install scipy); or sort the images into val/<wnid>/ "
            "yourself and pass that folder"
        ) from exc
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(devkit, "r:*") as tf:
            for member in tf:
                base = PurePosixPath(member.name).name
                if member.isfile() and base in ("meta.mat", "ILSVRC2012_validation_ground_truth.txt"):
                    handle = tf.extractfile(member)
                    if handle is not None and member.size < 64 << 20:
                        found[base] = handle.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ZeroBenchError(f"{devkit}: damaged or truncated archive ({exc})") from exc
    if len(found) != 2:
        raise ZeroBenchError(f"{devkit}: data/meta.mat or data/ILSVRC2012_validation_ground_truth.txt is missing")
    truth = [int(line) for line in found["ILSVRC2012_validation_ground_truth.txt"].decode().split()]
    synsets = loadmat(io.BytesIO(found["meta.mat"]), squeeze_me=True)["synsets"]
    wnids = {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets if int(s["num_children"]) == 0}
    unknown = sorted(set(truth) - set(wnids))
    if unknown:
        raise ZeroBenchError(f"{devkit}: ground-truth class {unknown[0]} is not a leaf synset of meta.mat")
    return truth, wnids


def _tar_members(val_tar: Path) -> Iterator[tuple[tarfile.TarFile, tarfile.TarInfo]]:
    with tarfile.open(val_tar, "r|*") as tf:  # streamed: read once, in order
        for member in tf:
            yield tf, member


def _val_from_tars(val_tar: Path, devkit: Path, staged: Path, md5s: dict[str, str]) -> None:
    """Sort ILSVRC2012_img_val.tar into ``staged/<wnid>/`` by the devkit's ground truth (names checked, sizes
    bounded, streamed: no second copy on disk)."""
    for path in (val_tar, devkit):
        want = md5s.get(path.name)
        if want is not None and _md5(path) != want:
            raise ZeroBenchError(f"{path}: MD5 differs from {want}, the one image-net.org publishes; nothing installed")
    truth, wnids = _read_devkit(devkit)
    staged.mkdir(parents=True, exist_ok=True)
    if shutil.disk_usage(staged).free < val_tar.stat().st_size:
        raise ZeroBenchError(f"{val_tar}: not enough free space in {staged.parent} to unpack it")
    try:
        for tf, member in _tar_members(val_tar):
            if member.isdir():
                continue
            match = _VAL_IMAGE.match(PurePosixPath(member.name).name)
            if not member.isfile() or match is None or not 1 <= int(match.group(1)) <= len(truth):
                raise ZeroBenchError(f"{val_tar}: unexpected member {member.name!r} (not ILSVRC2012_val_NNNNNNNN.JPEG)")
            dest = staged / wnids[truth[int(match.group(1)) - 1]] / match.group(0)
            if dest.exists():
                raise ZeroBenchError(f"{val_tar}: {match.group(0)} appears twice")
            dest.parent.mkdir(parents=True, exist_ok=True)
            handle = tf.extractfile(member)
            assert handle is not None
            with handle, open(dest, "wb") as out:
                shutil.copyfileobj(handle, out, 1 << 20)
            if dest.stat().st_size != member.size:
                raise ZeroBenchError(f"{val_tar}: {member.name} is truncated")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ZeroBenchError(f"{val_tar}: damaged or truncated archive ({exc})".splitlines()[0]) from exc


INSTALLERS: dict[str, Callable[..., InstallReport]] = {ELEVATER: install_elevater, IMAGENET: install_imagenet}
VERIFIERS: dict[str, Callable[..., VerifyReport]] = {ELEVATER: verify_elevater}
