"""Image fetching with img2dataset (never a hand-written downloader), plus failure classification."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from zero_bench.errors import ZeroBenchError

DEFAULT_DISALLOWED = ("noai", "noimageai", "noindex", "noimageindex")
DISTRIBUTORS = ("multiprocessing", "pyspark", "ray")


@dataclass
class FetchOptions:
    """img2dataset settings. Defaults suit 224-px models: shorter side 256, aspect ratio kept, never upscaled."""

    processes: int = max(1, (os.cpu_count() or 2))
    threads: int = 32
    image_size: int = 256
    resize_mode: str = "keep_ratio"  # img2dataset: no, border, keep_ratio, keep_ratio_largest, center_crop
    resize_only_if_bigger: bool = True
    encode_format: str = "jpg"
    encode_quality: int = 95
    retries: int = 2
    timeout: int = 10
    samples_per_shard: int = 10_000
    max_image_area: float = 89_478_485  # PIL's decompression-bomb limit; bigger images are refused
    max_aspect_ratio: float = float("inf")
    min_image_size: int = 0
    disallowed_header_directives: tuple[str, ...] = DEFAULT_DISALLOWED
    user_agent_token: str | None = "zero-bench"
    distributor: str = "multiprocessing"
    subjob_size: int = 1000
    max_shard_retry: int = 1
    show_progress: bool = True

    def __post_init__(self) -> None:
        if self.distributor not in DISTRIBUTORS:
            raise ZeroBenchError(f"unknown distributor {self.distributor!r}; choose one of {', '.join(DISTRIBUTORS)}")
        if self.processes < 1 or self.threads < 1 or self.samples_per_shard < 1:
            raise ZeroBenchError("processes, threads and samples per shard must be at least 1")
        for name, value, least in (
            ("image size", self.image_size, 1),
            ("timeout", self.timeout, 1),
            ("retries", self.retries, 0),
            ("min image size", self.min_image_size, 0),
        ):
            if value < least:
                raise ZeroBenchError(f"{name} must be at least {least}, got {value}")
        for name, number in (("max image area", self.max_image_area), ("max aspect ratio", self.max_aspect_ratio)):
            if not number > 0:  # also refuses NaN; inf means no limit
                raise ZeroBenchError(f"{name} must be a positive number, got {number}")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["disallowed_header_directives"] = list(self.disallowed_header_directives)
        d.pop("show_progress")
        return {k: (str(v) if isinstance(v, float) and v == float("inf") else v) for k, v in d.items()}

    def img2dataset_kwargs(self) -> dict:
        return dict(
            image_size=self.image_size,
            processes_count=self.processes,
            thread_count=self.threads,
            resize_mode=self.resize_mode,
            resize_only_if_bigger=self.resize_only_if_bigger,
            encode_format=self.encode_format,
            encode_quality=self.encode_quality,
            retries=self.retries,
            timeout=self.timeout,
            number_sample_per_shard=self.samples_per_shard,
            max_image_area=self.max_image_area,
            max_aspect_ratio=self.max_aspect_ratio,
            min_image_size=self.min_image_size,
            disallowed_header_directives=list(self.disallowed_header_directives) or None,
            user_agent_token=self.user_agent_token,
            distributor=self.distributor,
            subjob_size=self.subjob_size,
            max_shard_retry=self.max_shard_retry,
        )


def _hermetic_env(max_image_area: float) -> None:
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    os.environ.setdefault("WANDB_MODE", "disabled")
    # OpenCV's own decode-time pixel cap (read by the spawned workers): a decompression bomb is refused while its
    # header is parsed, before any pixel buffer is allocated. Between max_image_area and this cap the image is
    # decoded and refused by img2dataset as "image area too large".
    if max_image_area != float("inf"):
        os.environ["OPENCV_IO_MAX_IMAGE_PIXELS"] = str(int(max_image_area * 4))


def _local_spark_python() -> None:
    """With no active SparkSession img2dataset starts a local one, whose Python workers would run whatever
    ``python3`` is on PATH (not this virtual environment, so no img2dataset there): point them at this interpreter
    unless PYSPARK_PYTHON is set.  A session the caller built (a cluster) keeps its own settings."""
    from pyspark.sql import SparkSession

    if SparkSession.getActiveSession() is None:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def run_img2dataset(input_parquet: Path, output_folder: Path, options: FetchOptions, *, total_rows: int) -> None:
    """Fetch the images of ``input_parquet`` (columns url, row, image_key) into ``output_folder`` (resumable)."""
    _hermetic_env(options.max_image_area)
    try:
        from img2dataset import download
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ZeroBenchError("img2dataset is not installed: pip install 'zero-bench[download]'") from exc
    if options.distributor == "pyspark":
        try:
            import pyspark  # noqa: F401
        except ImportError as exc:
            raise ZeroBenchError("the pyspark distributor needs pyspark: pip install 'zero-bench[spark]'") from exc
        _local_spark_python()
    discard_partial_shards(output_folder)
    n_shards = max(1, -(-total_rows // options.samples_per_shard))
    stop = threading.Event()
    watcher = threading.Thread(
        target=_progress, args=(output_folder, n_shards, stop, options.show_progress), daemon=True
    )
    watcher.start()
    try:
        download(
            url_list=str(input_parquet),
            output_folder=str(output_folder),
            input_format="parquet",
            url_col="url",
            save_additional_columns=["row", "image_key"],
            output_format="parquet",
            incremental_mode="incremental",
            enable_wandb=False,
            compute_hash=None,
            **options.img2dataset_kwargs(),
        )
    finally:
        stop.set()
        watcher.join(timeout=5)


def _progress(folder: Path, n_shards: int, stop: threading.Event, show: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not show,
        transient=True,
    ) as progress:
        task = progress.add_task("shards", total=n_shards)
        while not stop.wait(1.0):
            progress.update(task, completed=len(list(folder.glob("*_stats.json"))) if folder.exists() else 0)


# ---- failure reasons -------------------------------------------------------------------------------------------

_REASONS = [
    (re.compile(r"HTTP Error 404"), "http_404"),
    (re.compile(r"HTTP Error 4\d\d"), "http_4xx"),
    (re.compile(r"HTTP Error 5\d\d"), "http_5xx"),
    (re.compile(r"timed out|timeout", re.I), "timeout"),
    (re.compile(r"IncompleteRead|truncated|Connection broken", re.I), "truncated_transfer"),
    (re.compile(r"X-Robots-Tag|disallowed", re.I), "opt_out_header"),
    (re.compile(r"image area too large|CV_IO_MAX_IMAGE_PIXELS|pixels <="), "image_too_large"),
    (re.compile(r"image too small"), "image_too_small"),
    (re.compile(r"aspect ratio too large"), "aspect_ratio"),
    (re.compile(r"Image decoding error|cannot identify|decod", re.I), "undecodable_image"),
    (re.compile(r"hash mismatch"), "hash_mismatch"),
    (
        re.compile(r"Connection refused|Name or service|urlopen error|Connection reset|RemoteDisconnected", re.I),
        "connection_error",
    ),
]


def classify_failure(status: str | None, message: str | None) -> str:
    """Map img2dataset's (status, error_message) to a stable reason name."""
    text = message or ""
    for pattern, reason in _REASONS:
        if pattern.search(text):
            return reason
    return f"{status or 'unknown'}:other"


class ShardStatus:
    """Final status of every input row across the main download and the retries (a success is sticky).

    Held in numpy arrays (a few bytes per row), so 23M or 250M rows fit in memory:
    ``source[row]`` is the index in ``sources`` of the (folder, shard) holding its image, -1 if none;
    ``failure[row]`` the index in ``messages`` of its last failure, -1 if none (or succeeded).
    """

    def __init__(self, total: int) -> None:
        import numpy as np

        self.total = total
        self.source = np.full(total, -1, dtype=np.int32)
        self.failure = np.full(total, -1, dtype=np.int32)
        self.sources: list[tuple[str, str]] = []
        self.messages: list[tuple[str, str | None]] = []
        self._message_ids: dict[tuple[str, str | None], int] = {}
        self.shard_stats: list[dict] = []

    @property
    def n_success(self) -> int:
        return int((self.source >= 0).sum())

    def succeeded(self, row: int, folder: str, shard: str) -> bool:
        src = self.source[row]
        return src >= 0 and self.sources[src] == (folder, shard)

    def failed_rows(self):
        import numpy as np

        return np.flatnonzero(self.source < 0)

    def message_id(self, status: str, message: str | None) -> int:
        key = (status, message)
        if key not in self._message_ids:
            self._message_ids[key] = len(self.messages)
            self.messages.append(key)
        return self._message_ids[key]


def download_folders(dataset_dir: Path) -> list[Path]:
    """The main img2dataset output, then each ``retry-NNN`` in order."""
    main = [dataset_dir / "images"] if (dataset_dir / "images").is_dir() else []
    return main + sorted(p for p in dataset_dir.glob("retry-[0-9][0-9][0-9]") if p.is_dir())


def read_stats_file(path: Path) -> dict | None:
    """A shard's ``NNNNN_stats.json``, or None when a killed run left it empty or cut short.

    img2dataset writes the file (not atomically) after closing the shard, and its resume skips every shard that has
    one, so a partial stats file would keep its shard from ever being redone: see :func:`discard_partial_shards`.
    """
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def discard_partial_shards(folder: Path) -> list[str]:
    """Delete the stats file and the outputs of every shard whose stats file cannot be read, so that img2dataset's
    resume fetches those shards again. Returns the shard names."""
    redone = []
    for stats in sorted(folder.glob("*_stats.json")) if folder.is_dir() else []:
        if read_stats_file(stats) is not None:
            continue
        shard = stats.name.split("_")[0]
        for path in folder.glob(f"{shard}.*"):
            path.unlink(missing_ok=True)
        stats.unlink(missing_ok=True)
        redone.append(shard)
    return redone


def completed_shards(folder: Path) -> list[Path]:
    """Parquet shards whose stats file is complete (img2dataset writes it after the shard is complete)."""
    out = []
    for stats in sorted(folder.glob("*_stats.json")):
        shard = folder / (stats.name.split("_")[0] + ".parquet")
        if shard.is_file() and read_stats_file(stats) is not None:
            out.append(shard)
    return out


def read_shard_stats(folder: Path) -> list[dict]:
    rows = []
    for stats in sorted(folder.glob("*_stats.json")):
        data = read_stats_file(stats)
        if data is None:  # a shard cut short by a killed run: it is redone by the next run
            continue
        rows.append(
            {
                "folder": folder.name,
                "shard": stats.name.split("_")[0],
                "count": data.get("count"),
                "successes": data.get("successes"),
                "failed_to_download": data.get("failed_to_download"),
                "failed_to_resize": data.get("failed_to_resize"),
                "seconds": round((data.get("end_time") or 0) - (data.get("start_time") or 0), 3),
                "status_dict": data.get("status_dict", {}),
            }
        )
    return rows


def collect_status(dataset_dir: Path, total: int) -> ShardStatus:
    import numpy as np
    import pyarrow.parquet as pq

    result = ShardStatus(total)
    for folder in download_folders(dataset_dir):
        result.shard_stats += read_shard_stats(folder)
        for shard in completed_shards(folder):
            table = pq.read_table(shard, columns=["row", "status", "error_message"])
            rows = table.column("row").to_numpy()
            ok = np.asarray(table.column("status").to_pylist(), dtype=object) == "success"
            if ok.any():
                result.sources.append((folder.name, shard.stem))
                result.source[rows[ok]] = len(result.sources) - 1
                result.failure[rows[ok]] = -1
            bad = ~ok
            if bad.any():
                statuses = table.column("status").to_pylist()
                messages = table.column("error_message").to_pylist()
                for i in np.flatnonzero(bad):
                    r = rows[i]
                    if result.source[r] < 0:
                        result.failure[r] = result.message_id(statuses[i], messages[i])
    return result


def failure_summary(status: ShardStatus, total_rows: int) -> tuple[Counter, Counter]:
    reasons: Counter = Counter()
    messages: Counter = Counter()
    import numpy as np

    ids, counts = np.unique(status.failure[status.failure >= 0], return_counts=True)
    for i, n in zip(ids.tolist(), counts.tolist(), strict=False):
        st, msg = status.messages[i]
        reasons[classify_failure(st, msg)] += n
        messages[f"{st}: {(msg or '')[:120]}"] += n
    unattempted = int(((status.source < 0) & (status.failure < 0)).sum())
    if unattempted > 0:
        reasons["not_attempted"] += unattempted
    return reasons, messages
