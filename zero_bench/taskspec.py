"""Declarative task definitions: one YAML file per task under the top-level ``tasks/`` folder.

A :class:`TaskSpec` says what data a task reads (format, splits, files), how it is scored (metrics, primary
metric, which "mean recall") and where it comes from (citation, licence).  Adding a task means adding a file.
"""

from __future__ import annotations

import functools
from enum import Enum
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from zero_bench.errors import DataFormatError, ZeroBenchError


class TaskKind(str, Enum):
    retrieval = "retrieval"
    matching = "matching"
    classification = "classification"


class Direction(str, Enum):
    image_to_text = "image_to_text"  # official keys txt_r*: an image query retrieves texts
    text_to_image = "text_to_image"  # official keys img_r*: a text query retrieves images


class MeanRecall(str, Enum):
    """The three "mean recall" definitions in use; every retrieval result names its own."""

    mean_of_6 = "mean_of_6"  # R@1/5/10 both ways (official r_mean)
    mean_of_3_t2i = "mean_of_3_t2i"  # R@1/5/10 text-to-image only (MUGE)
    mean_of_3_i2t = "mean_of_3_i2t"  # R@1/5/10 image-to-text only
    mean_of_r1 = "mean_of_r1"  # R@1 both ways

    @property
    def metric(self) -> str | None:
        """The metric key that holds this mean (None: no key of ours computes it)."""
        return MEAN_RECALL_PARTS[self][0] if self in MEAN_RECALL_PARTS else None


# The one mapping "mean recall" -> (metric key, the recall keys it averages); task validation, the leaderboard
# schema (re-checks reported means) and the page's text read it.
MEAN_RECALL_PARTS: dict[MeanRecall, tuple[str, tuple[str, ...]]] = {
    MeanRecall.mean_of_6: ("r_mean", ("txt_r1", "txt_r5", "txt_r10", "img_r1", "img_r5", "img_r10")),
    MeanRecall.mean_of_3_t2i: ("img_r_mean", ("img_r1", "img_r5", "img_r10")),
    MeanRecall.mean_of_3_i2t: ("txt_r_mean", ("txt_r1", "txt_r5", "txt_r10")),
}


RETRIEVAL_METRICS = ("txt_r1", "txt_r5", "txt_r10", "txt_r_mean", "img_r1", "img_r5", "img_r10", "img_r_mean", "r_mean")
MATCHING_METRICS = ("auc", "accuracy")
CLASSIFICATION_METRICS = ("acc1", "acc5", "mean_per_class_recall")
KIND_METRICS: dict[TaskKind, tuple[str, ...]] = {
    TaskKind.retrieval: RETRIEVAL_METRICS,
    TaskKind.matching: MATCHING_METRICS,
    TaskKind.classification: CLASSIFICATION_METRICS,
}

FormatName = Literal[
    "zero-itr-jsonl",
    "zero-itm-jsonl",
    "flickr30k-cna-txt",
    "cn-clip",
    "hf-parquet-retrieval",
    "elevater-cn",
    "imagenet-val",
]
# Classification layouts: a split is a folder of class folders, the class names a text file (see formats/elevater).
CLASSIFICATION_FORMATS = ("elevater-cn", "imagenet-val")


class ParquetColumns(BaseModel):
    """hf-parquet-retrieval: the columns of a Hub parquet split (see zero_bench.formats.hf_parquet)."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(default="image", description="the image: a {bytes, path} struct or binary")
    text: str = Field(description="the caption: a string, or a list of strings (one text each)")
    id: str = Field(description="the image's id on the Hub")


class SplitSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    annotation: str = Field(
        description="annotation file, relative to the dataset folder (classification: the split's image folder)"
    )
    images: str | None = Field(
        default=None, description="image file (cn-clip base64 TSV), relative to the dataset folder"
    )
    note: str | None = None


class DecidedBy(BaseModel):
    """What decides a task's number besides the model: the facts to match when comparing with a published one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    split: str = Field(description="which split is scored, and why")
    texts: str = Field(description="the caption / query set, or the class names and templates")
    per_item: str = Field(description="captions per image, or images per class")
    text_length: str = Field(description="how long a text may be, and who cuts it")
    text_normalisation: str = Field(description="what is done to a text before tokenising")


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9.\-]*$")
    version: str
    title: str
    description: str
    kind: TaskKind
    text_kind: Literal["caption", "query", "class-name"]
    dataset: str = Field(description="entry of the dataset registry that provides the files")
    data_folder: str = Field(description="folder under the data root holding the official layout")
    format: FormatName
    image_dir: str | None = Field(default=None, description="image folder, relative to the dataset folder")
    parquet: ParquetColumns | None = Field(
        default=None, description="hf-parquet-retrieval: the columns (a split's annotation is its folder of shards)"
    )
    splits: dict[str, SplitSpec]
    default_split: str
    directions: list[Direction] = Field(default_factory=list)
    metrics: list[str]
    primary_metric: str
    mean_recall: MeanRecall | None = None
    rerank_top_k: int = Field(default=0, ge=0, description="default k for cross-encoder re-ranking")
    labels: str | None = Field(
        default=None, description="classification: class-name file (line i names class i), relative to the folder"
    )
    labels_required: bool = Field(default=True, description="classification: the layout must hold the label file")
    cn_clip_templates: str = Field(
        default="openai_templates",
        description="classification: the template list of cn_clip.eval.cvinw_zeroshot_templates that Chinese-CLIP's "
        "zeroshot_evaluation.py uses for this set (its template_dict; openai_templates for every other set)",
    )
    clip_benchmark_dataset: str | None = Field(
        default=None,
        description="classification: the key of this set in CLIP_benchmark's cn class-name file (None: it has none)",
    )
    suite: Literal["ccmb", "public", "elevater-cn", "classification", "toy"] = Field(
        description="the suite the task belongs to (see SUITES)"
    )
    citation: str
    license: str
    homepage: str | None = None
    notes: str | None = None
    decided_by: DecidedBy | None = Field(
        default=None, description="what decides the number (split, texts, per item, text length, normalisation)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> TaskSpec:
        if self.default_split not in self.splits:
            raise ValueError(f"default_split {self.default_split!r} is not one of the splits {sorted(self.splits)}")
        if self.primary_metric not in self.metrics:
            raise ValueError(f"primary_metric {self.primary_metric!r} is not in metrics")
        known = KIND_METRICS[self.kind]
        unknown = [m for m in self.metrics if m not in known]
        if unknown:
            raise ValueError(f"unknown metrics for a {self.kind.value} task: {unknown}")
        if self.kind is TaskKind.retrieval:
            if not self.directions:
                raise ValueError("a retrieval task must list its directions")
            if self.mean_recall is None:
                raise ValueError("a retrieval task must say which mean recall it reports (mean_recall)")
            key = self.mean_recall.metric
            if key is None or key not in self.metrics:
                raise ValueError(
                    f"mean_recall {self.mean_recall.value} is reported as {key!r}, which is not among the metrics"
                )
        is_classification_format = self.format in CLASSIFICATION_FORMATS
        if (self.kind is TaskKind.classification) != is_classification_format:
            raise ValueError(f"format {self.format} does not fit a {self.kind.value} task")
        if is_classification_format:
            if self.labels is None:
                raise ValueError("a classification task must name its class-name file (labels)")
            return self
        if self.format == "cn-clip":
            missing = [s for s, spec in self.splits.items() if spec.images is None]
            if missing:
                raise ValueError(f"cn-clip splits need an images TSV: {missing}")
        elif self.format == "hf-parquet-retrieval":
            if self.parquet is None or self.kind is not TaskKind.retrieval:
                raise ValueError("hf-parquet-retrieval is a retrieval format and needs its columns (parquet)")
        elif self.image_dir is None:
            raise ValueError(f"format {self.format} needs image_dir")
        return self

    def split(self, name: str | None) -> tuple[str, SplitSpec]:
        name = name or self.default_split
        if name not in self.splits:
            raise ZeroBenchError(f"task {self.name} has no split {name!r} (splits: {', '.join(sorted(self.splits))})")
        return name, self.splits[name]


def _task_files() -> dict[str, Path]:
    folder = resources.files("zero_bench_tasks")
    return {
        entry.name.removesuffix(".yaml"): Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".yaml")
    }


def load_task_file(path: str | Path) -> TaskSpec:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataFormatError(path, f"invalid YAML: {exc}".splitlines()[0]) from exc
    if not isinstance(raw, dict):
        raise DataFormatError(path, "a task file must hold a mapping")
    try:
        spec = TaskSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise DataFormatError(path, f"{loc}: {first['msg']}") from exc
    if spec.name != path.stem:
        raise DataFormatError(path, f"task name {spec.name!r} must equal the file name {path.stem!r}")
    return spec


@functools.cache
def all_tasks() -> dict[str, TaskSpec]:
    """Every task definition shipped in ``tasks/``, by name."""
    return {name: load_task_file(path) for name, path in sorted(_task_files().items())}


SUITES: dict[str, str] = {
    "ccmb": "the five CCMB fine-tuning tasks (ICR, IQR, ICM, IQM, Flickr30k-CNA)",
    "public": "the public Chinese sets (Flickr30k-CN, COCO-CN, MUGE, AIC-ICC, Crossmodal-3600 and xFlickr&CO zh)",
    "elevater-cn": "the 20 ELEVATER-CN zero-shot classification sets (Chinese-CLIP's translation)",
    "classification": "every zero-shot classification task (ELEVATER-CN, ImageNet-CN and zero-toy's)",
    "toy": "zero-toy's own tasks beyond the CCMB five (the shape x colour classification set)",
    "all": "every task",
}


def _in_suite(suite: str, spec: TaskSpec) -> bool:
    if suite == "all":
        return True
    if suite == "classification":
        return spec.kind is TaskKind.classification
    return spec.suite == suite


def suite_tasks(suite: str) -> list[str]:
    """The task names of a suite (see SUITES), in task-name order."""
    if suite not in SUITES:
        raise ZeroBenchError(f"unknown suite {suite!r}; suites: {', '.join(SUITES)}")
    return [name for name, spec in all_tasks().items() if _in_suite(suite, spec)]


def resolve_tasks(names: list[str]) -> list[str]:
    """Task and suite names -> task names, in the order given, each once; an unknown name is an error."""
    resolved: list[str] = []
    for name in names:
        for task in suite_tasks(name) if name in SUITES else [get_task(name).name]:
            if task not in resolved:
                resolved.append(task)
    return resolved


def get_task(name: str) -> TaskSpec:
    tasks = all_tasks()
    if name not in tasks:
        raise ZeroBenchError(f"unknown task {name!r}; known tasks: {', '.join(tasks)}")
    return tasks[name]
