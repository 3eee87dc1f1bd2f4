"""Result files in other projects' formats, so zero-bench numbers sit beside CLIP_benchmark and MTEB / MIEB tables.

``clip_benchmark``: one JSON per Result, the dict ``clip_benchmark eval`` dumps (keys ``dataset``, ``model``,
``pretrained``, ``task``, ``metrics``, ``language``), named by its default output template
``{dataset}_{pretrained}_{model}_{language}_{task}.json``.  Its metric names and scale (fractions, 0-1):
retrieval ``image_retrieval_recall@K`` (a text finds its image: our ``img_rK`` / 100) and
``text_retrieval_recall@K`` (an image finds a text: our ``txt_rK`` / 100); classification ``acc1``, ``acc5``,
``mean_per_class_recall`` / 100.  CLIP_benchmark has no image-text matching task: a matching Result is written with
task ``image_text_matching`` and ``auc`` / ``accuracy`` / 100.  ``language``: ``cn`` for classification (the code of
CLIP_benchmark's Chinese class names), ``zh`` otherwise (its Chinese retrieval annotations).

``mteb``: MTEB's result layout, ``<model>/<revision>/<task>.json`` plus ``model_meta.json`` (``name``, ``revision``),
each task file a ``mteb.TaskResult``: ``task_name`` (the zero-bench task), ``dataset_revision`` (the annotation
sha256 of the Result), ``scores[split]`` = one entry with ``hf_subset`` ``default``, ``languages`` ``[cmn-Hans]``,
``main_score`` (the task's primary metric), every metric of the Result, all on MTEB's 0-1 scale, and the zero-bench
setting.  Results of one model, weights and task but other splits share a file.  ``revision``: the first 12 hex
digits of the checkpoint's sha256, ``no_revision_available`` (MTEB's word) without one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import atomic_write_text, check_output_folder
from zero_bench.results import Result
from zero_bench.taskspec import KIND_METRICS, TaskKind, all_tasks

ExportFormat = Literal["clip_benchmark", "mteb"]
FORMATS: tuple[str, ...] = ("clip_benchmark", "mteb")
CLIP_BENCHMARK_TASKS = {
    TaskKind.retrieval: "zeroshot_retrieval",
    TaskKind.classification: "zeroshot_classification",
    TaskKind.matching: "image_text_matching",  # not a CLIP_benchmark task: it has no matching evaluation
}
MTEB_LANGUAGES = ["cmn-Hans"]
MTEB_NO_REVISION = "no_revision_available"
MTEB_FORMAT_VERSION = "2.0.0"  # written when mteb is not installed: the result layout of mteb 2 (>= 1.12.48)


@dataclass
class ExportReport:
    written: list[Path]
    results: int


def result_kind(result: Result) -> TaskKind:
    """The task's kind from its definition; for a task this install does not know, from its metric names."""
    spec = all_tasks().get(result.task.name)
    if spec is not None:
        return spec.kind
    for kind, names in KIND_METRICS.items():
        if result.metrics and set(result.metrics) <= set(names):
            return kind
    raise ZeroBenchError(f"{result.task.name}: unknown task, and its metrics {sorted(result.metrics)} name no kind")


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_") or "unnamed"


def clip_benchmark_metrics(result: Result, kind: TaskKind) -> dict[str, float]:
    """The Result's metrics under CLIP_benchmark's names, on its 0-1 scale."""
    m = result.metrics
    if kind is TaskKind.retrieval:
        out: dict[str, float] = {}
        for k in (1, 5, 10):
            if f"img_r{k}" in m:
                out[f"image_retrieval_recall@{k}"] = m[f"img_r{k}"] / 100
            if f"txt_r{k}" in m:
                out[f"text_retrieval_recall@{k}"] = m[f"txt_r{k}"] / 100
        return out
    return {key: value / 100 for key, value in m.items()}


def clip_benchmark_dump(result: Result) -> dict[str, Any]:
    """The dict ``clip_benchmark eval`` writes for one run."""
    kind = result_kind(result)
    info = result.model
    pretrained = "random_init" if info.random_init else (info.checkpoint or "unknown")
    return {
        "dataset": result.task.name,
        "model": info.name,
        "pretrained": pretrained,
        "task": CLIP_BENCHMARK_TASKS[kind],
        "metrics": clip_benchmark_metrics(result, kind),
        "language": "cn" if kind is TaskKind.classification else "zh",
    }


def clip_benchmark_name(dump: dict[str, Any], split: str, default_split: str | None) -> str:
    parts = [dump["dataset"] + ("" if split == default_split else f"-{split}")]
    parts += [dump["pretrained"], dump["model"], dump["language"], dump["task"]]
    return "_".join(_safe(str(p)) for p in parts) + ".json"


def _mteb_version() -> str:
    try:
        from importlib.metadata import version

        return version("mteb")
    except Exception:
        return MTEB_FORMAT_VERSION


def mteb_scores(result: Result) -> dict[str, Any]:
    """One MTEB scores entry: the metrics / 100, ``main_score`` (the primary metric), subset and languages."""
    spec = all_tasks().get(result.task.name)
    primary = spec.primary_metric if spec is not None and spec.primary_metric in result.metrics else None
    if primary is None:
        primary = next(iter(result.metrics), None)
    if primary is None:
        raise ZeroBenchError(f"{result.task.name}: the Result holds no metric")
    scores: dict[str, Any] = {key: value / 100 for key, value in result.metrics.items()}
    scores.update(
        main_score=result.metrics[primary] / 100,
        hf_subset="default",
        languages=list(MTEB_LANGUAGES),
        zero_bench={"setting": result.setting, "main_metric": primary, "num_queries": result.num_queries},
    )
    return scores


def _mteb_key(result: Result) -> tuple[str, str, str]:
    info = result.model
    revision = info.checkpoint_sha256[:12] if info.checkpoint_sha256 else MTEB_NO_REVISION
    return info.label, revision, result.task.name


def mteb_task_results(results: Iterable[Result]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(model, revision, task) -> the TaskResult dict; one split per Result, a split twice is an error."""
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    version = _mteb_version()
    for result in results:
        key = _mteb_key(result)
        entry = out.setdefault(
            key,
            {
                "dataset_revision": result.task.annotation_sha256,
                "task_name": result.task.name,
                "mteb_version": version,
                "scores": {},
                "evaluation_time": 0.0,
                "kg_co2_emissions": None,
                "date": result.run.timestamp.timestamp(),
            },
        )
        split = result.task.split
        if split in entry["scores"]:
            raise ZeroBenchError(
                f"two Results of {key[0]} (weights {key[1]}) on {key[2]}/{split}; export them separately"
            )
        entry["scores"][split] = [mteb_scores(result)]
        entry["evaluation_time"] += result.run.wall_time_s
    return out


def _write_json(path: Path, payload: dict[str, Any]) -> Path:
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")  # makes the folders
    return path


def export_results(paths: Iterable[str | Path], fmt: str, out: str | Path) -> ExportReport:
    """Every Result file under ``paths`` (files or folders) written in ``fmt`` into the folder ``out``."""
    from zero_bench.results_table import result_files

    if fmt not in FORMATS:
        raise ZeroBenchError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    results = [Result.read(path) for path in result_files(paths)]
    out = check_output_folder(out, "export folder (-o)")
    written: list[Path] = []
    if fmt == "clip_benchmark":
        seen: set[Path] = set()
        for result in results:
            spec = all_tasks().get(result.task.name)
            dump = clip_benchmark_dump(result)
            path = out / clip_benchmark_name(dump, result.task.split, spec.default_split if spec else None)
            if path in seen:
                raise ZeroBenchError(f"{path.name}: two Results export to the same file (same model, task and split)")
            seen.add(path)
            written.append(_write_json(path, dump))
        return ExportReport(written, len(results))
    for (model, revision, task), payload in mteb_task_results(results).items():
        folder = out / _safe(model.replace("/", "__")) / _safe(revision)
        written.append(_write_json(folder / f"{_safe(task)}.json", payload))
        meta = folder / "model_meta.json"
        if meta not in written:
            written.append(_write_json(meta, {"name": model, "revision": revision, "framework": ["zero-bench"]}))
    return ExportReport(written, len(results))
