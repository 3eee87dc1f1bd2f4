"""Pre-training corpora: download (records -> img2dataset -> Arrow), load, verify.

On-disk layout of a corpus ``NAME`` under the data root::

    NAME/zero-bench.lock.json    checksums of the record files, pinned at the first download
    NAME/records/                the official record files (copied or unpacked from --from)
    NAME/work/input.parquet      normalised records (row, image_key, url, texts) fed to img2dataset
    NAME/images/                 img2dataset output: parquet shards + NNNNN_stats.json (resumable)
    NAME/retry-NNN/              --retry-failed rounds (only rows that failed before)
    NAME/corpus/                 the Arrow corpus: data-XXXXX-of-YYYYY.arrow, state.json, manifest.json

The corpus folder is written to a temporary folder and renamed into place when complete.  It opens with
``datasets.load_from_disk`` or :func:`load_corpus` (memory-mapped shards, concatenated).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from zero_bench.data.lock import LockFile, VerifyReport, verify_against_lock
from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import atomic_dir, atomic_write_text, sha256_file
from zero_bench.paths import data_root
from zero_bench.version import __version__

TEXT_COLUMNS = ("title", "content", "query", "keywords")
COLUMNS = ("key", "image", "title", "content", "query", "keywords", "url", "image_url", "width", "height", "sha256")
MANIFEST = "manifest.json"


def corpus_features():
    import datasets

    return datasets.Features(
        {
            "key": datasets.Value("string"),
            "image": datasets.Image(),
            "title": datasets.Value("string"),
            "content": datasets.Value("string"),
            "query": datasets.Value("string"),
            "keywords": datasets.Value("string"),
            "url": datasets.Value("string"),
            "image_url": datasets.Value("string"),
            "width": datasets.Value("int32"),
            "height": datasets.Value("int32"),
            "sha256": datasets.Value("string"),
        }
    )


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return img.size


class CorpusWriter:
    """Write rows (dicts with the corpus columns; ``image`` as bytes) into Arrow IPC-stream shards."""

    def __init__(self, folder: Path, shard_rows: int = 10_000) -> None:
        self.folder = Path(folder)
        self.shard_rows = shard_rows
        self.features = corpus_features()
        self.schema = self.features.arrow_schema
        self.shards: list[dict] = []
        self._buffer: list[dict] = []

    def _flush_shard(self, rows: list[dict]) -> None:
        if not rows:
            return
        cols: dict[str, list] = {c: [] for c in COLUMNS}
        for r in rows:
            data = r["image"]
            for c in COLUMNS:
                if c == "image":
                    cols[c].append({"bytes": data, "path": None})
                elif c == "sha256":
                    cols[c].append(r.get("sha256") or hashlib.sha256(data).hexdigest())
                elif c in ("width", "height") and r.get(c) is None:
                    w, h = image_size(data)
                    r["width"], r["height"] = w, h
                    cols[c].append(r[c])
                else:
                    cols[c].append(r.get(c, ""))
        table = pa.Table.from_pydict(cols, schema=self.schema)
        name = f"data-{len(self.shards):05d}.arrow"  # renamed to data-XXXXX-of-YYYYY.arrow in close()
        path = self.folder / name
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, self.schema) as writer:
            writer.write_table(table, max_chunksize=1000)
        self.shards.append({"file": name, "rows": len(rows)})

    def write(self, row: dict) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self.shard_rows:
            self._flush_shard(self._buffer)
            self._buffer = []

    def end_shard(self) -> None:
        """Close the current shard early (one Arrow shard per download shard)."""
        self._flush_shard(self._buffer)
        self._buffer = []

    def close(self) -> list[dict]:
        self.end_shard()
        n = len(self.shards)
        for i, shard in enumerate(self.shards):
            final = f"data-{i:05d}-of-{n:05d}.arrow"
            (self.folder / shard["file"]).rename(self.folder / final)
            shard["file"] = final
            shard["sha256"] = sha256_file(self.folder / final)
            shard["bytes"] = (self.folder / final).stat().st_size
        # datasets.load_from_disk compatibility
        state: dict[str, Any] = {
            "_data_files": [{"filename": s["file"]} for s in self.shards],
            "_fingerprint": _fingerprint(self.shards),
            "_format_columns": None,
            "_format_kwargs": {},
            "_format_type": None,
            "_output_all_columns": False,
            "_split": None,
        }
        atomic_write_text(self.folder / "state.json", json.dumps(state, indent=1))
        from datasets import DatasetInfo

        info = DatasetInfo(features=self.features, description="zero-bench corpus")
        info.write_to_directory(str(self.folder))
        return self.shards


def _fingerprint(shards: list[dict]) -> str:
    return hashlib.sha256("".join(s.get("sha256", s["file"]) for s in shards).encode()).hexdigest()[:16]


def write_manifest(folder: Path, manifest: dict) -> dict:
    manifest = {
        "toolkit_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    } | manifest
    atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    return manifest


# ---- build from the img2dataset output -------------------------------------------------------------------------


@dataclass
class BuildResult:
    folder: Path
    rows: int
    seconds: float
    manifest: dict


def build_corpus(
    dataset_dir: Path,
    name: str,
    *,
    records_info: dict | None = None,
    fetch_options: dict | None = None,
    shard_rows: int = 10_000,
    show_progress: bool = True,
) -> BuildResult:
    """Join img2dataset's successful samples with their records into the Arrow corpus (atomic)."""
    from zero_bench.data.fetch import collect_status, completed_shards, download_folders, failure_summary

    start = time.perf_counter()
    for stale in dataset_dir.glob(".corpus.*.tmp"):  # left by a build that was killed
        shutil.rmtree(stale, ignore_errors=True)
    inputs = pq.read_table(dataset_dir / "work" / "input.parquet", memory_map=True)
    total = inputs.num_rows
    status = collect_status(dataset_dir, total)
    reasons, messages = failure_summary(status, total)
    col = {c: inputs.column(c) for c in ("image_key", "url", "title", "content", "query", "keywords", "page_url")}
    written = 0
    with atomic_dir(dataset_dir / "corpus") as tmp:
        writer = CorpusWriter(tmp, shard_rows=shard_rows)
        for folder in download_folders(dataset_dir):
            for shard in completed_shards(folder):
                table = pq.read_table(
                    shard,
                    columns=["row", "status", "width", "height", "jpg"]
                    if "jpg" in pq.read_schema(shard).names
                    else None,
                )
                img_col = (
                    "jpg"
                    if "jpg" in table.column_names
                    else next(c for c in table.column_names if c in ("png", "webp"))
                )
                rows, statuses = table.column("row").to_pylist(), table.column("status").to_pylist()
                order = sorted(
                    i
                    for i, s in enumerate(statuses)
                    if s == "success" and status.succeeded(rows[i], folder.name, shard.stem)
                )
                for i in order:
                    r = rows[i]
                    data = table.column(img_col)[i].as_py()
                    writer.write(
                        {
                            "key": col["image_key"][r].as_py(),
                            "image": data,
                            "title": col["title"][r].as_py(),
                            "content": col["content"][r].as_py(),
                            "query": col["query"][r].as_py(),
                            "keywords": col["keywords"][r].as_py(),
                            "url": col["page_url"][r].as_py(),
                            "image_url": col["url"][r].as_py(),
                            "width": table.column("width")[i].as_py(),
                            "height": table.column("height")[i].as_py(),
                        }
                    )
                    written += 1
                writer.end_shard()
        shards = writer.close()
        manifest = {
            "name": name,
            "records": records_info or {},
            "download": {
                "options": fetch_options or {},
                "rows": total,
                "success": status.n_success,
                "failed": total - status.n_success,
                "success_rate": round(status.n_success / total, 6) if total else 0.0,
                "failures": dict(reasons.most_common()),
                "failure_messages": dict(messages.most_common(30)),
                "shards": status.shard_stats,
            },
            "corpus": {"rows": written, "shards": shards, "columns": list(COLUMNS)},
        }
        manifest = write_manifest(tmp, manifest)
    return BuildResult(dataset_dir / "corpus", written, time.perf_counter() - start, manifest)


# ---- download orchestration --------------------------------------------------------------------------------------


def download_corpus(
    name: str,
    *,
    source: str | None = None,
    root: str | Path | None = None,
    options=None,
    retry_failed: bool = False,
    echo=print,
) -> BuildResult:
    """``zero-bench download zero-23m``: records -> img2dataset -> Arrow corpus."""
    from zero_bench.data.fetch import FetchOptions, collect_status, run_img2dataset
    from zero_bench.data.lock import LockFile
    from zero_bench.data.records import INPUT_SCHEMA, build_input_table, record_files
    from zero_bench.data.registry import get_entry
    from zero_bench.data.sources import materialize

    entry = get_entry(name)
    options = options or FetchOptions()
    ds = data_root(root) / entry.folder
    records_dir = ds / "records"
    lock = LockFile.load(ds)
    if source is not None:
        tmp_src = ds / "work" / "source"
        folder = materialize(source, tmp_src)
        files = record_files(folder)
        # check against the lock BEFORE copying anything in
        rels = {str(f.relative_to(folder)): f for f in files}
        digests = {rel: lock.check_file(name, f"records/{rel}", f) for rel, f in rels.items()}
        for rel, f in rels.items():
            dest = records_dir / rel
            if not dest.exists() or sha256_file(dest) != digests[rel]:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(f, dest)
        shutil.rmtree(tmp_src, ignore_errors=True)
    if not records_dir.is_dir() or not any(records_dir.rglob("*")):
        from zero_bench.data.registry import MissingDataError

        raise MissingDataError(
            f"{records_dir}: no record files; get them first (manual steps above)", entry.manual_text()
        )
    files = record_files(records_dir)
    digests = lock.record(name, {f"records/{f.relative_to(records_dir)}": f for f in files}, source=source)
    # rebuild the normalised input only when the records changed (its row numbers key the img2dataset output)
    work = ds / "work"
    work.mkdir(parents=True, exist_ok=True)
    info_path = work / "records.json"
    old = json.loads(info_path.read_text()) if info_path.exists() else None
    if old is None or old.get("sha256") != digests or not (work / "input.parquet").exists():
        if old is not None:
            echo("record files changed: starting the image download again")
            for f in [ds / "images", *ds.glob("retry-[0-9][0-9][0-9]")]:
                shutil.rmtree(f, ignore_errors=True)  # img2dataset's overwrite mode is broken in 1.47
        stats = build_input_table(files, work / "input.parquet.tmp")
        (work / "input.parquet.tmp").replace(work / "input.parquet")
        info = stats.as_dict() | {"sha256": digests, "files": [str(f.relative_to(records_dir)) for f in files]}
        atomic_write_text(info_path, json.dumps(info, indent=1))
        old = info
    echo(
        f"records: {old['total']} read, {old['valid']} valid, {old['malformed_total']} malformed "
        + (f"({', '.join(f'{k} {v}' for k, v in old['malformed'].items())})" if old["malformed"] else "")
    )
    total = pq.read_metadata(work / "input.parquet").num_rows
    if total == 0:
        raise ZeroBenchError(f"{records_dir}: no valid record in the record files")
    if retry_failed:
        if not (ds / "images").is_dir():
            raise ZeroBenchError(f"{ds}: nothing downloaded yet, so nothing to retry (run without --retry-failed)")
        failed = collect_status(ds, total).failed_rows()
        if len(failed) == 0:
            echo("no failed samples to retry")
        else:
            n = len(list(ds.glob("retry-[0-9][0-9][0-9]"))) + 1
            retry_input = work / f"retry-{n:03d}.parquet"
            table = pq.read_table(work / "input.parquet", memory_map=True).take(pa.array(failed))
            pq.write_table(table.cast(INPUT_SCHEMA), retry_input)
            echo(f"retrying {len(failed)} failed samples (round {n})")
            run_img2dataset(retry_input, ds / f"retry-{n:03d}", options, total_rows=len(failed))
    else:
        run_img2dataset(work / "input.parquet", ds / "images", options, total_rows=total)
    result = build_corpus(
        ds, name, records_info=old, fetch_options=options.as_dict(), show_progress=options.show_progress
    )
    return result


# ---- load / verify -------------------------------------------------------------------------------------------------


def corpus_dir(name: str | Path, root: str | Path | None = None) -> Path:
    """Resolve a registry name or a path to the corpus folder (the one holding manifest.json / *.arrow)."""
    path = Path(name).expanduser()
    if path.is_dir():
        for cand in (path, path / "corpus"):
            if (cand / MANIFEST).exists() or (cand / "state.json").exists():
                return cand
        raise ZeroBenchError(f"{path}: not a zero-bench corpus folder (no manifest.json)")
    from zero_bench.data.registry import REGISTRY

    if str(name) not in REGISTRY:
        raise ZeroBenchError(f"{name}: neither a corpus folder nor a known dataset ({', '.join(REGISTRY)})")
    entry = REGISTRY[str(name)]
    if entry.kind not in ("corpus", "toy"):
        raise ZeroBenchError(f"{name} is a task dataset, not a pre-training corpus")
    folder = data_root(root) / entry.folder / "corpus"
    if not (folder / MANIFEST).exists():
        raise ZeroBenchError(f"{folder}: corpus {name} is not downloaded; run: zero-bench download {name}")
    return folder


def read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ZeroBenchError(f"{folder / MANIFEST}: unreadable manifest ({exc})") from exc


def load_corpus(name: str | Path, root: str | Path | None = None, exclude_keys: Iterable[str] | None = None):
    """Open a corpus as one memory-mapped ``datasets.Dataset`` (its Arrow shards concatenated).

    Cheap integrity check on open: every shard listed in the manifest exists with its recorded size
    (``zero-bench verify NAME`` re-hashes them).  ``exclude_keys``: row keys to leave out (the caller decides which;
    :func:`zero_bench.contamination.clean.load_clean_corpus` reads them from an audit report).
    """
    dataset = _open_shards(name, root)
    keys = set(exclude_keys or ())
    return drop_keys(dataset, keys) if keys else dataset


def drop_keys(dataset, keys: set[str]):
    """``dataset`` without the rows whose ``key`` is in ``keys`` (the kept rows copied into memory as indices)."""
    import pyarrow.compute as pc

    column = dataset.with_format("arrow").data.column("key")
    keep = pc.invert(pc.is_in(column, value_set=pa.array(sorted(keys), pa.string())))
    indices = pc.indices_nonzero(keep).to_numpy()
    return dataset.select(indices, keep_in_memory=True)


def _open_shards(name: str | Path, root: str | Path | None):
    import datasets

    folder = corpus_dir(name, root)
    manifest = read_manifest(folder)
    shards = manifest["corpus"]["shards"]
    parts = []
    for shard in shards:
        path = folder / shard["file"]
        if not path.is_file():
            raise ZeroBenchError(f"{path}: corpus shard missing; run: zero-bench verify {name}")
        if path.stat().st_size != shard["bytes"]:
            raise ZeroBenchError(
                f"{path}: corpus shard size changed since it was written; run: zero-bench verify {name}"
            )
        parts.append(datasets.Dataset.from_file(str(path), in_memory=False))
    if not parts:
        return datasets.Dataset.from_dict({c: [] for c in COLUMNS}, features=corpus_features())
    return datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]


def iter_rows(ds, columns: Iterable[str] | None = None, batch_size: int = 1000) -> Iterator[dict]:
    """Plain fast iteration over a corpus' rows (images left as the stored struct: bytes + path)."""
    table = ds.with_format("arrow")
    for start in range(0, len(ds), batch_size):
        batch = table[start : start + batch_size]
        if columns:
            batch = batch.select(list(columns))
        yield from batch.to_pylist()


def verify_corpus(name: str, root: str | Path | None = None) -> VerifyReport:
    """Re-hash every corpus shard (manifest) and record file (lock); the same report as ``verify_dataset``."""
    folder = corpus_dir(name, root)
    manifest = read_manifest(folder)
    report = VerifyReport(str(name))
    for shard in manifest["corpus"]["shards"]:
        path = folder / shard["file"]
        report.checked += 1
        if not path.is_file():
            report.missing.append(f"corpus/{shard['file']}")
        elif sha256_file(path) != shard["sha256"]:
            report.changed.append(f"corpus/{shard['file']}")
        else:
            report.ok += 1
    ds_dir = folder.parent
    lock = LockFile.load(ds_dir)
    for entry in lock.entries:
        part = verify_against_lock(lock, entry, ds_dir)
        report.checked += part.checked
        report.ok += part.ok
        report.missing += part.missing
        report.changed += part.changed
    return report
