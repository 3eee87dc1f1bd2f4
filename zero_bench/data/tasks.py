"""Install the task datasets (ccmb layout, Chinese-CLIP layout) from a folder, archive, URL or Hub repo."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zero_bench.errors import ZeroBenchError
from zero_bench.paths import data_root

if TYPE_CHECKING:
    from zero_bench.data.lock import VerifyReport

# names found in third-party copies / the original archives -> the official layout
ALIASES = {
    "test/flickr30k_cn_test.txt": "test/flickr30k_cna_test.txt",
    "flickr30k-images": "Flickr30k-images",
    "flickr30k_images": "Flickr30k-images",
}


@dataclass
class InstallReport:
    name: str
    folder: Path
    installed: list[str] = field(default_factory=list)
    split_sizes: dict[str, int] = field(default_factory=dict)  # annotation file -> lines
    missing: list[str] = field(default_factory=list)
    missing_images: int = 0
    checked_images: int = 0


def _expected(name: str) -> tuple[list[str], list[str], list[str]]:
    """(annotation files, image folders / TSVs, required subset) for a registry entry."""
    from zero_bench.data.registry import get_entry
    from zero_bench.taskspec import get_task

    entry = get_entry(name)
    if entry.kind == "images":
        return [], [f.path for f in entry.files], [f.path for f in entry.files]
    spec = get_task(name)
    annotations = [s.annotation for s in spec.splits.values()]
    images = [s.images for s in spec.splits.values() if s.images] + ([spec.image_dir] if spec.image_dir else [])
    default = spec.splits[spec.default_split]
    required = [default.annotation] + ([default.images] if default.images else [])
    return annotations, images, required


def _find_base(folder: Path, rel_paths: list[str]) -> Path | None:
    """The folder inside an unpacked source under which the expected relative paths live (it may be nested)."""
    candidates = [folder] + sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts))
    for cand in candidates:
        if any(
            (cand / r).exists() or (cand / a).exists()
            for r in rel_paths
            for a in [r] + [k for k, v in ALIASES.items() if v == r]
        ):
            return cand
    return None


def _inside(parent: Path, child: Path) -> bool:
    try:
        child.resolve().relative_to(parent.resolve())
        return True
    except ValueError:
        return False


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                n += 1
    return n


def install_task_dataset(
    name: str, source: str | None, root: str | Path | None = None, echo=print, *, only: list[str] | None = None
) -> InstallReport:
    """Unpack ``source`` into ``<data root>/<folder>`` in the expected layout, check it, pin checksums.
    (The classification datasets have installers of their own: :mod:`zero_bench.data.classification`; so do the
    public retrieval sets fetched without ``--from``: :mod:`zero_bench.data.public_sets`.)"""
    from zero_bench.data.classification import INSTALLERS
    from zero_bench.data.lock import writing
    from zero_bench.data.public_sets import installer
    from zero_bench.data.registry import get_entry

    if name in INSTALLERS:
        return INSTALLERS[name](source, root, only=only, echo=echo)
    from zero_bench.data.hub_parquet import INSTALLERS as HUB_PARQUET  # xm3600-zh / xflickrco-zh: Hub parquet

    if name in HUB_PARQUET:
        return HUB_PARQUET[name](source, root, only=only, echo=echo)
    public = installer(name, source)  # flickr30k-cn / muge from the Hub, coco-cn built
    if public is not None:
        return public(source, root, only=only, echo=echo)
    if only:
        raise ZeroBenchError(f"--only selects ELEVATER-CN sets; {name} has none")
    entry = get_entry(name)
    target = data_root(root) / entry.folder
    annotations, images, required = _expected(name)
    wanted = annotations + images
    report = InstallReport(name, target)
    if source is not None:
        with writing(data_root(root), f"download {name}"):  # concurrent downloads into one root: one at a time
            _install(name, source, target, data_root(root) / f".{name}.work", wanted, report, echo)
    # check the layout
    for rel in annotations + images:
        path = target / rel
        if path.is_file():
            report.split_sizes[rel] = count_lines(path)
        elif not path.is_dir():
            report.missing.append(rel)
    if any(r in report.missing for r in required) or (source is None and report.missing == annotations + images):
        from zero_bench.data.registry import MissingDataError

        raise MissingDataError(
            f"{target}: {name} is missing {', '.join(report.missing)}; see the manual steps above", entry.manual_text()
        )
    _check_images(name, target, report)
    return report


def _install(
    name: str, source: str, target: Path, work: Path, wanted: list[str], report: InstallReport, echo: Callable
) -> None:
    """Materialise ``source`` in ``work``, check every file against the lock, then install them all or none."""
    from zero_bench.data.lock import LockFile
    from zero_bench.data.sources import materialize

    shutil.rmtree(work, ignore_errors=True)
    lock = LockFile.load(target)
    try:
        folder = materialize(source, work)
        base = _find_base(folder, wanted)
        if base is None:
            raise ZeroBenchError(f"{source}: none of the expected files found ({', '.join(wanted[:4])} ...)")
        files: dict[str, Path] = {}
        for rel in wanted:
            src = base / rel
            if not src.exists():
                alias = next((k for k, v in ALIASES.items() if v == rel and (base / k).exists()), None)
                src = base / alias if alias else src
            if src.is_file():
                files[rel] = src
            elif src.is_dir():
                for f in src.rglob("*"):
                    if f.is_file():
                        files[str(Path(rel) / f.relative_to(src))] = f
        # refuse changed files before anything is written
        digests = {rel: lock.check_file(name, rel, f) for rel, f in files.items()}
        ours = _inside(work, folder)  # unpacked / downloaded by us: move, never touch the user's folder
        staged: list[tuple[Path, Path]] = []
        try:  # stage every file first: a failure (disk full, ...) installs nothing
            for rel, f in files.items():
                dest = target / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.with_name(f".{dest.name}.tmp")
                staged.append((tmp, dest))
                if ours:
                    shutil.move(f, tmp)
                else:
                    shutil.copyfile(f, tmp)
        except BaseException:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise
        for tmp, dest in staged:
            tmp.replace(dest)
        report.installed.extend(files)
        lock.record(name, {rel: target / rel for rel in files}, source=source, digests=digests)
        if len(files) > 0:
            echo(f"installed {len(files)} files into {target}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_images(name: str, target: Path, report: InstallReport) -> None:
    """Count referenced images that do not exist (official ccmb layout only)."""
    from zero_bench.formats import iter_annotations
    from zero_bench.taskspec import get_task

    try:
        spec = get_task(name)
    except ZeroBenchError:
        return
    if not spec.image_dir:
        return
    image_dir = target / spec.image_dir
    for split in spec.splits.values():
        ann = target / split.annotation
        if not ann.is_file():
            continue
        for record in iter_annotations(spec, ann):
            report.checked_images += 1
            if record.image is None or not (image_dir / record.image).is_file():
                report.missing_images += 1


def verify_dataset(name: str, root: str | Path | None = None) -> VerifyReport:
    """Re-hash every file pinned for ``name`` in its lock file; returns a VerifyReport."""
    from zero_bench.data.classification import VERIFIERS
    from zero_bench.data.lock import LockFile, verify_against_lock
    from zero_bench.data.registry import get_entry

    if name in VERIFIERS:
        return VERIFIERS[name](root)

    entry = get_entry(name)
    target = data_root(root) / entry.folder
    lock = LockFile.load(target)
    if not lock.files(name):
        raise ZeroBenchError(f"{lock.path}: no checksums recorded for {name}; run: zero-bench download {name}")
    return verify_against_lock(lock, name, target)
