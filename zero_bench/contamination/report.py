"""The audit report (JSON), its Markdown summary, the cleaned id lists and the corpus keys to exclude."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zero_bench.contamination.images import WORK_SIDE
from zero_bench.errors import DataFormatError
from zero_bench.fileio import atomic_write_text

if TYPE_CHECKING:  # the report is read without the audit's libraries (the leaderboard build reads it)
    from zero_bench.contamination.evalside import EvalIndex
    from zero_bench.contamination.scan import Found

KINDS = ("images", "texts", "pairs")

FORMAT = "zero-bench-contamination/1"


def _ids(index: EvalIndex, kind: str, unit: int) -> list[str]:
    u = index.units[unit]
    return {"images": u.image_ids, "texts": u.text_ids, "pairs": u.pair_ids}[kind]


def _refs(index: EvalIndex, kind: str) -> list[tuple[int, int]]:
    return {"images": index.image_ref, "texts": index.text_ref, "pairs": index.pair_ref}[kind]


def build_report(index: EvalIndex, found: Found, corpus: dict, seconds: float) -> dict:
    """``tasks.<task>.<split>.<images|texts|pairs>`` = {total, count, rate, corpus_rows, matches}."""
    tasks: dict[str, dict] = {}
    blocks: dict[tuple[int, str], dict[str, Any]] = {
        (u, kind): {"total": len(_ids(index, kind, u)), "count": 0, "corpus_rows": 0, "matches": []}
        for u in range(len(index.units))
        for kind in KINDS
    }
    for kind in KINDS:
        for g, (unit, position) in enumerate(_refs(index, kind)):
            count, matches = found.matches(kind, g)
            if not count:
                continue
            block = blocks[(unit, kind)]
            block["count"] += 1
            block["corpus_rows"] += count
            eval_id = _ids(index, kind, unit)[position]
            for m in matches:
                block["matches"].append(
                    {"eval_id": eval_id, "corpus_key": m.corpus_key, "kind": m.kind, "distance": m.distance}
                    | dict(m.detail)
                )
    for (u, kind), block in blocks.items():
        spec = index.units[u]
        block["rate"] = round(block["count"] / block["total"], 6) if block["total"] else 0.0
        split = tasks.setdefault(spec.task, {}).setdefault(spec.split, {"annotation_sha256": spec.annotation_sha256})
        split[kind] = {k: block[k] for k in ("total", "count", "rate", "corpus_rows", "matches")}
    return {
        "format": FORMAT,
        "corpus": corpus,
        "thresholds": index.thresholds.as_dict(),
        "rows_scanned": found.rows,
        "undecodable_images": found.undecodable,
        "seconds": round(seconds, 2),
        "tasks": tasks,
        # all matching corpus rows, for load_clean_corpus: rows holding an evaluation image, and rows
        # holding only an evaluation text
        "corpus_rows": {
            "images": sorted(found.keys["images"]),
            "texts": sorted(found.keys["texts"] - found.keys["images"]),
        },
    }


def write_report(report: dict, path: str | Path) -> tuple[Path, Path]:
    """``path`` (JSON) and the Markdown summary beside it (same name, ``.md``)."""
    path = Path(path)
    markdown = path.with_suffix(".md")
    atomic_write_text(path, json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    atomic_write_text(markdown, summary(report))
    return path, markdown


def read_report(path: str | Path) -> dict:
    path = Path(path)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(path, f"cannot read contamination report: {exc}") from exc
    if not isinstance(report, dict) or report.get("format") != FORMAT:
        raise DataFormatError(path, f"not a contamination report (format is not {FORMAT!r})")
    if not isinstance(report.get("tasks"), dict) or not isinstance(report.get("corpus"), dict):
        raise DataFormatError(path, "contamination report without 'tasks' or 'corpus'")
    return report


def _cell(block: dict) -> str:
    return f"{block['count']} / {block['total']} ({100 * block['rate']:.2f}%)"


def _descriptor_line(block: dict | None) -> str:
    if not block:
        return ""
    cal = block["calibration"]
    how = (
        f"calibrated: at most {100 * cal['false_positive_target']:g}% of {cal['unrelated_rows']} unrelated corpus "
        f"rows above it (measured {100 * cal['false_positive_rate']:.2f}%)"
        if "threshold" in cal
        else cal["method"]
    )
    return (
        f"  Also near images: cosine at least {block['threshold']:.8g} between `{block['model']}` image embeddings "
        f"(mirrors included; {how}), new matches: {block['near_image_matches']}."
    )


def _second_look_line(th: dict) -> str:
    """How near misses were looked at again (reports from before the second look have none)."""
    factor = th.get("image_second_look", 1.0)
    if factor <= 1.0:
        return ""
    low, high = th["image_saturation"]
    return f" (within {factor}x of it: the same with the colour blurred once more, or re-saturated by {low}-{high})"


def summary(report: dict) -> str:
    corpus = report["corpus"]
    th = report["thresholds"]
    lines = [
        f"# Contamination audit: {corpus.get('name', '?')}",
        "",
        f"Corpus `{corpus.get('name', '?')}`: {report['rows_scanned']} rows scanned "
        f"(fingerprint `{corpus.get('fingerprint', '?')}`), {report['seconds']} s.",
        f"Images: exact = same decoded pixels (a shorter side of {2 * WORK_SIDE} px or more: decoded reduced, "
        f"to {WORK_SIDE}-{2 * WORK_SIDE - 1} px); near = phash of the image (or its mirror, crops, border trimmed) "
        f"within {th['image_radius']} bits and aligned thumbnail difference at most {th['image_thumb_diff']}"
        f"{_second_look_line(th)}.  Texts: exact after normalisation; near = character "
        f"{th['text_ngram']}-gram Jaccard at least {th['text_jaccard']}.  Pairs: image and one of its texts in the "
        "same corpus row." + _descriptor_line(report.get("descriptor")),
        "",
        "| task | split | images | texts | pairs |",
        "|---|---|---|---|---|",
    ]
    for task, splits in report["tasks"].items():
        for split, blocks in splits.items():
            lines.append(f"| {task} | {split} | " + " | ".join(_cell(blocks[k]) for k in KINDS) + " |")
    lines += ["", "count / total (rate) of evaluation items with at least one match in the corpus."]
    return "\n".join(lines) + "\n"


def clean_ids(index: EvalIndex, found: Found) -> dict[str, dict[str, dict[str, list[str]]]]:
    """The ids left once contaminated items are removed: ``{task: {split: {images, texts, pairs}}}``."""
    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    for kind in KINDS:
        dirty = {ref for g, ref in enumerate(_refs(index, kind)) if found.matches(kind, g)[0]}
        for u, unit in enumerate(index.units):
            ids = [i for k, i in enumerate(_ids(index, kind, u)) if (u, k) not in dirty]
            out.setdefault(unit.task, {}).setdefault(unit.split, {})[kind] = ids
    return out


def write_clean_ids(clean: dict, folder: str | Path) -> list[Path]:
    """``<folder>/<task>.<split>.clean.json`` per task split."""
    written = []
    for task, splits in clean.items():
        for split, lists in splits.items():
            path = Path(folder) / f"{task}.{split}.clean.json"
            atomic_write_text(path, json.dumps(lists, ensure_ascii=False) + "\n")
            written.append(path)
    return written


def excluded_keys(report: dict, texts: bool = False) -> set[str]:
    """Corpus rows to drop from training: those holding an evaluation image (and, with ``texts``, those holding
    only an evaluation text)."""
    rows = report.get("corpus_rows", {})
    return set(rows.get("images", [])) | (set(rows.get("texts", [])) if texts else set())
