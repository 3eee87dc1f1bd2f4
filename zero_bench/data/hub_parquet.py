"""Install a Hub dataset's parquet split with the images inside: Crossmodal-3600 and xFlickr&CO in Chinese.

``zero-bench download xm3600-zh`` (or ``xflickrco-zh``) lists the Hub repo (``mteb/xm3600``, ``mteb/xflickrco``) at
the revision the registry names (the one MTEB's own tasks pin), picks the parquet shards of the split ``zh``
(``data/zh-00000-of-00001.parquet`` and the like: a file named ``zh-*.parquet`` or in a folder ``zh``), fetches each
at the commit huggingface_hub names for it (the bytes with retries; a killed run leaves its partial file in the work
folder and the next run continues it) and checks it against the sha256 the Hub publishes.  The shards are read once
(columns, captions, the first image) before they are swapped in as ``<data root>/<folder>/zh/``, each pinned in ``<folder>/zero-bench.lock.json`` with the commit it was
read at (``source``).  A later download whose bytes differ from a pin, or that lacks a pinned shard, is refused in
one line and changes nothing.  Without ``--from``, an installed copy (every pinned shard there with its size) is
kept; ``--from`` re-installs from ``hf://datasets/ORG/NAME[@REV]``, a local ``.parquet`` file or a folder of them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path, PurePosixPath

from zero_bench.data.lock import LOCK_NAME, LockFile, writing
from zero_bench.data.registry import get_entry
from zero_bench.data.sources import HFSource, check_folder_links, download_url, hub_file_info, parse_hf_url
from zero_bench.data.tasks import InstallReport
from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import sha256_file, swap_folder
from zero_bench.paths import data_root
from zero_bench.taskspec import TaskSpec, get_task

Echo = Callable[..., object]


def _spec(name: str) -> tuple[TaskSpec, str]:
    """The dataset's task and the folder (relative to the dataset folder) its split's shards live in."""
    spec = get_task(get_entry(name).tasks[0])
    return spec, spec.splits[spec.default_split].annotation


def is_split_shard(path: str, split: str) -> bool:
    """A parquet file of the Hub split ``split``: ``<any>/<split>-*.parquet`` or ``<any>/<split>/*.parquet``."""
    pure = PurePosixPath(path)
    return pure.suffix == ".parquet" and (pure.name.startswith(f"{split}-") or pure.parent.name == split)


def hub_shards(src: HFSource, split: str, endpoint: str | None = None) -> list[str]:
    """The repo paths of the split's shards at ``src.revision`` (the Hub's tree listing), in name order."""
    from huggingface_hub import HfApi

    try:
        tree = HfApi(endpoint=endpoint).list_repo_tree(
            src.repo_id, recursive=True, revision=src.revision, repo_type=src.repo_type
        )
        paths = sorted(item.path for item in tree if hasattr(item, "size"))  # files (folders have no size)
    except Exception as exc:
        where = f"hf://{src.repo_type}s/{src.repo_id}@{src.revision or 'main'}"
        raise ZeroBenchError(f"{where}: cannot list the repo ({exc})".splitlines()[0]) from exc
    shards = [p for p in paths if is_split_shard(p, split)]
    if not shards:
        seen = ", ".join(p for p in paths if p.endswith(".parquet"))[:200] or "no parquet file"
        raise ZeroBenchError(f"hf://{src.repo_type}s/{src.repo_id}: no parquet shard of split {split!r} ({seen})")
    return shards


def _fetch_hub(source: str, split: str, work: Path, endpoint: str | None, echo: Echo) -> tuple[dict[str, Path], str]:
    """Fetch the split's shards into ``work/hub``; returns (file name -> path, origin naming the commit).

    huggingface_hub names the commit, size and published sha256 of each shard; the bytes come with
    :func:`download_url` (retried, and resumable: a killed run leaves ``.<name>.part``, which the next run continues).
    """
    src = parse_hf_url(source)
    src = HFSource(src.repo_type, src.repo_id, src.revision)
    files: dict[str, Path] = {}
    commits: set[str] = set()
    for repo_path in hub_shards(src, split, endpoint):
        info = hub_file_info(src, repo_path, endpoint=endpoint)
        dest = work / "hub" / PurePosixPath(repo_path).name
        if not (dest.is_file() and info.sha256 is not None and sha256_file(dest) == info.sha256):
            echo(f"fetching {repo_path} from hf://{src.repo_type}s/{src.repo_id}@{info.commit or src.revision}")
            download_url(info.url, dest, retries=4, resume=True, sha256=info.sha256)
        files[dest.name] = dest
        commits.add(info.commit or src.revision or "main")
    if len(commits) > 1:
        raise ZeroBenchError(f"hf://{src.repo_type}s/{src.repo_id}: the shards came from several commits; run again")
    return files, f"hf://{src.repo_type}s/{src.repo_id}@{commits.pop()}"


def _local_files(source: str, split: str) -> dict[str, Path]:
    """A ``.parquet`` file, or a folder holding the split's shards (``zh-*.parquet`` or ``zh/*.parquet``, at any
    depth; else the ``.parquet`` files directly in it)."""
    path = Path(source).expanduser()
    if path.is_file() and path.suffix == ".parquet":
        return {path.name: path}
    if not path.is_dir():
        raise ZeroBenchError(f"{path}: --from takes hf://datasets/ORG/NAME[@REV], a .parquet file or a folder of them")
    check_folder_links(path)
    found = sorted(p for p in path.rglob("*.parquet") if is_split_shard(p.relative_to(path).as_posix(), split))
    found = found or sorted(path.glob("*.parquet"))
    if not found:
        raise ZeroBenchError(f"{path}: no parquet shard of split {split!r} in it")
    return {p.name: p for p in found}


def _stage(files: dict[str, Path], staged: Path) -> None:
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    if len({p.name for p in files.values()}) != len(files) or len(files) != len(set(files)):
        raise ZeroBenchError(f"two shards share a file name: {sorted(files)}")
    for name, path in files.items():
        try:
            os.link(path, staged / name)
        except OSError:
            shutil.copyfile(path, staged / name)


def _check_readable(spec: TaskSpec, staged: Path) -> tuple[int, int]:
    """Read the staged split as an evaluation would (columns, every caption, the first image): (images, texts)."""
    from zero_bench.formats.hf_parquet import read_hf_parquet

    assert spec.parquet is not None
    columns = (spec.parquet.image, spec.parquet.text, spec.parquet.id)
    data = read_hf_parquet(staged, columns, task=spec.name, split=spec.default_split, sha256="0" * 64)
    try:
        data.images[0].open()
    except Exception as exc:
        raise ZeroBenchError(f"{staged}: the first image does not decode ({exc})".splitlines()[0]) from exc
    return data.num_images, data.num_texts


def _check_pins(lock: LockFile, name: str, rel_dir: str, staged: Path) -> dict[str, str]:
    """Every staged shard against its pin, and no pinned shard missing: refused in one line before any change."""
    digests = {f"{rel_dir}/{p.name}": lock.check_file(name, f"{rel_dir}/{p.name}", p) for p in sorted(staged.iterdir())}
    lacking = [rel for rel in lock.files(name) if rel.startswith(f"{rel_dir}/") and rel not in digests]
    if lacking:
        raise ZeroBenchError(
            f"the new copy lacks {', '.join(lacking)}, pinned at the first download in {lock.path}; nothing was changed"
        )
    return digests


def installed(name: str, root: str | Path | None = None) -> bool:
    """Every shard pinned for ``name`` is there with its recorded size (not re-hashed: that is verify)."""
    target = data_root(root) / get_entry(name).folder
    if not (target / LOCK_NAME).is_file():
        return False
    pins = LockFile.load(target).files(name)
    return bool(pins) and all(
        (target / rel).is_file() and (target / rel).stat().st_size == pin.size for rel, pin in pins.items()
    )


def install_hub_parquet(
    name: str,
    source: str | None,
    root: str | Path | None = None,
    *,
    only: Iterable[str] | None = None,
    echo: Echo = print,
    endpoint: str | None = None,
) -> InstallReport:
    """Install ``name``'s split (see the module docstring); ``endpoint``: a Hub endpoint (default ``HF_ENDPOINT``)."""
    if only:
        raise ZeroBenchError(f"--only selects ELEVATER-CN sets; {name} has none")
    entry = get_entry(name)
    spec, rel_dir = _spec(name)
    hub_split = entry.extra["hub_split"]
    droot = data_root(root)
    target = droot / entry.folder
    report = InstallReport(name, target)
    if source is None and installed(name, root):
        echo(f"{name}: already installed in {target} (zero-bench verify {name} re-hashes it; --from re-installs)")
    else:
        work = droot / f".{name}.work"
        with writing(droot, f"download {name}"):
            done = False
            try:
                if source is None or source.startswith("hf://"):
                    files, origin = _fetch_hub(source or entry.extra["hub"], hub_split, work, endpoint, echo)
                else:
                    files, origin = _local_files(source, hub_split), str(Path(source).expanduser())
                _stage(files, work / "split")
                n_images, n_texts = _check_readable(spec, work / "split")
                lock = LockFile.load(target)
                digests = _check_pins(lock, name, rel_dir, work / "split")
                swap_folder(work / "split", target / rel_dir, work / ".old")
                lock.record(name, {rel: target / rel for rel in digests}, source=origin, digests=digests)
                report.installed += list(digests)
                echo(f"{name}: {n_images} images, {n_texts} captions from {origin}, pinned in {lock.path}")
                done = True
            finally:  # a failed Hub fetch keeps work/hub: the next run continues its partial files
                for child in sorted(work.iterdir()) if work.is_dir() else []:
                    if done or child.name != "hub":
                        shutil.rmtree(child) if child.is_dir() else child.unlink()
                if work.is_dir() and not any(work.iterdir()):
                    work.rmdir()
    for rel in LockFile.load(target).files(name):
        report.split_sizes[rel] = _rows(target / rel)
    return report


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows if path.is_file() else 0


def _installer(name: str) -> Callable[..., InstallReport]:
    def install(source: str | None, root: str | Path | None = None, **kwargs: object) -> InstallReport:
        return install_hub_parquet(name, source, root, **kwargs)  # type: ignore[arg-type]

    return install


INSTALLERS: dict[str, Callable[..., InstallReport]] = {name: _installer(name) for name in ("xm3600-zh", "xflickrco-zh")}
