"""``zero-bench submit``: validate a Result (or a bundle), re-score its predictions and store it.

Input, either

* a Result JSON as ``zero-bench evaluate`` writes it, with ``--predictions FILE`` (re-scored) or without
  (stored as "reported", not re-scored); or
* a bundle: ``{"format": "zero-bench-bundle/1", "entries": [{"result": {<Result>}, "predictions":
  "<file relative to the bundle's folder>" | null}, ...]}``, several tasks / settings of ONE model.

Every check runs before anything is written; a rejection is one line naming the field.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import ValidationError

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import atomic_path, atomic_write_text, inside_root, sha256_file
from zero_bench.formats.canonical import ClassificationData, MatchingData, RetrievalData
from zero_bench.leaderboard.schema import (
    BUNDLE_FORMAT,
    MAX_ENTRIES,
    RESCORE_TOLERANCE,
    RESULT_FIELDS,
    Entry,
    ModelCard,
    ModelFile,
    Rejected,
    check_entry_semantics,
    check_raw,
    confusable_with,
    dump_model_file,
    first_error,
    known_task,
    load_json,
    normalise_name,
    official_checksums,
    predictions_name,
    slugify,
)
from zero_bench.predictions import MAX_PREDICTIONS_BYTES
from zero_bench.results import Result
from zero_bench.taskspec import TaskSpec

SplitCache = dict[tuple[str, str], RetrievalData | MatchingData | ClassificationData]

LOCK_NAME = ".submit.lock"
LOCK_TIMEOUT_S = 60  # a submit holds the lock for milliseconds (merge and write); longer means a stuck process


@dataclass
class Candidate:
    result: Result
    predictions: Path | None
    field: str  # prefix for messages: "" for a single Result, "entries[i].result" in a bundle


@dataclass
class SubmitOutcome:
    path: Path
    slug: str
    stored: list[Entry]
    replaced: list[Entry]


def default_root() -> Path:
    """The ``leaderboard/`` folder (one holding ``submissions/``) of the working tree: the current folder or the
    nearest folder above it that has one."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        for candidate in (folder, folder / "leaderboard"):
            if (candidate / "submissions").is_dir() and candidate.name == "leaderboard":
                return candidate
    raise ZeroBenchError(f"{here}: no leaderboard/submissions/ folder here or above; pass --root")


def _parse(path: Path, predictions: Path | None) -> list[Candidate]:
    raw = load_json(path)
    check_raw(raw, path)
    if isinstance(raw, dict) and "format" in raw:  # a Result has no "format" field
        if raw.get("format") != BUNDLE_FORMAT:
            raise Rejected("format", f"expected {BUNDLE_FORMAT!r}, got {raw.get('format')!r}", path)
        if predictions is not None:
            raise Rejected("--predictions", "not used with a bundle: name each file in entries[i].predictions", path)
        extra = sorted(set(raw) - {"format", "entries"})
        if extra:
            raise Rejected(extra[0], "unknown field in a bundle", path)
        entries = raw["entries"]
        if not isinstance(entries, list) or not entries:
            raise Rejected("entries", "a bundle lists at least one entry", path)
        if len(entries) > MAX_ENTRIES:
            raise Rejected("entries", f"more than {MAX_ENTRIES} entries", path)
        out = []
        for index, item in enumerate(entries):
            prefix = f"entries[{index}]"
            if not isinstance(item, dict) or "result" not in item or set(item) - {"result", "predictions"}:
                raise Rejected(prefix, 'expected {"result": {...}, "predictions": "file" | null}', path)
            pred = item.get("predictions")
            pred_path = None
            if pred is not None:
                pure = PurePosixPath(pred) if isinstance(pred, str) else None
                if pure is None or not pred or pure.is_absolute() or ".." in pure.parts or "\\" in pred:
                    raise Rejected(f"{prefix}.predictions", "must be a relative path inside the bundle's folder", path)
                pred_path = path.parent / pure
            out.append(Candidate(_result(item["result"], path, f"{prefix}.result"), pred_path, f"{prefix}.result"))
        return out
    return [Candidate(_result(raw, path, ""), predictions, "")]


def _result(raw: object, where: Path, prefix: str) -> Result:
    if not isinstance(raw, dict):
        raise Rejected(prefix or "(top level)", "expected a Result JSON object", where)
    try:
        return Result.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        raise Rejected(*first_error(exc, prefix), where) from exc


def _card(result: Result, where: Path, prefix: str) -> ModelCard:
    info = result.model
    p = f"{prefix}.model" if prefix else "model"
    if info.random_init:
        raise Rejected(f"{p}.random_init", "a random-init result cannot go on the leaderboard", where)
    for field in ("organisation", "link"):
        value = getattr(info, field)
        if value is None or not value.strip():
            raise Rejected(f"{p}.{field}", "required for the leaderboard (model card)", where)
    if not info.training_data.strip():
        raise Rejected(f"{p}.training_data", "required for the leaderboard (declared pre-training data)", where)
    if not info.name.strip():
        raise Rejected(f"{p}.name", "must not be blank", where)
    try:
        return ModelCard(
            name=normalise_name(info.name),
            organisation=info.organisation or "",  # checked non-blank above
            link=info.link or "",
            parameters=info.parameters,
            training_data=info.training_data,
            training_corpora=list(info.training_corpora),
            checkpoint=info.checkpoint,
        )
    except ValidationError as exc:
        field, msg = first_error(exc, p)
        if field.endswith(".parameters"):
            msg = "must be a positive number of parameters"
        if field.endswith(".link"):
            msg = "must be an http(s) URL without spaces"
        raise Rejected(field, msg, where) from exc


def _rescore(
    cand: Candidate,
    spec: TaskSpec,
    data_dir: Path | None,
    where: Path,
    data_cache: SplitCache,
) -> tuple[dict[str, float], str]:
    from zero_bench.formats import load_split
    from zero_bench.predictions import score_predictions

    p = f"{cand.field}." if cand.field else ""
    pf = cand.field.removesuffix(".result") + ".predictions" if cand.field else "--predictions"
    pred = cand.predictions
    if pred is None or not pred.is_file():
        raise Rejected(pf, f"file {pred} not found", where)
    size = pred.stat().st_size
    if size > MAX_PREDICTIONS_BYTES:
        raise Rejected(pf, f"{size} bytes is larger than the limit of {MAX_PREDICTIONS_BYTES}", where)
    digest = sha256_file(pred)
    if cand.result.predictions_sha256 is not None and cand.result.predictions_sha256 != digest:
        raise Rejected(
            f"{p}predictions_sha256",
            f"{cand.result.predictions_sha256} does not match the predictions file {pred.name} ({digest})",
            where,
        )
    key = (spec.name, cand.result.task.split)
    if key not in data_cache:
        try:
            data_cache[key] = load_split(spec, data_dir, cand.result.task.split)
        except ZeroBenchError as exc:
            raise Rejected(f"{p}task", f"cannot load the annotations to re-score against: {exc}", where) from exc
    data = data_cache[key]
    if cand.result.task.annotation_sha256 != data.annotation_sha256:
        raise Rejected(
            f"{p}task.annotation_sha256",
            f"{cand.result.task.annotation_sha256} differs from the checksum "
            f"{data.annotation_sha256} of the annotations the leaderboard "
            f"re-scores against ({data.source or data_dir})",
            where,
        )
    try:
        rescored = score_predictions(spec, data, pred)
    except ZeroBenchError as exc:
        raise Rejected(pf, str(exc), where) from exc
    except ValueError as exc:
        raise Rejected(pf, f"{pred}: cannot be scored: {exc}", where) from exc
    for name, value in cand.result.metrics.items():
        if name not in rescored:
            raise Rejected(f"{p}metrics.{name}", f"reported {value} but the predictions give no {name}", where)
        if abs(value - rescored[name]) > RESCORE_TOLERANCE:
            raise Rejected(
                f"{p}metrics.{name}",
                f"reported {value} but the predictions score {rescored[name]:.4f} (tolerance {RESCORE_TOLERANCE})",
                where,
            )
    return rescored, digest


def submit(
    result_path: str | Path,
    predictions: str | Path | None = None,
    *,
    replace: bool = False,
    data_dir: str | Path | None = None,
    root: str | Path | None = None,
) -> SubmitOutcome:
    """Validate, re-score and store; raises :class:`Rejected` (nothing written) on any problem."""
    where = Path(result_path)
    board = Path(root) if root is not None else default_root()
    candidates = _parse(where, Path(predictions) if predictions is not None else None)
    card = _one_card(candidates, where)
    checksums = official_checksums(board)
    prepared = _prepare_entries(candidates, card, where, checksums, Path(data_dir) if data_dir is not None else None)
    slug = slugify(card.name)
    with _submissions_lock(board):  # read, merge and write the model file as one step among concurrent submits
        target = inside_root(board, f"submissions/{slug}.json")
        _check_name(board, card, where)
        entries, replaced = _merge(target, card, [entry for entry, _ in prepared], replace, where)
        _store(board, target, ModelFile(model=card, entries=entries), prepared)
    return SubmitOutcome(path=target, slug=slug, stored=[entry for entry, _ in prepared], replaced=replaced)


def _one_card(candidates: list[Candidate], where: Path) -> ModelCard:
    """The model card, identical in every entry of a bundle."""
    card = _card(candidates[0].result, where, candidates[0].field)
    for cand in candidates[1:]:
        this_card = _card(cand.result, where, cand.field)
        if this_card != card:
            diff = next(f for f in ModelCard.model_fields if getattr(this_card, f) != getattr(card, f))
            raise Rejected(
                f"{cand.field}.model.{diff}", "a bundle holds one model: the card differs from entries[0]", where
            )
    return card


def _check_task(cand: Candidate, where: Path, checksums: dict[str, str]) -> TaskSpec:
    """The task, version, split and annotation checksum of a candidate against the task definitions."""
    r = cand.result
    p = f"{cand.field}." if cand.field else ""
    spec = known_task(r.task.name, where, f"{p}task.name")
    if r.task.version != spec.version:
        raise Rejected(
            f"{p}task.version",
            f"{r.task.version!r} is not the current version {spec.version!r} of task {spec.name}",
            where,
        )
    if r.task.split not in spec.splits:
        raise Rejected(f"{p}task.split", f"task {spec.name} has no split {r.task.split!r}", where)
    official = checksums.get(f"{spec.name}/{spec.version}/{r.task.split}")
    if official is not None and r.task.annotation_sha256 != official:
        raise Rejected(
            f"{p}task.annotation_sha256",
            f"{r.task.annotation_sha256} is not the official checksum {official} of {spec.name}/{r.task.split}",
            where,
        )
    return spec


def _entry_fields(cand: Candidate, spec: TaskSpec, status: str) -> dict[str, Any]:
    r = cand.result
    return dict(
        task=spec.name,
        task_version=r.task.version,
        split=r.task.split,
        annotation_sha256=r.task.annotation_sha256,
        setting=r.setting,
        fine_tuned_on=r.model.fine_tuned_on,
        status=status,
        metrics=dict(r.metrics),
        mean_recall=r.mean_recall,
        rerank_top_k=r.rerank_top_k,
        num_queries=r.num_queries,
        checkpoint_sha256=r.model.checkpoint_sha256,
        run=r.run,
        source="submitted Result JSON without predictions (not re-scored)",
        protocol=r.classification.protocol if r.classification is not None else None,
        classification=r.classification,
    )


def _prepare_entries(
    candidates: list[Candidate], card: ModelCard, where: Path, checksums: dict[str, str], data_dir: Path | None
) -> list[tuple[Entry, Path | None]]:
    """Each candidate checked (and re-scored when it has predictions) into an entry, with its predictions file."""
    from zero_bench.version import __version__

    slug = slugify(card.name)
    out: list[tuple[Entry, Path | None]] = []
    data_cache: SplitCache = {}
    seen: set[tuple[str, str, str, str]] = set()
    for cand in candidates:
        r = cand.result
        p = f"{cand.field}." if cand.field else ""
        spec = _check_task(cand, where, checksums)
        status = "re-scored" if cand.predictions is not None else "reported"
        fields = _entry_fields(cand, spec, status)
        try:  # field checks before the (costly) re-scoring; the submitted numbers must be consistent
            entry = Entry(**{**fields, "status": "reported"})
        except ValidationError as exc:
            raise Rejected(*first_error(exc, cand.field), where) from exc
        check_entry_semantics(entry, where, cand.field, RESULT_FIELDS, status)
        key = (spec.name, r.task.split, r.setting, status)
        if key in seen:
            raise Rejected(
                f"{p}task.name",
                f"the bundle has two {status} {r.setting} entries for {spec.name}/{r.task.split}",
                where,
            )
        seen.add(key)
        if cand.predictions is None:
            out.append((Entry(**fields), None))
            continue
        rescored, digest = _rescore(cand, spec, data_dir, where, data_cache)
        entry = Entry(
            **{
                **fields,
                "metrics": rescored,
                "predictions_sha256": digest,
                "predictions_file": predictions_name(slug, spec.name, r.task.split, r.setting),
                "source": f"re-scored by zero-bench {__version__} from the submitted predictions",
            }
        )
        out.append((entry, cand.predictions))
    return out


@contextlib.contextmanager
def _submissions_lock(board: Path) -> Iterator[None]:
    from filelock import FileLock, Timeout

    folder = inside_root(board, "submissions")
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_NAME), timeout=LOCK_TIMEOUT_S)
    try:
        lock.acquire()
    except Timeout as exc:
        raise ZeroBenchError(
            f"{folder / LOCK_NAME}: another submit has held the lock for {LOCK_TIMEOUT_S} s; try again"
        ) from exc
    try:
        yield
    finally:
        lock.release()


def _check_name(board: Path, card: ModelCard, where: Path) -> None:
    """Refuse a name that can be mistaken for another model's (look-alike letters, case)."""
    names = []
    for path in sorted((board / "submissions").glob("*.json")):
        if path.is_symlink():
            continue
        try:
            raw = load_json(path)
        except Rejected:
            continue  # the build reports a damaged file; it cannot hold a name to confuse
        name = (
            raw.get("model", {}).get("name") if isinstance(raw, dict) and isinstance(raw.get("model"), dict) else None
        )
        if isinstance(name, str):
            names.append(name)
    other = confusable_with(card.name, names)
    if other is not None:
        raise Rejected(
            "model.name",
            f"{card.name!r} can be mistaken for the existing model {other!r}; use that exact name or a distinct one",
            where,
        )


def _merge(
    target: Path, card: ModelCard, new_entries: list[Entry], replace: bool, where: Path
) -> tuple[list[Entry], list[Entry]]:
    """The model file's entries after adding ``new_entries`` (and the entries they replace)."""
    if not target.exists():
        return new_entries, []
    old = read_model_file(target)
    if old.model.name != card.name:
        raise Rejected(
            "model.name",
            f"{card.name!r} maps to the file {target.name}, which belongs to another "
            f"model ({old.model.name!r}); choose a distinct name",
            where,
        )
    if old.model != card and not replace:
        diff = next(f for f in ModelCard.model_fields if getattr(old.model, f) != getattr(card, f))
        raise Rejected(
            f"model.{diff}", f"differs from the stored card of {card.name!r}; pass --replace to update it", where
        )
    by_key = {e.key: e for e in old.entries}
    replaced: list[Entry] = []
    for entry in new_entries:
        if entry.key in by_key:
            if not replace:
                raise Rejected(
                    "task",
                    f"{card.name!r} already has a {entry.status} {entry.setting} entry for "
                    f"{entry.task}/{entry.split}; pass --replace to replace it",
                    where,
                )
            replaced.append(by_key[entry.key])
        by_key[entry.key] = entry
    return list(by_key.values()), replaced


def _store(board: Path, target: Path, model_file: ModelFile, prepared: list[tuple[Entry, Path | None]]) -> None:
    """Every check passed: copy the predictions, then write the model file (each atomically, never via a link)."""
    text = dump_model_file(model_file)
    written: list[Path] = []
    try:
        for entry, source in prepared:
            if source is None or entry.predictions_file is None:
                continue
            dest = inside_root(board, f"submissions/{entry.predictions_file}")
            with atomic_path(dest) as tmp:
                shutil.copyfile(source, tmp)
            written.append(dest)
        atomic_write_text(target, text)
    except BaseException:
        for dest in written:
            dest.unlink(missing_ok=True)
        raise


def read_model_file(path: Path) -> ModelFile:
    raw = load_json(path)
    try:
        return ModelFile.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        raise Rejected(*first_error(exc), path) from exc
