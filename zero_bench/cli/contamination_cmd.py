"""``zero-bench contamination``: audit a pre-training corpus for copies of evaluation images, texts and pairs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Descriptor = Annotated[
    str | None, typer.Option("--descriptor", help="Also a learned image descriptor: any model (zoo, hf:, open_clip:).")
]
DescriptorThreshold = Annotated[
    float | None,
    typer.Option(min=-1.0, max=1.0, help="Cosine for --descriptor; default: calibrated on planted copies."),
]
SparkMaster = Annotated[
    str | None,
    typer.Option(
        "--spark",
        metavar="MASTER",
        help="Scan the shards on Spark: local[N], spark://HOST:7077, yarn (shards on storage every node reads).",
    ),
]


def register(app: typer.Typer) -> None:
    @app.command("contamination")
    def contamination_command(
        corpus: str = typer.Argument(..., help="Corpus name (zero-23m, zero-toy, ...) or corpus folder."),
        task: list[str] = typer.Option(..., "--task", "-t", help="Task or suite (ccmb, public, all); repeatable."),
        split: list[str] = typer.Option(
            [], "--split", help="Split to audit (repeatable; 'all' for every split); default: each task's default."
        ),
        root: Path | None = typer.Option(None, "--root", help="Data root holding the corpus."),
        data_dir: Path | None = typer.Option(None, help="Task data folder (official layout); default: the data root."),
        output: Path = typer.Option(
            Path("contamination.json"), "--output", "-o", help="Report (JSON); the Markdown summary goes beside it."
        ),
        clean_ids: Path | None = typer.Option(
            None, "--clean-ids", help="Also write <task>.<split>.clean.json: the ids left once contaminated ones go."
        ),
        workers: int | None = typer.Option(None, min=1, help="Processes (default: the CPUs, one per shard at most)."),
        image_radius: int | None = typer.Option(None, min=0, max=63, help="Hamming radius on the 64-bit phash."),
        text_jaccard: float | None = typer.Option(None, min=0.0, max=1.0, help="Near-duplicate text Jaccard."),
        descriptor: Descriptor = None,
        descriptor_threshold: DescriptorThreshold = None,
        spark: SparkMaster = None,
    ) -> None:
        """Find the evaluation images, texts and pairs of the tasks that are in the corpus, exactly or nearly."""
        from dataclasses import replace

        from rich.progress import Progress

        from zero_bench.contamination.audit import audit
        from zero_bench.contamination.report import clean_ids as make_clean_ids
        from zero_bench.contamination.report import summary, write_clean_ids, write_report
        from zero_bench.contamination.thresholds import Thresholds

        _check_outputs(output, clean_ids)  # before the scan, which may take hours
        thresholds = Thresholds()
        if image_radius is not None:
            thresholds = replace(thresholds, image_radius=image_radius)
        if text_jaccard is not None:
            thresholds = replace(thresholds, text_jaccard=text_jaccard)
        with Progress(transient=True) as bar:
            job = bar.add_task("corpus rows", total=None)
            report, index, found = audit(
                corpus,
                task,
                splits=split or None,
                root=root,
                data_dir=data_dir,
                thresholds=thresholds,
                workers=workers,
                spark=spark,
                progress=lambda rows: bar.advance(job, rows),
                descriptor=descriptor,
                descriptor_threshold=descriptor_threshold,
            )
        json_path, md_path = write_report(report, output)
        typer.echo(summary(report))
        typer.echo(f"report: {json_path}  summary: {md_path}")
        if clean_ids is not None:
            written = write_clean_ids(make_clean_ids(index, found), clean_ids)
            typer.echo(f"clean id lists: {len(written)} files in {clean_ids}")


def _check_outputs(report: Path, clean_ids: Path | None) -> None:
    from zero_bench.fileio import check_output_file, check_output_folder

    check_output_file(report, "report")
    if clean_ids is not None:
        check_output_folder(clean_ids, "--clean-ids folder")
