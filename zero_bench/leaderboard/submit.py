"""``zero-bench submit``: validate a Result (or a bundle), re-score its predictions and store it.

Input, either

* a Result JSON as ``zero-bench evaluate`` writes it, with ``--predictions FILE`` (re-scored) or without
  (stored as "reported", not re-scored); or
* a bundle: ``{"format": "zero-bench-bundle/1", "entries": [{"result": {<Result>}, "predictions":
  "<file relative to the bundle's folder>" | null}, ...]}``, several tasks / settings of ONE model.

Every check runs before anything is written; a rejection is one line naming the field.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pydantic import ValidationError

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import atomic_path, atomic_write_text, sha256_file
from zero_bench.leaderboard.schema import (
    BUNDLE_FORMAT,
    MAX_ENTRIES,
    MAX_PREDICTIONS_BYTES,
    RESCORE_TOLERANCE,
    RESULT_FIELDS,
    Entry,
    ModelCard,
    ModelFile,
    Rejected,
    check_entry_semantics,
    check_raw,
    dump_model_file,
    first_error,
    known_task,
    load_json,
    official_checksums,
    predictions_name,
    slugify,
)
from zero_bench.results import Result


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
    """The repository's ``leaderboard/`` folder (editable install), else ``./leaderboard``."""
    repo = Path(__file__).resolve().parents[2] / "leaderboard"
    return repo if repo.is_dir() else Path.cwd() / "leaderboard"


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
            name=info.name,
            organisation=info.organisation,
            link=info.link,
            parameters=info.parameters,
            training_data=info.training_data,
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
    cand: Candidate, spec, data_dir: Path | None, where: Path, checksums: dict[str, str], data_cache: dict
) -> tuple[dict[str, float], str]:
    from zero_bench.formats import load_split
    from zero_bench.predictions import score_predictions

    p = f"{cand.field}." if cand.field else ""
    pf = cand.field.removesuffix(".result") + ".predictions" if cand.field else "--predictions"
    pred = cand.predictions
    assert pred is not None
    if not pred.is_file():
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
    from zero_bench.version import __version__

    where = Path(result_path)
    root = Path(root) if root is not None else default_root()
    data_dir = Path(data_dir) if data_dir is not None else None
    candidates = _parse(where, Path(predictions) if predictions is not None else None)
    checksums = official_checksums(root)

    card: ModelCard | None = None
    new_entries: list[Entry] = []
    copies: list[tuple[Path, str]] = []  # (source predictions, stored name)
    data_cache: dict = {}
    seen: set[tuple] = set()
    for cand in candidates:
        r = cand.result
        p = f"{cand.field}." if cand.field else ""
        this_card = _card(r, where, cand.field)
        if card is None:
            card = this_card
        elif this_card != card:
            diff = next(f for f in ModelCard.model_fields if getattr(this_card, f) != getattr(card, f))
            raise Rejected(f"{p}model.{diff}", "a bundle holds one model: the card differs from entries[0]", where)
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
        status = "re-scored" if cand.predictions is not None else "reported"
        slug = slugify(card.name)
        entry_fields = dict(
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
        )
        try:  # field checks before the (costly) re-scoring; the submitted numbers must be consistent
            entry = Entry(**{**entry_fields, "status": "reported"})
        except ValidationError as exc:
            raise Rejected(*first_error(exc, cand.field), where) from exc
        check_entry_semantics(entry, where, cand.field, RESULT_FIELDS, status)
        if status == "reported":
            entry = Entry(**entry_fields)
        key = (spec.name, r.task.split, r.setting, status)
        if key in seen:
            raise Rejected(
                f"{p}task.name",
                f"the bundle has two {status} {r.setting} entries for {spec.name}/{r.task.split}",
                where,
            )
        seen.add(key)
        if status == "re-scored":
            rescored, digest = _rescore(cand, spec, data_dir, where, checksums, data_cache)
            name = predictions_name(slug, spec.name, r.task.split, r.setting)
            entry = Entry(
                **{
                    **entry_fields,
                    "metrics": rescored,
                    "predictions_sha256": digest,
                    "predictions_file": name,
                    "source": f"re-scored by zero-bench {__version__} from the submitted predictions",
                }
            )
            copies.append((cand.predictions, name))
        new_entries.append(entry)

    assert card is not None
    slug = slugify(card.name)
    target = root / "submissions" / f"{slug}.json"
    replaced: list[Entry] = []
    if target.exists():
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
        entries = list(by_key.values())
    else:
        entries = new_entries
    text = dump_model_file(ModelFile(model=card, entries=entries))

    # Every check passed: write the predictions copies, then the model file (atomically).
    written: list[Path] = []
    try:
        for source, name in copies:
            dest = root / "submissions" / name
            with atomic_path(dest) as tmp:
                shutil.copyfile(source, tmp)
            written.append(dest)
        atomic_write_text(target, text)
    except BaseException:
        for dest in written:
            dest.unlink(missing_ok=True)
        raise
    return SubmitOutcome(path=target, slug=slug, stored=new_entries, replaced=replaced)


def read_model_file(path: Path) -> ModelFile:
    raw = load_json(path)
    try:
        return ModelFile.model_validate_json(json.dumps(raw), strict=True)
    except ValidationError as exc:
        raise Rejected(*first_error(exc), path) from exc
