"""Install the public Chinese retrieval sets with one command: Flickr30k-CN, MUGE and COCO-CN.

Flickr30k-CN and MUGE: Chinese-CLIP publishes them pre-processed in its layout (``{split}_texts.jsonl`` +
``{split}_imgs.tsv``) as ``Flickr30k-CN.zip`` and ``MUGE.zip`` in the Hub dataset repo OFA-Sys/chinese-clip-eval.
The archive is fetched from the Hub's resolve URL at the commit the Hub names now (huggingface_hub gives the commit,
size and the sha256 it publishes for the LFS file), over HTTP with retries and a ``.part`` file that a later run
continues after an interruption (even a killed process), with a progress bar; it must match the published sha256.
Only the layout's files are unpacked (Chinese-CLIP's ``lmdb/`` folders are not), each member checked (names, sizes,
CRC-32), then checked against the lock file and moved into the task's data folder; the lock file pins every file
and records the archive with the resolved Hub commit.

COCO-CN: built from the COCO-CN annotations (``coco-cn-version1805v1.1.tar.gz`` in the Hub dataset repo
AIMClab-RUC/COCO-CN: ``coco-cn_{train,val,test}.txt`` list the MS-COCO 2014 image names of each split,
``imageid.human-written-caption.txt`` holds ``<image name>#<k><TAB><sentence>``) and the MS-COCO 2014 images (from
``--from`` folders / ``train2014.zip`` / ``val2014.zip``, else fetched one by one from images.cocodataset.org with
retries and resume).  Each split becomes the Chinese-CLIP layout: the split's images in list order, id = the COCO
image id, the original JPEG bytes in base64; one text per human-written sentence, id = its line in the caption file,
``image_ids`` = its image.  Without ``--only`` the test and valid splits are built; ``--only train,valid,test`` picks.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import os
import shutil
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from zero_bench.data.lock import LOCK_NAME, LockFile, writing
from zero_bench.data.registry import MissingDataError, get_entry
from zero_bench.data.sources import (
    HFSource,
    check_folder_links,
    download_url,
    extract_zip_member,
    hub_file_info,
    is_archive,
    parse_hf_url,
    safe_unpack,
)
from zero_bench.data.tasks import InstallReport, _expected, count_lines
from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import sha256_file
from zero_bench.paths import data_root

Echo = Callable[..., object]
COCO_CN = "coco-cn"
COCO_IMAGES_URL_ENV = "ZERO_BENCH_COCO_IMAGES_URL"  # a mirror of images.cocodataset.org (<base>/<subset>/<name>.jpg)
# Chinese-CLIP's COCO-CN test set (its issue #175): 1,000 images, 1,053 human-written sentences.
CNCLIP_COCO_TEST = (1000, 1053)
_COCO_SPLITS = {"train": "train", "valid": "val", "test": "test"}  # task split -> COCO-CN list name
_DEFAULT_COCO_SPLITS = ("valid", "test")
_JPEG = b"\xff\xd8\xff"


# ---- shared ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HubArchive:
    path: Path
    label: str  # hf://<type>s/<repo>@<commit>/<file> (archive sha256 ..., as the Hub publishes)
    commit: str | None
    sha256: str | None


def fetch_hub_archive(
    hub: str, filename: str, work: Path, *, endpoint: str | None = None, echo: Echo = print
) -> HubArchive:
    """Fetch ``filename`` of the Hub repo ``hub`` (``hf://datasets/ORG/NAME[@REV]``; a ``/FILE`` tail names the file)
    into ``work/hub``: huggingface_hub names the commit, size and published sha256; the bytes come from the resolve
    URL at that commit with retries and a ``.part`` file a later run continues; a sha256 mismatch removes it."""
    src = parse_hf_url(hub)
    if src.subfolder:
        filename = src.subfolder if is_archive(src.subfolder) else f"{src.subfolder}/{filename}"
    repo = HFSource(src.repo_type, src.repo_id, src.revision)
    info = hub_file_info(repo, filename, endpoint=endpoint)
    key = (info.sha256 or info.commit or "current")[:16]
    hub_dir = work / "hub"
    for old in sorted(hub_dir.iterdir()) if hub_dir.is_dir() else []:
        if old.name != key:  # a partial download of another version of the file
            _remove(old)
    dest = hub_dir / key / PurePosixPath(filename).name
    where = f"hf://{repo.repo_type}s/{repo.repo_id}"
    if not dest.is_file():
        free = shutil.disk_usage(work.parent if not work.exists() else work).free
        if info.size and 2 * info.size > free:
            raise ZeroBenchError(
                f"{where}/{filename}: {info.size} bytes, and unpacking needs about as much again; only {free} bytes "
                f"are free in {work.parent}"
            )
        part = dest.with_name(f".{dest.name}.part")
        resumed = f", continuing from byte {part.stat().st_size}" if part.is_file() else ""
        echo(f"fetching {filename} ({(info.size or 0) / 1e6:.1f} MB) from {where} at commit {info.commit}{resumed}")
        download_url(info.url, dest, retries=5, resume=True, sha256=info.sha256, timeout=120)
    note = f" (archive sha256 {info.sha256}, as the Hub publishes)" if info.sha256 else ""
    return HubArchive(
        dest, f"{where}@{info.commit or src.revision or 'main'}/{filename}{note}", info.commit, info.sha256
    )


def _pinned_complete(target: Path, name: str, rels: Iterable[str]) -> bool:
    """Every file of ``rels`` is pinned in the lock and there with its recorded size (verify re-hashes)."""
    if not (target / LOCK_NAME).is_file():
        return False
    pins = LockFile.load(target).files(name)
    return all(
        rel in pins and (target / rel).is_file() and (target / rel).stat().st_size == pins[rel].size for rel in rels
    )


def _commit(name: str, staged: dict[str, Path], target: Path, label: str) -> None:
    """Check every staged file against the lock (one line on a mismatch, nothing changed), move them into
    ``target`` and pin them, with ``label`` as the lock entry's source."""
    lock = LockFile.load(target)
    pins = lock.files(name)
    digests: dict[str, str] = {}
    for rel, path in sorted(staged.items()):
        digests[rel] = sha256_file(path)
        pin = pins.get(rel)
        if pin is not None and pin.sha256 != digests[rel]:
            raise ZeroBenchError(
                f"{target / rel}: checksum {digests[rel][:12]}… of the new copy does not match {pin.sha256[:12]}… "
                f"recorded at the first download in {lock.path}; nothing was changed (delete that lock file only if "
                "the new copy is known good)"
            )
    target.mkdir(parents=True, exist_ok=True)
    for rel, path in staged.items():
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
    lock.record(name, {rel: target / rel for rel in staged}, source=label, digests=digests)


def _layout(
    name: str, target: Path, report: InstallReport, required: list[str], listed: list[str] | None = None
) -> InstallReport:
    """Line counts of the layout's files (``listed``, default all), the missing ones; MissingDataError when a
    ``required`` one is missing."""
    annotations, images, _ = _expected(name)
    for rel in listed or annotations + images:
        path = target / rel
        if path.is_file():
            report.split_sizes[rel] = count_lines(path)
        else:
            report.missing.append(rel)
    if any(r in report.missing for r in required):
        raise MissingDataError(
            f"{target}: {name} is missing {', '.join(r for r in required if r in report.missing)}",
            get_entry(name).manual_text(),
        )
    return report


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _clean(work: Path, keep: bool) -> None:
    """Empty the work folder; ``keep``: after a failure, keep what a rerun continues from (partial Hub downloads,
    fetched images), not a complete archive (a refused one would only be refused again)."""
    for child in sorted(work.iterdir()) if work.is_dir() else []:
        if not (keep and child.name in ("hub", "images")):
            _remove(child)
        elif child.name == "hub":
            for path in sorted(child.rglob("*"), reverse=True):
                if path.is_file() and not path.name.endswith(".part"):
                    path.unlink()
                elif path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
            if not any(child.iterdir()):
                child.rmdir()
    if work.is_dir() and not any(work.iterdir()):
        work.rmdir()


# ---- Flickr30k-CN, MUGE: Chinese-CLIP's archives ---------------------------------------------------------------


def _zip_members(zf: zipfile.ZipFile, wanted: list[str], required: list[str], label: str) -> dict[str, zipfile.ZipInfo]:
    """Layout file -> its member: the files sit at the top of the zip or under one folder (``MUGE/``)."""
    files = {
        PurePosixPath(i.filename): i
        for i in zf.infolist()
        if not i.is_dir() and "__MACOSX" not in i.filename.split("/")
    }
    prefixes = {
        p.parent for p in files for r in required if p.name == PurePosixPath(r).name and p.parent.name != "lmdb"
    }
    if not prefixes:
        raise ZeroBenchError(f"{label}: no {required[0]} in the archive (not Chinese-CLIP's layout)")
    if len(prefixes) > 1:
        raise ZeroBenchError(f"{label}: {required[0]} appears in {len(prefixes)} folders; refusing to guess")
    prefix = prefixes.pop()
    return {rel: files[prefix / rel] for rel in wanted if prefix / rel in files}


def install_cnclip_archive(
    name: str,
    source: str | None,
    root: str | Path | None = None,
    *,
    only: Iterable[str] | None = None,
    echo: Echo = print,
    endpoint: str | None = None,
) -> InstallReport:
    """Install ``name`` (flickr30k-cn, muge) from Chinese-CLIP's archive on the Hub (``source`` None or an
    ``hf://`` repo, default the registry's).  Without ``source`` an installed copy (every file pinned and present)
    is not fetched again; ``zero-bench verify NAME`` re-hashes it."""
    if only:
        raise ZeroBenchError(f"--only selects ELEVATER-CN sets or COCO-CN splits; {name} has none")
    entry = get_entry(name)
    droot = data_root(root)
    target = droot / entry.folder
    work = droot / f".{name}.work"
    annotations, images, required = _expected(name)
    wanted = annotations + images
    report = InstallReport(name, target)
    with writing(droot, f"download {name}"):
        if source is None and _pinned_complete(target, name, required):
            echo(f"{name}: already installed in {target} (zero-bench verify {name} re-hashes it)")
            return _layout(name, target, report, required)
        done = False
        try:
            archive = fetch_hub_archive(
                source or entry.extra["hub"], entry.extra["archive"], work, endpoint=endpoint, echo=echo
            )
            echo(f"unpacking {', '.join(wanted)} from {archive.path.name}")
            staged: dict[str, Path] = {}
            try:
                with zipfile.ZipFile(archive.path) as zf:
                    for rel, info in _zip_members(zf, wanted, required, archive.label).items():
                        staged[rel] = extract_zip_member(zf, info, work / "stage" / rel, archive.label)
            except zipfile.BadZipFile as exc:
                raise ZeroBenchError(f"{archive.path}: damaged or not a zip archive ({exc})") from exc
            _commit(name, staged, target, archive.label)
            report.installed.extend(sorted(staged))
            echo(f"{name}: {len(staged)} files installed into {target}, pinned in {target / LOCK_NAME}")
            done = True
        finally:
            _clean(work, keep=not done)
    return _layout(name, target, report, required)


# ---- COCO-CN ---------------------------------------------------------------------------------------------------


@dataclass
class CocoCN:
    """The COCO-CN annotations: image names per COCO-CN list, human-written sentences per image name."""

    splits: dict[str, list[str]]  # "train" / "val" / "test" -> image names (COCO_val2014_000000000042)
    sentences: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # name -> [(line, sentence)]


def select_coco_splits(only: Iterable[str] | None) -> list[str]:
    if not only:
        return list(_DEFAULT_COCO_SPLITS)
    chosen: list[str] = []
    for item in only:
        for part in filter(None, (p.strip().lower() for p in item.split(","))):
            split = {"val": "valid", "all": "all"}.get(part, part)
            if split == "all":
                return list(_COCO_SPLITS)
            if split not in _COCO_SPLITS:
                raise ZeroBenchError(
                    f"--only {part!r}: not a COCO-CN split; the splits: {', '.join(_COCO_SPLITS)}, all"
                )
            if split not in chosen:
                chosen.append(split)
    return chosen


def _image_name(raw: str) -> str:
    name = raw.strip().removesuffix(".jpg")
    parts = name.split("_")
    if len(parts) != 3 or parts[0] != "COCO" or parts[1] not in ("train2014", "val2014") or not parts[2].isdigit():
        raise ZeroBenchError(f"{raw.strip()!r}: not an MS-COCO 2014 image name (COCO_<train2014|val2014>_<id>)")
    return name


def read_coco_cn(folder: Path) -> CocoCN:
    """Read the annotations from the folder holding ``coco-cn_test.txt`` (searched up to two levels down)."""
    candidates = [
        folder,
        *sorted(p for p in folder.glob("*") if p.is_dir()),
        *sorted(p for p in folder.glob("*/*") if p.is_dir()),
    ]
    base = next((c for c in candidates if (c / "coco-cn_test.txt").is_file()), None)
    if base is None:
        raise ZeroBenchError(f"{folder}: no coco-cn_test.txt (the COCO-CN annotations, coco-cn-version1805v1.1)")
    data = CocoCN(splits={})
    for split in _COCO_SPLITS.values():
        path = base / f"coco-cn_{split}.txt"
        if path.is_file():
            data.splits[split] = [
                _image_name(line) for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()
            ]
    captions = base / "imageid.human-written-caption.txt"
    if not captions.is_file():
        raise ZeroBenchError(f"{base}: no imageid.human-written-caption.txt")
    with open(captions, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle):
            if not line.strip():
                continue
            key, tab, sentence = line.rstrip("\r\n").partition("\t")
            name, hash_, _ = key.strip().rpartition("#")
            if not tab or not hash_ or not sentence.strip():
                raise ZeroBenchError(f"{captions}:{number + 1}: expected '<image name>#<k><TAB><sentence>'")
            data.sentences.setdefault(_image_name(name), []).append((number, sentence.strip()))
    return data


def _copy_to(src: Path, dest: Path) -> Path:
    return Path(shutil.copyfile(src, dest))


def _local_images(folder: Path | None, stack: contextlib.ExitStack) -> dict[str, Callable[[Path], Path]]:
    """Image name -> a function copying it to a path: from ``*.jpg`` files and ``train2014.zip`` / ``val2014.zip``
    (any depth, up to three levels) in the ``--from`` folder."""
    found: dict[str, Callable[[Path], Path]] = {}
    if folder is None:
        return found
    check_folder_links(folder)
    for path in sorted(folder.rglob("*")):
        if len(path.relative_to(folder).parts) > 4 or not path.is_file():
            continue
        if path.suffix.lower() == ".jpg" and path.name.startswith("COCO_"):
            found.setdefault(path.stem, functools.partial(_copy_to, path))
        elif path.name in ("train2014.zip", "val2014.zip"):
            try:
                zf = stack.enter_context(zipfile.ZipFile(path))
            except zipfile.BadZipFile as exc:
                raise ZeroBenchError(f"{path}: damaged or not a zip archive ({exc})") from exc
            for info in zf.infolist():
                member = PurePosixPath(info.filename)
                if not info.is_dir() and member.suffix == ".jpg" and member.name.startswith("COCO_"):
                    found.setdefault(member.stem, functools.partial(extract_zip_member, zf, info, archive=str(path)))
    return found


def _fetch_images(
    names: list[str], local: dict[str, Callable[[Path], Path]], base_url: str, folder: Path, workers: int, echo: Echo
) -> dict[str, Path]:
    """Every image in ``folder`` (kept there between runs: a rerun fetches only what is missing)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.jpg" for name in names}
    todo = [n for n in names if not paths[n].is_file()]
    remote = [n for n in todo if n not in local]
    for name in (n for n in todo if n in local):
        local[name](paths[name])
    if remote:
        echo(f"fetching {len(remote)} MS-COCO images from {base_url} ({len(names) - len(todo)} already here)")

        def one(name: str) -> None:
            subset = name.split("_")[1]
            download_url(f"{base_url}/{subset}/{name}.jpg", paths[name], retries=4, resume=True, show_progress=False)

        with Progress("images", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task("images", total=len(remote))
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for _ in pool.map(one, remote):
                    bar.advance(task)
    for name, path in paths.items():
        with open(path, "rb") as handle:
            if handle.read(3) != _JPEG:
                path.unlink()
                raise ZeroBenchError(f"{name}.jpg: not a JPEG file; it was removed, run again to fetch it anew")
    return paths


def _write_split(data: CocoCN, split: str, images: dict[str, Path], stage: Path) -> tuple[dict[str, Path], int, int]:
    """``{split}_imgs.tsv`` and ``{split}_texts.jsonl`` in ``stage``; returns (files, images, texts)."""
    names = data.splits[_COCO_SPLITS[split]]
    ids: dict[int, str] = {}
    for name in names:
        image_id = int(name.split("_")[2])
        if ids.setdefault(image_id, name) != name:
            raise ZeroBenchError(
                f"coco-cn_{_COCO_SPLITS[split]}.txt: {name} and {ids[image_id]} share image id {image_id}"
            )
    if len(ids) != len(names):
        raise ZeroBenchError(f"coco-cn_{_COCO_SPLITS[split]}.txt: an image is listed twice")
    stage.mkdir(parents=True, exist_ok=True)
    tsv, texts = stage / f"{split}_imgs.tsv", stage / f"{split}_texts.jsonl"
    with open(tsv, "w", encoding="ascii", newline="\n") as out:
        for image_id, name in ids.items():
            out.write(f"{image_id}\t{base64.b64encode(images[name].read_bytes()).decode('ascii')}\n")
    n_texts = 0
    rows = sorted(
        (line, text, image_id) for image_id, name in ids.items() for line, text in data.sentences.get(name, [])
    )
    with open(texts, "w", encoding="utf-8", newline="\n") as out:
        for line, text, image_id in rows:
            out.write(json.dumps({"text_id": line, "text": text, "image_ids": [image_id]}, ensure_ascii=False) + "\n")
            n_texts += 1
    return {tsv.name: tsv, texts.name: texts}, len(ids), n_texts


def _annotations(
    source: Path | None, entry_hub: str, filename: str, work: Path, endpoint: str | None, echo: Echo
) -> tuple[CocoCN, str]:
    """The annotations from the ``--from`` folder (the tar.gz or its unpacked folder) or else the Hub."""
    if source is not None:
        tars = sorted(source.rglob(filename))
        if tars:
            safe_unpack(tars[0], work / "annotations")
            return read_coco_cn(work / "annotations"), str(tars[0])
        lists = sorted(source.rglob("coco-cn_test.txt"))
        if lists:
            return read_coco_cn(lists[0].parent), str(lists[0].parent)
    archive = fetch_hub_archive(entry_hub, filename, work, endpoint=endpoint, echo=echo)
    safe_unpack(archive.path, work / "annotations")
    return read_coco_cn(work / "annotations"), archive.label


def install_coco_cn(
    source: str | None,
    root: str | Path | None = None,
    *,
    only: Iterable[str] | None = None,
    echo: Echo = print,
    endpoint: str | None = None,
    images_url: str | None = None,
    workers: int = 8,
) -> InstallReport:
    """Build COCO-CN in the Chinese-CLIP layout in ``<data root>/COCO-CN`` (see the module docstring).

    ``source``: None, or a local folder holding the annotation archive (or its unpacked folder) and / or MS-COCO 2014
    images (``*.jpg`` files, ``train2014.zip``, ``val2014.zip``); what it lacks is fetched (annotations from the Hub,
    images from ``images_url``, default ``$ZERO_BENCH_COCO_IMAGES_URL`` or images.cocodataset.org).  ``only``: splits.
    Without ``source`` the splits already installed (pinned and present) are skipped."""
    entry = get_entry(COCO_CN)
    splits = select_coco_splits(only)
    droot = data_root(root)
    target = droot / entry.folder
    work = droot / f".{COCO_CN}.work"
    report = InstallReport(COCO_CN, target)
    folder: Path | None = None
    if source is not None:
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise ZeroBenchError(f"{folder}: --from takes a folder (the annotation archive, MS-COCO images or zips)")
    files = {s: [f"{s}_texts.jsonl", f"{s}_imgs.tsv"] for s in splits}
    with writing(droot, f"download {COCO_CN}"):
        todo = [s for s in splits if folder is not None or not _pinned_complete(target, COCO_CN, files[s])]
        for split in (s for s in splits if s not in todo):
            echo(f"{COCO_CN} {split}: already installed (zero-bench verify {COCO_CN} re-hashes it)")
        if todo:
            done = False
            try:
                _build_coco(todo, folder, entry.extra, target, work, endpoint, images_url, workers, echo, report)
                done = True
            finally:
                _clean(work, keep=not done)
    split = "test" if "test" in splits else splits[0]
    listed = [
        rel
        for s in _COCO_SPLITS
        if s in splits or (target / f"{s}_texts.jsonl").is_file()
        for rel in files.get(s, [f"{s}_texts.jsonl", f"{s}_imgs.tsv"])
    ]
    return _layout(COCO_CN, target, report, files[split], listed)


def _build_coco(
    todo: list[str],
    folder: Path | None,
    extra: dict,
    target: Path,
    work: Path,
    endpoint: str | None,
    images_url: str | None,
    workers: int,
    echo: Echo,
    report: InstallReport,
) -> None:
    shutil.rmtree(work / "annotations", ignore_errors=True)
    shutil.rmtree(work / "stage", ignore_errors=True)
    data, origin = _annotations(folder, extra["hub"], extra["archive"], work, endpoint, echo)
    missing = [s for s in todo if _COCO_SPLITS[s] not in data.splits]
    if missing:
        raise ZeroBenchError(f"{origin}: no coco-cn_{_COCO_SPLITS[missing[0]]}.txt; nothing was installed")
    names = list(dict.fromkeys(n for s in todo for n in data.splits[_COCO_SPLITS[s]]))
    base_url = (images_url or os.environ.get(COCO_IMAGES_URL_ENV) or extra["images"]).rstrip("/")
    with contextlib.ExitStack() as stack:
        images = _fetch_images(names, _local_images(folder, stack), base_url, work / "images", workers, echo)
    staged: dict[str, Path] = {}
    for split in todo:
        written, n_images, n_texts = _write_split(data, split, images, work / "stage")
        staged.update(written)
        note = ""
        if split == "test":
            same = (n_images, n_texts) == CNCLIP_COCO_TEST
            note = (
                "; the counts of Chinese-CLIP's test set"
                if same
                else (f"; Chinese-CLIP evaluates {CNCLIP_COCO_TEST[0]} images / {CNCLIP_COCO_TEST[1]} texts")
            )
        echo(f"{COCO_CN} {split}: {n_images} images, {n_texts} human-written texts{note}")
    images_from = "the --from folder and " if folder is not None else ""
    label = f"{origin} + MS-COCO 2014 images from {images_from}{base_url}"
    _commit(COCO_CN, staged, target, label)
    report.installed.extend(sorted(staged))
    echo(f"{COCO_CN}: {len(staged)} files installed into {target}, pinned in {target / LOCK_NAME}")


INSTALLERS: dict[str, Callable[..., InstallReport]] = {
    "flickr30k-cn": lambda source, root=None, **kw: install_cnclip_archive("flickr30k-cn", source, root, **kw),
    "muge": lambda source, root=None, **kw: install_cnclip_archive("muge", source, root, **kw),
    COCO_CN: install_coco_cn,
}


def _cnclip_layout(source: str) -> bool:
    """A ``--from`` already in the Chinese-CLIP layout: an archive, a URL, or a folder with ``*_texts.jsonl``."""
    path = Path(source).expanduser()
    if not path.is_dir():
        return True
    return any(path.glob("*_texts.jsonl")) or any(path.glob("*/*_texts.jsonl"))


def installer(name: str, source: str | None) -> Callable[..., InstallReport] | None:
    """The installer of ``name`` for ``source``, or None for the generic route (:mod:`zero_bench.data.tasks`):
    Flickr30k-CN / MUGE without ``--from`` or from an ``hf://`` repo; COCO-CN without ``--from`` or from a folder of
    COCO-CN annotations / MS-COCO images (a copy already in the Chinese-CLIP layout takes the generic route)."""
    if name in ("flickr30k-cn", "muge") and source is not None and not source.startswith("hf://"):
        return None
    if name == COCO_CN and source is not None and _cnclip_layout(source):
        return None
    return INSTALLERS.get(name)
