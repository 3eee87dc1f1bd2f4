"""Class names and prompt templates for zero-shot classification, by protocol.

Two published protocols, loaded from the packages that publish their lists (nothing is copied here):

* ``cn_clip``: Chinese-CLIP's ``zeroshot_evaluation.py``: the set's own ``label_cn.txt`` (for ImageNet the
  ``datasets/ImageNet-1K/label_cn.txt`` of its repository, fetched by ``zero-bench download imagenet-cn``), the
  template list its script picks for the set (``openai_templates``, 183 prompts, for every set without its own;
  ``cn_clip_templates`` in the task file), each prompt passed through its ``_preprocess_text`` (lower case,
  curly quotes to straight) as the script does before tokenising.
* ``clip_benchmark``: CLIP_benchmark's ``cn`` language: its ``cn_classnames.json`` where it has names for the set
  (ImageNet only; other sets keep their ``label_cn.txt``, recorded as such) and its 80 Chinese templates.

``--templates FILE`` replaces the protocol's templates: a JSON list of templates with the placeholder ``{c}``
(``{}`` accepted) or a JSON object class name -> prompts (CuPL style).  Every choice is recorded in the Result.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from zero_bench.errors import DataFormatError, ZeroBenchError
from zero_bench.formats.canonical import ClassificationData
from zero_bench.taskspec import TaskKind, TaskSpec

Protocol = Literal["cn_clip", "clip_benchmark"]
PROTOCOLS: tuple[str, ...] = ("cn_clip", "clip_benchmark")
PLACEHOLDER = "{c}"
_CLIP_BENCHMARK_TEMPLATE_SET = "imagenet1k"  # the key of its one Chinese template list


class ClassificationProtocol(BaseModel):
    """What decided a classification number besides the model and the images (recorded in every Result)."""

    model_config = ConfigDict(extra="forbid")

    protocol: Protocol
    class_names_source: str
    class_names_sha256: str
    templates_source: str
    templates_sha256: str
    prompts_per_class: int | None = None  # None: it varies (a class -> prompts file)
    text_preprocessing: str | None = None


@dataclass(frozen=True)
class ClassPrompts:
    """The prompts of each class (``prompts[i]`` for class id i) and the record of where they came from."""

    prompts: list[list[str]]
    record: ClassificationProtocol

    def flat(self) -> tuple[list[str], list[int]]:
        """Every prompt once, in class order, and the class id of each."""
        texts = [p for group in self.prompts for p in group]
        owners = [i for i, group in enumerate(self.prompts) for _ in group]
        return texts, owners


def _sha256_json(value: object) -> str:
    return hashlib.sha256(json.dumps(value, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _need(module: str, extra: str) -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise ZeroBenchError(f"this protocol needs the {module} package: pip install 'zero-bench[{extra}]'")


def _clip_benchmark_json(name: str) -> dict:
    _need("clip_benchmark", "classification")
    return json.loads(resources.files("clip_benchmark.datasets").joinpath(name).read_text(encoding="utf-8"))


def _cn_clip_templates(name: str) -> list[str]:
    _need("cn_clip", "cn_clip")
    from cn_clip.eval import cvinw_zeroshot_templates as published

    templates = getattr(published, name, None)
    if not isinstance(templates, list):
        raise ZeroBenchError(f"cn_clip.eval.cvinw_zeroshot_templates has no template list {name!r}")
    return [template(PLACEHOLDER) for template in templates]  # its templates are f-string lambdas


def _cn_clip_text(text: str) -> str:
    from cn_clip.eval.data import _preprocess_text

    return _preprocess_text(text)


def class_names(spec: TaskSpec, data: ClassificationData, protocol: str) -> tuple[list[str], str]:
    """The protocol's class names for the set, in class-id order, and where they come from."""
    if protocol == "clip_benchmark" and spec.clip_benchmark_dataset is not None:
        names = _clip_benchmark_json("cn_classnames.json")[spec.clip_benchmark_dataset]
        source = f"clip_benchmark cn_classnames.json[{spec.clip_benchmark_dataset}]"
    else:
        if data.class_names is None:
            raise ZeroBenchError(
                f"{spec.name}: protocol {protocol} reads the class names from {spec.labels}, which is missing; "
                f"run 'zero-bench download {spec.dataset}'"
            )
        names, source = data.class_names, f"{spec.name} {spec.labels}"
    if len(names) != data.num_classes:
        raise ZeroBenchError(f"{spec.name}: {source} has {len(names)} class names for {data.num_classes} classes")
    return list(names), source


def protocol_templates(spec: TaskSpec, protocol: str) -> tuple[list[str], str]:
    if protocol == "cn_clip":
        return _cn_clip_templates(spec.cn_clip_templates), f"cn_clip cvinw_zeroshot_templates.{spec.cn_clip_templates}"
    templates = _clip_benchmark_json("cn_zeroshot_classification_templates.json")[_CLIP_BENCHMARK_TEMPLATE_SET]
    return list(templates), f"clip_benchmark cn_zeroshot_classification_templates.json[{_CLIP_BENCHMARK_TEMPLATE_SET}]"


def read_templates_file(path: Path) -> list[str] | dict[str, list[str]]:
    """A ``--templates`` file: a list of templates (``{c}`` or ``{}``) or an object class name -> prompts."""
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataFormatError(path, f"cannot read the templates file: {exc.strerror}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(path, f"not a JSON file: {exc}") from exc
    if isinstance(value, list):
        if not value or not all(isinstance(t, str) for t in value):
            raise DataFormatError(path, "a templates list must hold at least one string")
        bad = [t for t in value if PLACEHOLDER not in t and "{}" not in t]
        if bad:
            raise DataFormatError(path, f"template {bad[0]!r} has no placeholder {{c}} or {{}}")
        return [t if PLACEHOLDER in t else t.replace("{}", PLACEHOLDER) for t in value]
    if isinstance(value, dict):
        for name, prompts in value.items():
            if not isinstance(prompts, list) or not prompts or not all(isinstance(p, str) for p in prompts):
                raise DataFormatError(path, f"class {name!r}: prompts must be a non-empty list of strings")
        return value
    raise DataFormatError(path, "expected a JSON list of templates or an object class name -> prompts")


def check_options(spec: TaskSpec, protocol: str, templates: str | Path | None, tie_rule: str = "index") -> None:
    """Refuse what a classification run of ``spec`` cannot take, before any model work: an unknown protocol, a
    protocol or templates file for a task that is not classification, a broken templates file, a tie rule other
    than ``index``."""
    if protocol not in PROTOCOLS:
        raise ZeroBenchError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    if spec.kind is not TaskKind.classification:
        flags = [*(["--protocol"] if protocol != PROTOCOLS[0] else []), *(["--templates"] if templates else [])]
        if flags:
            raise ZeroBenchError(
                f"{' and '.join(flags)}: for classification tasks only; {spec.name} is {spec.kind.value}"
            )
        return
    if templates is not None:
        read_templates_file(Path(templates))
    if tie_rule != "index":
        raise ZeroBenchError(f"{spec.name}: classification ranks equal scores by ascending class id (--tie-rule index)")


def _fill(names: list[str], templates: list[str] | dict[str, list[str]], source: str) -> list[list[str]]:
    if isinstance(templates, dict):
        missing = [n for n in names if n not in templates]
        if missing:
            raise ZeroBenchError(f"{source}: no prompts for class {missing[0]!r} ({len(missing)} classes missing)")
        return [list(templates[n]) for n in names]
    return [[t.replace(PLACEHOLDER, name) for t in templates] for name in names]


def class_prompts(
    spec: TaskSpec, data: ClassificationData, protocol: str, templates_file: str | Path | None = None
) -> ClassPrompts:
    """The prompts of every class of ``data`` under ``protocol`` (and ``templates_file``, if given)."""
    if protocol not in PROTOCOLS:
        raise ZeroBenchError(f"unknown protocol {protocol!r}; protocols: {', '.join(PROTOCOLS)}")
    names, names_source = class_names(spec, data, protocol)
    templates: list[str] | dict[str, list[str]]
    if templates_file is not None:
        templates = read_templates_file(Path(templates_file))
        from zero_bench.fileio import sha256_file

        templates_source, templates_sha = f"file {Path(templates_file).name}", sha256_file(templates_file)
    else:
        templates, templates_source = protocol_templates(spec, protocol)
        templates_sha = _sha256_json(templates)
    prompts = _fill(names, templates, templates_source)
    preprocessing = None
    if protocol == "cn_clip":
        # The cn_clip adapter applies the same function to every text it embeds; twice is the same as once.
        prompts = [[_cn_clip_text(p) for p in group] for group in prompts]
        preprocessing = "cn_clip.eval.data._preprocess_text"
    sizes = {len(group) for group in prompts}
    record = ClassificationProtocol(
        protocol=protocol,  # type: ignore[arg-type]  # checked against PROTOCOLS above
        class_names_source=names_source,
        class_names_sha256=_sha256_json(names),
        templates_source=templates_source,
        templates_sha256=templates_sha,
        prompts_per_class=sizes.pop() if len(sizes) == 1 else None,
        text_preprocessing=preprocessing,
    )
    return ClassPrompts(prompts, record)
