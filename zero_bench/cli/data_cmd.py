"""``zero-bench datasets|download|verify|stats``: the data layer's commands (thin calls into ``zero_bench.data``;
the tables they print are built here)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from zero_bench.cli import options as opt
from zero_bench.errors import ZeroBenchError

if TYPE_CHECKING:
    from zero_bench.data.fetch import FetchOptions
    from zero_bench.data.stats import Stats
    from zero_bench.data.toy import ToySizes

console = Console()

# download's options (no other command has them).
DatasetName = Annotated[
    str, typer.Argument(help="Dataset name (zero-bench datasets lists them), e.g. zero-2.3m, icr, zero-toy.")
]
Source = Annotated[
    str | None, typer.Option("--from", help="Folder, archive (zip/tar/tar.gz), https:// URL or hf://datasets/ORG/NAME.")
]
DownloadRoot = Annotated[
    Path | None, typer.Option("--root", help="Data root (default $ZERO_BENCH_HOME/data or ~/.cache/zero-bench/data).")
]
Processes = Annotated[int | None, typer.Option("--processes", help="img2dataset processes (default: CPU count).")]
Threads = Annotated[int, typer.Option("--threads", help="img2dataset threads per process.")]
ImageSize = Annotated[int, typer.Option("--image-size", help="Resize target (shorter side for keep_ratio).")]
ResizeMode = Annotated[
    str,
    typer.Option(
        "--resize-mode", help="img2dataset resize mode: no, border, keep_ratio, keep_ratio_largest, center_crop."
    ),
]
Upscale = Annotated[bool, typer.Option("--upscale/--no-upscale", help="Also enlarge images smaller than --image-size.")]
Retries = Annotated[int, typer.Option("--retries", help="Download retries per image.")]
Timeout = Annotated[int, typer.Option("--timeout", help="Seconds per image request.")]
SamplesPerShard = Annotated[int, typer.Option("--samples-per-shard", help="Images per download shard.")]
MaxImageArea = Annotated[
    float, typer.Option("--max-image-area", help="Refuse images with more pixels (decompression-bomb guard).")
]
MinImageSize = Annotated[int, typer.Option("--min-image-size", help="Refuse images with a smaller side.")]
IgnoreOptOut = Annotated[
    bool, typer.Option("--ignore-opt-out", help="Do NOT honour X-Robots-Tag noai/noindex headers (not recommended).")
]
Distributor = Annotated[
    str, typer.Option("--distributor", help="img2dataset distributor: multiprocessing, pyspark or ray.")
]
RetryFailed = Annotated[
    bool, typer.Option("--retry-failed", help="Re-fetch only the samples that failed before, then rebuild the corpus.")
]
ToySeed = Annotated[int, typer.Option("--seed", help="zero-toy: random seed.")]
ToyScale = Annotated[float, typer.Option("--scale", help="zero-toy: multiply every default size (0.1 = a tenth).")]
Quiet = Annotated[bool, typer.Option("--quiet", help="No progress bars.")]
Only = Annotated[
    list[str] | None,
    typer.Option(
        "--only",
        metavar="SETS",
        help="elevater-cn: only these sets (folder or task names); coco-cn: these splits (train, valid, test, all; "
        "default valid,test). Comma-separated or repeated.",
    ),
]

# download's parameters that are FetchOptions fields of the same name.
FETCH_FIELDS = (
    "threads",
    "image_size",
    "resize_mode",
    "retries",
    "timeout",
    "samples_per_shard",
    "max_image_area",
    "min_image_size",
    "distributor",
)


def datasets_list() -> None:
    """List every dataset of the registry (source, licence, install folder)."""
    from zero_bench.data.registry import REGISTRY

    table = Table(title="zero-bench datasets")
    for column in ("name", "kind", "folder", "title", "scripted", "licence"):
        table.add_column(column)
    for e in REGISTRY.values():
        table.add_row(e.name, e.kind, e.folder, e.title, "yes" if e.scripted else "--from / manual", e.license)
    console.print(table)


def download(
    name: DatasetName,
    source: Source = None,
    root: DownloadRoot = None,
    processes: Processes = None,
    threads: Threads = 32,
    image_size: ImageSize = 256,
    resize_mode: ResizeMode = "keep_ratio",
    upscale: Upscale = False,
    retries: Retries = 2,
    timeout: Timeout = 10,
    samples_per_shard: SamplesPerShard = 10_000,
    max_image_area: MaxImageArea = 89_478_485,
    min_image_size: MinImageSize = 0,
    no_opt_out: IgnoreOptOut = False,
    distributor: Distributor = "multiprocessing",
    retry_failed: RetryFailed = False,
    seed: ToySeed = 0,
    scale: ToyScale = 1.0,
    quiet: Quiet = False,
    only: Only = None,
) -> None:
    """Download / install a dataset. Without --from, print the manual steps when the files are missing."""
    given = locals()  # first: the parameters only
    from zero_bench.data.registry import MissingDataError, get_entry

    entry = get_entry(name)
    try:
        if entry.kind == "toy":
            from zero_bench.data.toy import ToySizes

            _install_toy(root, seed, ToySizes().scaled(scale))
        elif entry.kind == "corpus":
            _install_corpus(name, source, root, fetch_options(given), retry_failed)
        else:
            _install_task(name, source, root, only)
    except MissingDataError as exc:
        console.print(exc.manual, highlight=False, markup=False)
        raise


def fetch_options(values: dict[str, Any]) -> FetchOptions:
    """download's img2dataset options (``values``: its parameters by name) as ``FetchOptions``."""
    from zero_bench.data.fetch import DEFAULT_DISALLOWED, FetchOptions

    cpus: dict[str, Any] = {} if values["processes"] is None else {"processes": values["processes"]}
    return FetchOptions(
        **{key: values[key] for key in FETCH_FIELDS},
        resize_only_if_bigger=not values["upscale"],
        disallowed_header_directives=() if values["no_opt_out"] else DEFAULT_DISALLOWED,
        show_progress=not values["quiet"],
        **cpus,
    )


def _install_toy(root: Path | None, seed: int, sizes: ToySizes) -> None:
    from zero_bench.data.toy import generate_zero_toy

    with console.status("generating zero-toy"):
        out = generate_zero_toy(root, seed=seed, sizes=sizes)
    console.print(f"zero-toy (seed {seed}) written to {out}: corpus {sizes.corpus} rows, tasks in {out / 'ccmb'}")


def _install_corpus(
    name: str, source: str | None, root: Path | None, options: FetchOptions, retry_failed: bool
) -> None:
    from zero_bench.data.corpus import download_corpus

    result = download_corpus(
        name, source=source, root=root, options=options, retry_failed=retry_failed, echo=console.print
    )
    dl = result.manifest["download"]
    table = Table(title=f"{name}: {result.rows} rows in {result.folder}")
    table.add_column("outcome")
    table.add_column("samples", justify="right")
    table.add_row("success", str(dl["success"]))
    for reason, count in dl["failures"].items():
        table.add_row(f"failed: {reason}", str(count))
    console.print(table)
    console.print(
        f"success rate {dl['success_rate']:.1%}; Arrow build {result.rows / max(result.seconds, 1e-9):.0f} rows/s"
    )


def _install_task(name: str, source: str | None, root: Path | None, only: list[str] | None = None) -> None:
    from zero_bench.data.registry import image_source
    from zero_bench.data.tasks import install_task_dataset

    report = install_task_dataset(name, source, root=root, echo=console.print, only=only)
    table = Table(title=f"{name} in {report.folder}")
    table.add_column("file")
    table.add_column("lines", justify="right")
    for rel, n in report.split_sizes.items():
        table.add_row(rel, str(n))
    for rel in report.missing:
        table.add_row(rel, "[red]missing[/red]")
    console.print(table)
    if report.checked_images:
        console.print(f"images referenced: {report.checked_images}, missing: {report.missing_images}")
    if report.missing_images:
        raise ZeroBenchError(
            f"{report.folder}: {report.missing_images} referenced images are missing "
            f"(install the image folder: zero-bench download {image_source(name)} --from ...)"
        )


def verify(
    name: str = typer.Argument(..., help="Dataset name or corpus folder."),
    root: opt.DataRoot = None,
) -> None:
    """Re-check every recorded checksum (lock file, corpus manifest); report missing or changed files."""
    from zero_bench.data.registry import REGISTRY

    entry = REGISTRY.get(name)
    if entry is None or entry.kind in ("corpus", "toy"):
        from zero_bench.data.corpus import verify_corpus

        report = verify_corpus(name, root)
    else:
        from zero_bench.data.tasks import verify_dataset

        report = verify_dataset(name, root)
    for f in report.missing:
        console.print(f"[red]missing[/red] {f}")
    for f in report.changed:
        console.print(f"[red]changed[/red] {f}")
    missing, changed = len(report.missing), len(report.changed)
    console.print(f"{name}: {report.ok} ok, {missing} missing, {changed} changed")
    if not report.clean:
        raise ZeroBenchError(f"{name}: verification failed ({missing} missing, {changed} changed)")


def stats_cmd(
    name: str = typer.Argument(..., help="Corpus name / folder, or a task dataset name."),
    root: opt.DataRoot = None,
    plot: Path = typer.Option(None, "--plot", help="Write histograms to this PNG file."),
    sample: int = typer.Option(10_000, "--sample", help="Rows sampled for the text statistics."),
    top: int = typer.Option(20, "--top", help="How many frequent words to show."),
    as_json: bool = typer.Option(False, "--json", help="Print the statistics as JSON."),
) -> None:
    """Rows, success rate, failure reasons, text lengths (chars, jieba words), frequent words, image sizes."""
    import json

    from zero_bench.data import stats as st
    from zero_bench.data.registry import REGISTRY
    from zero_bench.fileio import check_output_file

    if plot is not None:
        check_output_file(plot, "--plot file")
    entry = REGISTRY.get(name)
    s = (
        st.task_stats(name, root, sample=sample, top=top)
        if entry is not None and entry.kind == "task"
        else st.corpus_stats(name, root, sample=sample, top=top)
    )
    summary = s.summary()
    if as_json:
        typer.echo(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        console.print(_stats_table(name, s, summary))
    if plot is not None:
        console.print(f"histograms written to {st.plot(s, plot)}")


def _stats_table(name: str, s: Stats, summary: dict[str, Any]) -> Table:
    table = Table(title=f"{name}: statistics", show_header=True)
    table.add_column("measure")
    table.add_column("value")
    table.add_row("rows", str(s.rows))
    if s.success_rate is not None:
        table.add_row("download success rate", f"{s.success_rate:.1%}")
    for reason, count in s.failures.items():
        table.add_row(f"failed: {reason}", str(count))
    for reason, count in s.malformed.items():
        table.add_row(f"malformed record: {reason}", str(count))
    for col, d in summary["text_chars"].items():
        if d.get("n"):
            w = summary["text_words"][col]
            table.add_row(
                f"{col} length",
                f"chars mean {d['mean']} median {d['median']} p95 {d['p95']} max {d['max']}; "
                f"words mean {w['mean']} median {w['median']} p95 {w['p95']}",
            )
    for key in ("image_width", "image_height"):
        d = summary[key]
        if d.get("n"):
            table.add_row(key.replace("_", " "), f"mean {d['mean']} min {d['min']} median {d['median']} max {d['max']}")
    table.add_row("top words", "  ".join(f"{w}:{c}" for w, c in s.top_words))
    return table


def register(app: typer.Typer) -> None:
    app.command("datasets")(datasets_list)
    app.command("download")(download)
    app.command("verify")(verify)
    app.command("stats")(stats_cmd)
