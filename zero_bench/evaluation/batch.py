"""A grid of evaluations: several models (and checkpoints) x several task splits, one Result file each.

Every task split is read and checked before any model is built; models are built one at a time; result files are
named from model, config, weight identity, task and split, so two different runs never share a file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zero_bench.errors import DataFormatError, ZeroBenchError
from zero_bench.fileio import check_output_file, check_output_folder, sha256_file
from zero_bench.formats import load_split
from zero_bench.metrics.rules import TieRule, check_tie_rule
from zero_bench.models.info import ModelInfo
from zero_bench.prompts import PROTOCOLS, check_options
from zero_bench.results import Result
from zero_bench.taskspec import TaskSpec, get_task, resolve_tasks

RESULT_SUFFIX = ".json"
PREDICTION_SUFFIX = ".jsonl"


def slug(text: str, limit: int = 60) -> str:
    """A file-name-safe form of a model spec or config: other characters become '_', long ones keep the tail."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_.") or "x"
    return clean[-limit:].lstrip("_.") or "x"


def weights_tag(info: ModelInfo) -> str:
    if info.random_init:
        return "random-init"
    return (info.checkpoint_sha256 or "unhashed")[:12]


def result_name(
    model: str, config: str | None, info: ModelInfo, task: str, split: str, settings: tuple[str, ...] = ()
) -> str:
    """``<model>-<config>-<weights>-<task>-<split>[-<setting>...].json``; ``settings`` name what differs from the
    defaults (precision, re-ranking k), so runs that differ only there do not share a file either."""
    parts = [slug(model), slug(config or "default"), weights_tag(info), task, split, *map(slug, settings)]
    return "-".join(parts) + RESULT_SUFFIX


@dataclass(frozen=True)
class Job:
    spec: TaskSpec
    split: str


def plan_jobs(tasks: list[str], splits: list[str]) -> list[Job]:
    """Task and suite names x splits (default: each task's default split); an unknown name or split is an error."""
    jobs: list[Job] = []
    for name in resolve_tasks(tasks):
        spec = get_task(name)
        for split in splits or [spec.default_split]:
            jobs.append(Job(spec, spec.split(split)[0]))
    return jobs


def check_data(jobs: list[Job], data_dir: Path | None) -> None:
    """Read and validate every split before any model is built (a bad file fails in seconds, not after hours)."""
    for job in jobs:
        load_split(job.spec, data_dir, job.split)


@dataclass
class Outputs:
    """Where results (and predictions) go: one named file for a single run, else a folder for them all."""

    folder: Path
    single_file: Path | None = None
    predictions_folder: Path | None = None
    predictions_file: Path | None = None

    @classmethod
    def plan(cls, output: Path | None, predictions: Path | None, runs: int) -> Outputs:
        out = cls(folder=Path("results"))
        if output is not None:
            if output.suffix == RESULT_SUFFIX and runs == 1:
                out.single_file, out.folder = output, output.parent
            elif output.suffix == RESULT_SUFFIX or output.is_file():
                raise ZeroBenchError(f"-o {output}: {_need_folder(runs, RESULT_SUFFIX)}")
            else:
                out.folder = output
        if predictions is not None:
            if predictions.suffix in (PREDICTION_SUFFIX, RESULT_SUFFIX) and runs == 1:
                out.predictions_file = predictions
            elif predictions.is_file() or predictions.suffix in (PREDICTION_SUFFIX, RESULT_SUFFIX):
                raise ZeroBenchError(f"--predictions {predictions}: {_need_folder(runs, PREDICTION_SUFFIX)}")
            else:
                out.predictions_folder = predictions
        out.check()
        return out

    def check(self) -> None:
        """Each output writable before any model runs: a result or predictions file that is not a folder, in a
        folder that can be made; a folder that is not a file (else the run would end in an OSError)."""
        if self.single_file is not None:
            check_output_file(self.single_file, "result file (-o)")
        else:
            check_output_folder(self.folder, "results folder (-o)")
        if self.predictions_file is not None:
            check_output_file(self.predictions_file, "predictions file")
        elif self.predictions_folder is not None:
            check_output_folder(self.predictions_folder, "predictions folder")

    def result_path(self, name: str) -> Path:
        return self.single_file if self.single_file is not None else self.folder / name

    def predictions_path(self, name: str) -> Path | None:
        if self.predictions_file is not None:
            return self.predictions_file
        if self.predictions_folder is not None:
            return self.predictions_folder / (Path(name).stem + PREDICTION_SUFFIX)
        return None


def existing_result(path: Path) -> bool:
    """A complete Result already there (a damaged file is redone, not trusted)."""
    if not path.is_file():
        return False
    try:
        Result.read(path)
    except DataFormatError:
        return False
    return True


@dataclass
class ModelRun:
    model: str  # the -m value
    options: dict[str, Any] = field(default_factory=dict)
    config: str | None = None


def plan_runs(models: list[str], checkpoints: list[str], options: dict[str, Any], config: str | None) -> list[ModelRun]:
    """Every model with every checkpoint (or with none: the model's own default)."""
    base = {**options, **({"config": config} if config is not None else {})}
    choices: list[str | None] = list(checkpoints) if checkpoints else [None]
    return [
        ModelRun(model, {**base, **({"checkpoint": c} if c is not None else {})}, config)
        for model in models
        for c in choices
    ]


@dataclass(frozen=True)
class Settings:
    """What every run of a grid shares."""

    data_dir: Path | None = None
    top_k: int | None = None
    batch_size: int = 64
    pair_batch_size: int | None = None  # None: from the size of the states (rerank.default_pair_batch)
    num_workers: int = 0
    device: str | None = None
    precision: str = "fp32"
    seed: int = 0
    tie_rule: TieRule = "index"
    use_cache: bool = True
    random_init: bool = False
    protocol: str = PROTOCOLS[0]
    templates: Path | None = None

    def name_parts(self) -> tuple[str, ...]:
        """The settings that differ from the defaults and change the numbers, for result file names (a templates
        file by its content: two different files never share a result file)."""
        return (
            *([self.precision] if self.precision != "fp32" else []),
            *([f"k{self.top_k}"] if self.top_k is not None else []),
            *([f"ties-{self.tie_rule}"] if self.tie_rule != "index" else []),
            *([self.protocol] if self.protocol != PROTOCOLS[0] else []),
            *([f"tpl-{sha256_file(self.templates)[:8]}"] if self.templates is not None else []),
        )


def single_values(values: dict[str, list]) -> dict[str, Any]:
    """Options that take one value (``flag -> values given``): given twice is an error, never a silent choice of the
    last; each flag maps to its value or None."""
    for flag, given in values.items():
        if len(given) > 1:
            raise ZeroBenchError(f"{flag} was given {len(given)} times; it takes one value")
    return {flag: (given[0] if given else None) for flag, given in values.items()}


def check_distinct(values: list[str], flag: str) -> None:
    """A repeatable option naming the same value twice is an error (it would run, or overwrite, twice)."""
    seen = {v for v in values if values.count(v) > 1}
    if seen:
        raise ZeroBenchError(f"{flag} {sorted(seen)[0]!r} was given twice")


def _need_folder(runs: int, suffix: str) -> str:
    if runs == 1:
        return f"not a {suffix} file; name a {suffix} file or a folder"
    return f"{runs} runs need a folder, not a file"


def check_output_paths(output: Path | None, predictions: Path | None) -> None:
    same = output is not None and output == predictions
    if same or (predictions and output and output.resolve() == predictions.resolve()):
        raise ZeroBenchError(f"{output}: --output and --predictions name the same file; choose two files")


def check_protocol(protocol: str | None, templates: Path | None) -> None:
    if protocol is not None and protocol not in PROTOCOLS:
        raise ZeroBenchError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if templates is not None and not templates.is_file():
        raise ZeroBenchError(f"--templates {templates}: no such file")


def check_classification_options(
    jobs: list[Job], protocol: str | None, templates: Path | None, tie_rule: str | None
) -> None:
    """What the evaluator would refuse (:func:`zero_bench.prompts.check_options`), refused for every job before
    any model is built."""
    for job in jobs:
        check_options(job.spec, protocol or PROTOCOLS[0], templates, tie_rule or "index")


# The single-valued options of a grid that are settings: flag -> ``Settings`` field.
SETTING_FLAGS = {
    "--data-dir": "data_dir",
    "--top-k": "top_k",
    "--batch-size": "batch_size",
    "--pair-batch-size": "pair_batch_size",
    "--workers": "num_workers",
    "--device": "device",
    "--precision": "precision",
    "--seed": "seed",
    "--tie-rule": "tie_rule",
    "--protocol": "protocol",
    "--templates": "templates",
}
MINIMUMS = {"--batch-size": 1, "--pair-batch-size": 1, "--workers": 0}


@dataclass
class Grid:
    runs: list[ModelRun]
    jobs: list[Job]
    outputs: Outputs
    settings: Settings


def plan_grid(
    models: list[str],
    tasks: list[str],
    splits: list[str],
    checkpoints: list[str],
    model_options: dict[str, Any],
    single: dict[str, list],
    *,
    use_cache: bool = True,
    random_init: bool = False,
) -> Grid:
    """Check a grid's options and plan it; every split is read and checked here, before any model is built.

    ``single``: the single-valued options by flag (``--output``, ``--predictions``, ``--model-config`` and those of
    ``SETTING_FLAGS``), each with the list of values given (a flag left out: not given).
    """
    one = single_values(single)
    if one.get("--tie-rule") is not None:
        one["--tie-rule"] = check_tie_rule(one["--tie-rule"])
    check_output_paths(one.get("--output"), one.get("--predictions"))
    for flag, least in MINIMUMS.items():
        if one.get(flag) is not None and one[flag] < least:
            raise ZeroBenchError(f"{flag} must be >= {least}, got {one[flag]}")
    check_protocol(one.get("--protocol"), one.get("--templates"))
    for values, flag in ((models, "--model"), (checkpoints, "--checkpoint"), (splits, "--split"), (tasks, "--task")):
        check_distinct(values, flag)
    jobs = plan_jobs(tasks, splits)
    check_classification_options(jobs, one.get("--protocol"), one.get("--templates"), one.get("--tie-rule"))
    runs = plan_runs(models, checkpoints, model_options, one.get("--model-config"))
    outputs = Outputs.plan(one.get("--output"), one.get("--predictions"), len(runs) * len(jobs))
    check_data(jobs, one.get("--data-dir"))
    given = {name: one[flag] for flag, name in SETTING_FLAGS.items() if one.get(flag) is not None}
    return Grid(runs, jobs, outputs, Settings(**given, use_cache=use_cache, random_init=random_init))


@dataclass
class Finished:
    path: Path
    result: Result | None  # None: skipped, the file already existed
    model: str = ""  # the -m value of the run (a zoo name, plugin or adapter:source)


def run_grid(
    runs: list[ModelRun],
    jobs: list[Job],
    outputs: Outputs,
    settings: Settings,
    *,
    skip_existing: bool,
    writer: bool = True,
    show_progress: bool = False,
) -> Iterator[Finished]:
    """Build each model once and run it on every job; ``writer`` False on non-zero ranks (they write nothing)."""
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.models.registry import create_model

    for run in runs:
        model = create_model(run.model, random_init=settings.random_init, **run.options)
        for job in jobs:
            name = result_name(run.model, run.config, model.info, job.spec.name, job.split, settings.name_parts())
            path = outputs.result_path(name)
            if skip_existing and existing_result(path):
                yield Finished(path, None, run.model)
                continue
            result = evaluate(
                model,
                job.spec,
                job.split,
                data_dir=settings.data_dir,
                top_k=settings.top_k,
                batch_size=settings.batch_size,
                pair_batch_size=settings.pair_batch_size,
                num_workers=settings.num_workers,
                device=settings.device,
                precision=settings.precision,
                use_cache=settings.use_cache,
                predictions=outputs.predictions_path(name) if writer else None,
                seed=settings.seed,
                tie_rule=settings.tie_rule,
                protocol=settings.protocol,
                templates=settings.templates,
                show_progress=show_progress,
            )
            if writer:
                result.write(path)
            yield Finished(path, result, run.model)
        del model
