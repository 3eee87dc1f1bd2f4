"""The stored leaderboard format: one JSON file per model under ``leaderboard/submissions/``.

``submissions/<slug>.json`` (``slug`` derived from the model name by :func:`slugify`)::

    {
      "format": "zero-bench-leaderboard-model/1",
      "model": {name, organisation, link, parameters, training_data, training_corpora, checkpoint},  # model card
      "entries": [                      # one per (task, split, setting, status), sorted
        {task, task_version, split, annotation_sha256, setting, fine_tuned_on, status, source,
         metrics, mean_recall, rerank_top_k, num_queries, checkpoint_sha256,
         predictions_sha256, predictions_file, run, protocol, classification}
      ]
    }

``status`` is ``re-scored`` (metrics recomputed by ``zero-bench submit`` from the predictions, which are stored
beside the file as ``submissions/<slug>/<task>-<split>-<setting>.jsonl``) or ``reported`` (numbers as given,
not re-scored: no predictions, or published numbers; ``source`` says where they come from).

A classification entry also names its ``protocol`` (the class names and templates behind the number:
``cn_clip``, ``clip_benchmark``, or ``not stated`` where a published source does not say) and, when it comes from
a Result, that Result's whole ``classification`` record (class-name and template sources and checksums).  Other
entries have neither.

``training_corpora`` (absent: none declared) lists the corpora the model was trained on, by registry name or Hub id,
each with who declares it; the build matches contamination audit reports by these names only (``training_data`` is
a description).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zero_bench.errors import ZeroBenchError
from zero_bench.models.info import TrainingCorpus, check_corpora
from zero_bench.prompts import ClassificationProtocol
from zero_bench.results import RunInfo
from zero_bench.taskspec import MEAN_RECALL_PARTS, MeanRecall, TaskKind, TaskSpec, all_tasks

FORMAT: Final = "zero-bench-leaderboard-model/1"
BUNDLE_FORMAT = "zero-bench-bundle/1"

MAX_SUBMISSION_BYTES = 1 << 20  # a Result JSON or a bundle
MAX_STRING = 500  # characters, any string in a submission
MAX_ENTRIES = 64  # entries in one bundle
MAX_KEYS = 32  # keys in any JSON object
MAX_DEPTH = 8
RESCORE_TOLERANCE = 0.01  # absolute, in percentage points
MEAN_TOLERANCE = 0.1  # reported means vs the mean of their reported parts (one-decimal rounding)

Status = Literal["re-scored", "reported"]
# "setting not stated": a published number whose source does not say whether the model was fine-tuned on the task
NOT_STATED_SETTING: Final = "setting not stated"
Setting = Literal["zero-shot", "fine-tuned", "setting not stated"]
NOT_STATED: Final = "not stated"
# A classification entry's protocol: those of zero_bench.prompts, or "not stated" (published numbers only).
EntryProtocol = Literal["cn_clip", "clip_benchmark", "not stated"]

_HEX64 = r"^[0-9a-f]{64}$"
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class Rejected(ZeroBenchError):
    """A submission rejected: one line naming the file and the field."""

    def __init__(self, field: str, problem: str, where: str | Path | None = None) -> None:
        self.field = field
        self.problem = problem
        prefix = f"{where}: " if where is not None else ""
        super().__init__(f"{prefix}{field}: {problem}".replace("\n", " ").replace("\r", " "))


class ModelCard(BaseModel):
    """What the leaderboard shows about a model; every field is required for a submission."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    organisation: str = Field(min_length=1, max_length=MAX_STRING)
    link: str = Field(pattern=r"^https?://[^\s]+$", max_length=MAX_STRING)
    parameters: int | None = Field(
        ge=1, description="number of parameters; null only for published numbers whose source does not state it"
    )
    training_data: str = Field(min_length=1, max_length=MAX_STRING, description="declared pre-training data")
    training_corpora: list[TrainingCorpus] = Field(
        default_factory=list, description="declared training corpora (registry names or Hub ids), with their source"
    )
    checkpoint: str | None = Field(default=None, max_length=MAX_STRING)

    @field_validator("training_corpora")
    @classmethod
    def _corpora(cls, corpora: list[TrainingCorpus]) -> list[TrainingCorpus]:
        return check_corpora(corpora)


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task: str
    task_version: str
    split: str
    annotation_sha256: str | None = Field(default=None, pattern=_HEX64, description="null only for published numbers")
    setting: Setting
    fine_tuned_on: str | None = None
    status: Status
    source: str = Field(min_length=1, max_length=MAX_STRING)
    metrics: dict[str, float]
    mean_recall: MeanRecall | None = None
    rerank_top_k: int | None = Field(default=None, ge=0)
    num_queries: dict[str, int] = Field(default_factory=dict)
    checkpoint_sha256: str | None = Field(default=None, max_length=MAX_STRING)
    predictions_sha256: str | None = Field(default=None, pattern=_HEX64)
    predictions_file: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9.\-]*/[a-z0-9][a-z0-9.\-]*\.jsonl$")
    run: RunInfo | None = None
    protocol: EntryProtocol | None = Field(
        default=None,
        description="classification only: the class names and templates protocol; 'not stated' where the "
        "published source does not say",
    )
    classification: ClassificationProtocol | None = Field(
        default=None, description="classification only: the protocol record of the submitted Result"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Entry:
        if self.status == "re-scored":
            if not (self.annotation_sha256 and self.predictions_sha256 and self.predictions_file):
                raise ValueError("a re-scored entry needs annotation_sha256, predictions_sha256 and predictions_file")
        elif self.predictions_file is not None:
            raise ValueError("a reported entry has no stored predictions file")
        if self.classification is not None and self.protocol != self.classification.protocol:
            raise ValueError(
                f"protocol {self.protocol!r} differs from the classification record's {self.classification.protocol!r}"
            )
        if self.setting == NOT_STATED_SETTING and self.status != "reported":
            raise ValueError("setting 'setting not stated' is for published numbers only; a Result states its setting")
        if self.protocol == NOT_STATED and (self.status == "re-scored" or self.classification is not None):
            raise ValueError("protocol 'not stated' is for published numbers only; a Result records its protocol")
        return self

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.task, self.split, self.setting, self.status)


class ModelFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["zero-bench-leaderboard-model/1"] = FORMAT
    model: ModelCard
    entries: list[Entry] = Field(min_length=1)


# --------------------------------------------------------------------------------------------------- helpers


def normalise_name(name: str) -> str:
    """NFKC form of a model name: full-width letters, ligatures and compatibility forms become their plain forms."""
    return unicodedata.normalize("NFKC", name)


def slugify(name: str) -> str:
    """A file-name-safe, lowercase ASCII slug of a model name: ``[a-z0-9-]``, 1..80 characters.

    No path separators, dots, control characters or ``..`` can survive.  Non-Latin letters are transliterated
    (``anyascii``: 悟空 -> wukong) and a name holding any non-ASCII letter or digit also gets the first 12 hex of
    sha256 of its NFKC form, so two names that transliterate alike (homophones, look-alike letters) stay distinct.
    """
    from anyascii import anyascii

    text = normalise_name(name)
    slug = re.sub(r"[^a-z0-9]+", "-", anyascii(text).lower()).strip("-")[:80].strip("-")
    if not slug or any(not c.isascii() and c.isalnum() for c in text):
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
        slug = f"{slug[:67].strip('-')}-{digest}" if slug else f"model-{digest}"
    if slug in _RESERVED:
        slug += "-model"
    return slug


def confusable_with(name: str, others: Iterable[str]) -> str | None:
    """The first of ``others`` that ``name`` can be mistaken for (Unicode confusables, case) without being it."""
    from confusables import is_confusable

    text = normalise_name(name)
    for other in others:
        if normalise_name(other) != text and is_confusable(text, normalise_name(other)):
            return other
    return None


# Names some file systems (Windows) reserve, and names the leaderboard folder uses itself.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10)), "readme"}


def predictions_name(slug: str, task: str, split: str, setting: str) -> str:
    return f"{slug}/{task}-{split}-{setting}.jsonl"


def check_raw(value: Any, where: str | Path, path: str = "", depth: int = 0) -> None:
    """Limits on raw JSON before pydantic: string length, control characters, finite numbers, size."""
    field = path or "(top level)"
    if depth > MAX_DEPTH:
        raise Rejected(field, f"nested deeper than {MAX_DEPTH} levels", where)
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise Rejected(field, f"string of {len(value)} characters is longer than the limit of {MAX_STRING}", where)
        bad = next((c for c in value if unicodedata.category(c) == "Cc" or c in _BIDI), None)
        if bad is not None:
            raise Rejected(field, f"contains the control character U+{ord(bad):04X}", where)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise Rejected(field, f"{value} is not a finite number", where)
    elif isinstance(value, dict):
        if len(value) > MAX_KEYS:
            raise Rejected(field, f"has {len(value)} keys, more than the limit of {MAX_KEYS}", where)
        for key, item in value.items():
            check_raw(key, where, f"{path}.{key}(key)" if path else f"{key}(key)", depth + 1)
            check_raw(item, where, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        if len(value) > MAX_ENTRIES:
            raise Rejected(field, f"has {len(value)} items, more than the limit of {MAX_ENTRIES}", where)
        for index, item in enumerate(value):
            check_raw(item, where, f"{path}[{index}]", depth + 1)


def first_error(exc: ValidationError, prefix: str = "") -> tuple[str, str]:
    """(field, message) of a pydantic error, the field as dotted path."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    field = ".".join(p for p in (prefix, loc) if p) or "(top level)"
    return field, err["msg"]


def load_json(path: Path, limit: int = MAX_SUBMISSION_BYTES) -> Any:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise Rejected("file", f"cannot read: {exc.strerror}", path) from exc
    if not path.is_file():
        raise Rejected("file", "not a regular file", path)
    if size > limit:
        raise Rejected("file", f"{size} bytes is larger than the limit of {limit}", path)
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise Rejected("file", "not UTF-8", path) from exc
    except json.JSONDecodeError as exc:
        raise Rejected("file", f"bad JSON at line {exc.lineno}: {exc.msg}", path) from exc
    except RecursionError as exc:
        raise Rejected("file", "bad JSON: nested too deeply", path) from exc
    except ValueError as exc:  # e.g. an integer with more digits than int() accepts
        raise Rejected("file", f"bad JSON: {str(exc).splitlines()[0]}", path) from exc


def known_task(name: str, where: str | Path, field: str = "task.name") -> TaskSpec:
    tasks = all_tasks()
    if name not in tasks:
        raise Rejected(field, f"unknown task {name!r} (known: {', '.join(tasks)})", where)
    return tasks[name]


ONE_DIRECTION = (("img_r1", "img_r5", "img_r10"), ("txt_r1", "txt_r5", "txt_r10"))


def one_direction_reported(metrics: dict[str, float], spec: TaskSpec, status: str) -> bool:
    """A published number of a two-way retrieval task may give one direction only (e.g. a model card's
    text-to-image R@1/5/10): such a reported entry holds that direction's three recalls and no mean it cannot
    state; it is shown, and compared in reproduction, but has no primary metric to rank by."""
    return (
        status == "reported"
        and spec.kind is TaskKind.retrieval
        and any(all(m in metrics for m in recalls) for recalls in ONE_DIRECTION)
    )


def check_metrics(
    metrics: dict[str, float], spec: TaskSpec, where: str | Path, prefix: str = "metrics", status: str = "reported"
) -> None:
    """Names known for the task, the primary metric present, values in [0, 100], means consistent."""
    if not metrics:
        raise Rejected(prefix, "no metrics", where)
    for key, value in metrics.items():
        if key not in spec.metrics:
            raise Rejected(
                f"{prefix}.{key}", f"not a metric of task {spec.name} (its metrics: {', '.join(spec.metrics)})", where
            )
        if not math.isfinite(value):
            raise Rejected(f"{prefix}.{key}", f"{value} is not finite", where)
        if not 0.0 <= value <= 100.0:
            raise Rejected(f"{prefix}.{key}", f"{value} is outside [0, 100] (percent)", where)
    if spec.primary_metric not in metrics and not one_direction_reported(metrics, spec, status):
        raise Rejected(f"{prefix}.{spec.primary_metric}", f"the primary metric of {spec.name} is missing", where)
    if status == "reported":
        for mean, parts in MEAN_RECALL_PARTS.values():
            if mean in metrics and all(p in metrics for p in parts):
                expected = sum(metrics[p] for p in parts) / len(parts)
                if abs(metrics[mean] - expected) > MEAN_TOLERANCE:
                    raise Rejected(
                        f"{prefix}.{mean}",
                        f"{metrics[mean]} is not the mean of {'/'.join(parts)} ({expected:.2f})",
                        where,
                    )


ENTRY_FIELDS = {
    "task": "task",
    "task_version": "task_version",
    "split": "split",
    "metrics": "metrics",
    "mean_recall": "mean_recall",
    "fine_tuned_on": "fine_tuned_on",
    "setting": "setting",
    "protocol": "protocol",
}
RESULT_FIELDS = {
    "task": "task.name",
    "task_version": "task.version",
    "split": "task.split",
    "metrics": "metrics",
    "mean_recall": "mean_recall",
    "fine_tuned_on": "model.fine_tuned_on",
    "setting": "setting",
    "protocol": "classification",
}


def check_entry_semantics(
    entry: Entry, where: str | Path, prefix: str, names: dict[str, str] = ENTRY_FIELDS, status: str | None = None
) -> TaskSpec:
    """Checks of an entry against the task definitions (used by submit and by build); ``names`` maps the entry's
    fields to the field names the message uses (those of a Result for a submission)."""
    f = {k: f"{prefix}.{v}" if prefix else v for k, v in names.items()}
    spec = known_task(entry.task, where, f["task"])
    if entry.task_version != spec.version:
        raise Rejected(
            f["task_version"],
            f"{entry.task_version!r} is not the current version {spec.version!r} of task {spec.name}",
            where,
        )
    if entry.split != spec.default_split:
        raise Rejected(
            f["split"],
            f"the leaderboard takes the evaluation split {spec.default_split!r} of {spec.name}, got {entry.split!r}",
            where,
        )
    check_metrics(entry.metrics, spec, where, f["metrics"], status or entry.status)
    expected_mr = spec.mean_recall if spec.kind is TaskKind.retrieval else None
    if entry.mean_recall != expected_mr:
        got = entry.mean_recall.value if entry.mean_recall else None
        raise Rejected(
            f["mean_recall"],
            f"{got!r} is not the mean recall of {spec.name} ({expected_mr.value if expected_mr else None!r})",
            where,
        )
    if entry.setting == "fine-tuned" and entry.fine_tuned_on != spec.name:
        raise Rejected(
            f["fine_tuned_on"],
            f"a fine-tuned result on {spec.name} must be tuned on "
            f"{spec.name}'s train split, got {entry.fine_tuned_on!r}",
            where,
        )
    if entry.setting == "zero-shot" and entry.fine_tuned_on == spec.name:
        raise Rejected(f["setting"], f"the model was fine-tuned on {spec.name}: the setting is fine-tuned", where)
    check_protocol(entry, spec, where, f["protocol"])
    return spec


def check_protocol(entry: Entry, spec: TaskSpec, where: str | Path, field: str) -> None:
    """A classification entry names its protocol ("not stated" allowed for published numbers); others have none."""
    if spec.kind is TaskKind.classification:
        if entry.protocol is None:
            raise Rejected(
                field,
                f"{spec.name} is a classification task: its entries name the protocol (class names and templates: "
                f"cn_clip or clip_benchmark, or {NOT_STATED!r} where a published source does not say)",
                where,
            )
        if entry.status == "re-scored" and entry.classification is None:
            raise Rejected(field, "a re-scored classification entry keeps its Result's classification record", where)
    elif entry.protocol is not None or entry.classification is not None:
        raise Rejected(field, f"{spec.name} is a {spec.kind.value} task: it has no classification protocol", where)


def official_checksums(root: Path) -> dict[str, str]:
    """``leaderboard/checksums.json``: ``{"<task>/<version>/<split>": sha256}`` of the official annotation files."""
    path = root / "checksums.json"
    if not path.is_file():
        return {}
    raw = load_json(path)
    sums = raw.get("checksums") if isinstance(raw, dict) else None
    if not isinstance(sums, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and re.match(_HEX64, v) for k, v in sums.items()
    ):
        raise Rejected("checksums", 'expected {"checksums": {"task/version/split": "<sha256>"}}', path)
    return sums


def dump_model_file(model_file: ModelFile) -> str:
    data = model_file.model_dump(mode="json")
    if not data["model"]["training_corpora"]:  # a card without declared corpora keeps its earlier format
        del data["model"]["training_corpora"]
    for entry in data["entries"]:  # retrieval / matching entries keep the format they had before classification
        if entry["protocol"] is None and entry["classification"] is None:
            del entry["protocol"], entry["classification"]
    data["entries"] = sorted(data["entries"], key=lambda e: (e["task"], e["split"], e["setting"], e["status"]))
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
