"""``zero-bench leaderboard build``: README.md, index.html and PNG charts from ``leaderboard/submissions/``.

Output depends only on the submission files, the task definitions and the toolkit version: the same
submissions give byte-identical files (sorted inputs, fixed float formatting, PNGs without timestamps).
"""

from __future__ import annotations

import io
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from zero_bench.contamination import leaderboard as contamination
from zero_bench.contamination.leaderboard import add_contamination, contamination_cell
from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import atomic_write_bytes, inside_root, sha256_file
from zero_bench.formats.canonical import ClassificationData, MatchingData, RetrievalData
from zero_bench.leaderboard import classification as cls
from zero_bench.leaderboard.schema import (
    RESCORE_TOLERANCE,
    Entry,
    ModelFile,
    Rejected,
    check_entry_semantics,
    official_checksums,
    slugify,
)
from zero_bench.models.info import TrainingCorpus
from zero_bench.taskspec import MeanRecall, TaskKind, TaskSpec, all_tasks

GENERATED = ("README.md", "index.html")
CHART_DIR = "charts"
CHART_TOP = 20  # bars per chart
CHART_TITLE_MAX = 75  # characters of a chart title that fit above the bars

MEAN_RECALL_TEXT = {
    MeanRecall.mean_of_6: f"mean of R@1/5/10 in both directions (6 numbers; official `{MeanRecall.mean_of_6.metric}`)",
    MeanRecall.mean_of_3_t2i: f"mean of text-to-image R@1/5/10 (3 numbers; `{MeanRecall.mean_of_3_t2i.metric}`)",
    MeanRecall.mean_of_3_i2t: f"mean of image-to-text R@1/5/10 (3 numbers; `{MeanRecall.mean_of_3_i2t.metric}`)",
    MeanRecall.mean_of_r1: "mean of R@1 in both directions",
}
METRIC_LABELS = {
    "img_r1": "T2I R@1",
    "img_r5": "T2I R@5",
    "img_r10": "T2I R@10",
    "img_r_mean": "T2I mean",
    "txt_r1": "I2T R@1",
    "txt_r5": "I2T R@5",
    "txt_r10": "I2T R@10",
    "txt_r_mean": "I2T mean",
    "r_mean": "MR",
    "auc": "AUC",
    "accuracy": "Accuracy",
    "acc1": "Top-1",
    "acc5": "Top-5",
    "mean_per_class_recall": "Mean per-class recall",
}
# Column order in tables: text-to-image first, as the paper's tables.
METRIC_ORDER = (
    "img_r1",
    "img_r5",
    "img_r10",
    "txt_r1",
    "txt_r5",
    "txt_r10",
    "img_r_mean",
    "txt_r_mean",
    "r_mean",
    "auc",
    "accuracy",
    "acc1",
    "acc5",
    "mean_per_class_recall",
)
SETTINGS = ("zero-shot", "fine-tuned", "setting not stated")
STATUSES = ("re-scored", "reported")
# The benchmark's tasks are scored against R2D2: every task table shows each entry's gap to this model's entry.
REFERENCE_SLUG = "r2d2-vit-l-14-zero-250m"
GAP_LABEL = "Δ R2D2"
SplitCache = dict[tuple[str, str], RetrievalData | MatchingData | ClassificationData]


@dataclass
class Loaded:
    slug: str
    file: ModelFile


# ------------------------------------------------------------------------------------------------ loading


def rescore_entry(
    entry: Entry,
    spec: TaskSpec,
    folder: Path,
    data_dir: Path | None,
    data_cache: SplitCache,
    score_cache: dict[tuple[str, str, str | None], dict[str, float]],
    path: Path,
    prefix: str,
) -> dict[str, float]:
    """The metrics of a re-scored entry computed again from its stored predictions; the stored numbers must agree
    (a hand-edited entry is refused), and the page shows only the computed ones."""
    from zero_bench.formats import load_split
    from zero_bench.predictions import score_predictions

    key = (spec.name, entry.split)
    if key not in data_cache:
        try:
            data_cache[key] = load_split(spec, data_dir, entry.split)
        except ZeroBenchError as exc:
            raise Rejected(
                prefix, f"cannot re-score {spec.name}/{entry.split} ({exc}); pass --data-dir with its annotations", path
            ) from exc
    data = data_cache[key]
    if data.annotation_sha256 != entry.annotation_sha256:
        raise Rejected(
            f"{prefix}.annotation_sha256",
            f"differs from the checksum {data.annotation_sha256} of the annotations it is re-scored against "
            f"({data.source})",
            path,
        )
    if entry.predictions_file is None:  # unreachable: the Entry validator requires it of a re-scored entry
        raise Rejected(f"{prefix}.predictions_file", "a re-scored entry needs its predictions file", path)
    scored = (spec.name, entry.split, entry.predictions_sha256)  # the checksum was verified by the caller
    if scored not in score_cache:  # identical bytes score identically: each distinct file is scored once
        try:
            score_cache[scored] = score_predictions(spec, data, folder / entry.predictions_file)
        except ZeroBenchError as exc:
            raise Rejected(f"{prefix}.predictions_file", str(exc), path) from exc
    metrics = score_cache[scored]
    for name in sorted(set(entry.metrics) | set(metrics)):
        stored, computed = entry.metrics.get(name), metrics.get(name)
        if stored is None or computed is None or abs(stored - computed) > RESCORE_TOLERANCE:
            raise Rejected(
                f"{prefix}.metrics.{name}",
                f"stored {stored} but the stored predictions score {computed} (tolerance {RESCORE_TOLERANCE}); "
                "the entry changed after it was submitted",
                path,
            )
    return metrics


def load_submissions(root: Path, data_dir: Path | None = None) -> list[Loaded]:
    """Read and validate every file in ``root/submissions`` (also the stored predictions' checksums), re-scoring
    every re-scored entry from its stored predictions against the annotations in ``data_dir``."""
    from zero_bench.leaderboard.submit import read_model_file

    folder = root / "submissions"
    if not folder.is_dir():
        return []
    if folder.is_symlink():
        raise Rejected("folder", "submissions/ must not be a symbolic link", folder)
    checksums = official_checksums(root)
    data_cache: SplitCache = {}
    score_cache: dict[tuple[str, str, str | None], dict[str, float]] = {}
    out: list[Loaded] = []
    referenced: set[str] = set()
    names: dict[str, str] = {}
    for path in sorted(folder.iterdir()):
        if path.is_symlink():
            raise Rejected("file", "symbolic links are not allowed in submissions/", path)
        if path.is_dir() or path.name.startswith(".") or path.name == "README.md":
            continue
        if path.suffix != ".json":
            raise Rejected("file", "unexpected file in submissions/ (expected <slug>.json)", path)
        model_file = read_model_file(path)
        slug = slugify(model_file.model.name)
        if path.name != f"{slug}.json":
            raise Rejected("model.name", f"the file of {model_file.model.name!r} must be named {slug}.json", path)
        if model_file.model.name in names:
            raise Rejected("model.name", f"{model_file.model.name!r} also in {names[model_file.model.name]}", path)
        names[model_file.model.name] = path.name
        keys = set()
        for index, entry in enumerate(model_file.entries):
            prefix = f"entries[{index}]"
            spec = check_entry_semantics(entry, path, prefix)
            if entry.key in keys:
                raise Rejected(prefix, f"duplicate {entry.status} {entry.setting} entry for {entry.task}", path)
            keys.add(entry.key)
            official = checksums.get(f"{spec.name}/{spec.version}/{entry.split}")
            if official is not None and entry.annotation_sha256 is not None and entry.annotation_sha256 != official:
                raise Rejected(f"{prefix}.annotation_sha256", f"is not the official checksum {official}", path)
            if entry.predictions_file is not None:
                if not entry.predictions_file.startswith(f"{slug}/"):
                    raise Rejected(f"{prefix}.predictions_file", f"must lie in {slug}/", path)
                stored = folder / entry.predictions_file
                if not stored.is_file():
                    raise Rejected(f"{prefix}.predictions_file", f"{entry.predictions_file} is missing", path)
                if sha256_file(stored) != entry.predictions_sha256:
                    raise Rejected(f"{prefix}.predictions_sha256", f"does not match {entry.predictions_file}", path)
                referenced.add(entry.predictions_file)
            if entry.status == "re-scored":
                metrics = rescore_entry(entry, spec, folder, data_dir, data_cache, score_cache, path, prefix)
                model_file.entries[index] = entry.model_copy(update={"metrics": metrics})
        out.append(Loaded(slug, model_file))
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        for item in sorted(sub.rglob("*")):
            rel = item.relative_to(folder).as_posix()
            if item.is_symlink():
                raise Rejected("file", "symbolic links are not allowed in submissions/", item)
            if item.is_file() and rel not in referenced and not item.name.startswith("."):
                raise Rejected("file", "stored predictions that no entry references", item)
    return out


def entries_frame(loaded: list[Loaded], tasks: dict[str, TaskSpec]) -> pd.DataFrame:
    rows = []
    for item in loaded:
        card = item.file.model
        for entry in item.file.entries:
            spec = tasks[entry.task]
            row = {
                "model": card.name,
                "slug": item.slug,
                "task": entry.task,
                "kind": spec.kind.value,
                "setting": entry.setting,
                "status": entry.status,
                "source": entry.source,
                "primary": entry.metrics.get(spec.primary_metric, math.nan),
                "protocol": cls.protocol_label(entry),
                "classes": float(entry.num_queries.get("classes", math.nan)),
            }
            row.update({m: entry.metrics.get(m, math.nan) for m in METRIC_ORDER})
            rows.append(row)
    columns = ["model", "slug", "task", "kind", "setting", "status", "source", "primary", "protocol", "classes"]
    columns += METRIC_ORDER
    frame = pd.DataFrame(rows, columns=columns)
    frame["gap"] = reference_gaps(frame)
    return frame.sort_values(
        ["task", "setting", "status", "primary", "model"], ascending=[True, True, True, False, True], kind="mergesort"
    ).reset_index(drop=True)


def reference_gaps(frame: pd.DataFrame) -> pd.Series:
    """Each row's primary metric minus that of the R2D2 reference entry of the same task and setting (its
    re-scored entry when there is one, else the reported one); NaN where the reference has no such entry."""
    ref = frame[frame["slug"] == REFERENCE_SLUG]
    ref = ref.assign(order=ref["status"].map({s: i for i, s in enumerate(STATUSES)}))
    ref = ref.sort_values("order", kind="mergesort").drop_duplicates(["task", "setting"])
    base = {(t, s): float(v) for t, s, v in zip(ref["task"], ref["setting"], ref["primary"], strict=True)}
    values = [
        p - base[(t, s)] if (t, s) in base else math.nan
        for t, s, p in zip(frame["task"], frame["setting"], frame["primary"], strict=True)
    ]
    return pd.Series(values, index=frame.index, dtype=float)


def signed(value: float) -> str:
    """A gap with its sign (``+1.20``, ``-3.05``, ``0.00``); ``–`` where there is no reference."""
    if math.isnan(value):
        return "–"
    return "0.00" if round(value, 2) == 0 else f"{value:+.2f}"


def gap_by_entry(frame: pd.DataFrame) -> dict[tuple[str, str, str, str], float | None]:
    """(slug, task, setting, status) -> gap to the reference (None where there is none), for the page's data."""
    keys = zip(
        frame["slug"].astype(str),
        frame["task"].astype(str),
        frame["setting"].astype(str),
        frame["status"].astype(str),
        strict=True,
    )
    gaps = [float(g) for g in frame["gap"].astype(float)]
    return {key: None if math.isnan(g) else round(g, 4) for key, g in zip(keys, gaps, strict=True)}


def ranked_tasks(tasks: dict[str, TaskSpec]) -> dict[str, TaskSpec]:
    """The tasks of the overall ranking: retrieval and matching (classification is ranked by its suites)."""
    return {name: spec for name, spec in tasks.items() if not cls.is_classification(spec)}


def overall_frame(frame: pd.DataFrame, n_tasks: int) -> pd.DataFrame:
    """Per (setting, status, model): mean of the primary metrics over the covered retrieval / matching tasks."""
    # classification is ranked by its suites; a one-direction published entry has no primary metric to average
    frame = frame[(frame["kind"] != TaskKind.classification.value) & frame["primary"].notna()]
    if frame.empty:
        return pd.DataFrame(columns=["setting", "status", "model", "slug", "score", "covered", "tasks", "rank"])
    grouped = frame.groupby(["setting", "status", "model", "slug"], sort=True)
    out = grouped.agg(
        score=("primary", "mean"), covered=("task", "nunique"), tasks=("task", lambda s: ", ".join(sorted(s)))
    ).reset_index()
    out = out.sort_values(
        ["setting", "status", "score", "covered", "model"], ascending=[True, True, False, False, True], kind="mergesort"
    ).reset_index(drop=True)
    out["rank"] = out.groupby(["setting", "status"]).cumcount() + 1
    out["n_tasks"] = n_tasks
    return out


# ------------------------------------------------------------------------------------------------ markdown


def md_text(value: object) -> str:
    """Submitted text as literal Markdown: no HTML, links, emphasis or table breaks."""
    text = str(value)
    out = []
    for ch in text:
        if ch in "\\`*_{}[]()#+-.!|~:$":
            out.append("\\" + ch)
        elif ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in "\r\n":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def md_link(url: str) -> str:
    safe = quote(url, safe=":/?#@!$&'*+,;=%-._~()[]")
    return f"<{safe}>"


def fmt(value: float) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"


def md_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    align = "|" + "|".join("---:" if pd.api.types.is_numeric_dtype(frame[c]) else "---" for c in frame.columns) + "|"
    lines = [header, align]
    for row in frame.itertuples(index=False):
        cells = [fmt(v) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_readme(
    frame: pd.DataFrame,
    overall: pd.DataFrame,
    suites: pd.DataFrame,
    loaded: list[Loaded],
    tasks: dict[str, TaskSpec],
    charts: dict[str, str],
) -> str:
    out = _readme_intro()
    out += _overall_lines(overall, len(ranked_tasks(tasks)))
    for kind, title in ((TaskKind.retrieval, "Retrieval"), (TaskKind.matching, "Matching")):
        out += [f"## {title}", ""]
        if kind is TaskKind.matching:
            out += ["Primary metric: ROC-AUC of P(match) against the 0/1 labels (accuracy at 0.5 also shown).", ""]
        for name, spec in tasks.items():
            if spec.kind is not kind:
                continue
            out += [f"### {spec.title} (`{name}`, split `{spec.default_split}`)", ""]
            if spec.mean_recall is not None:
                out += [
                    f"Primary metric `{spec.primary_metric}`; mean recall `{spec.mean_recall.value}`: "
                    f"{MEAN_RECALL_TEXT[spec.mean_recall]}.",
                    "",
                ]
            out += _task_tables(frame[frame["task"] == name], spec, charts)
    out += _classification_lines(frame, suites, tasks, charts)
    out += _card_lines(loaded)
    return "\n".join(out).rstrip("\n") + "\n"


def _readme_intro() -> list[str]:
    from zero_bench.version import __version__

    return [
        "# Zero / CCMB leaderboard",
        "",
        f"<!-- generated by `zero-bench leaderboard build` (zero-bench {__version__}) from "
        "leaderboard/submissions/; do not edit by hand -->",
        "",
        "Interactive page: [index.html](index.html) (open it from disk; no network needed). "
        "How to submit: [SUBMITTING.md](SUBMITTING.md).",
        "",
        "- **re-scored**: `zero-bench submit` recomputed every metric from the submitted predictions with the same "
        "code as `zero-bench score` (submitted numbers must agree within 0.01 points).",
        "- **reported**: numbers as published or submitted without predictions, *not re-scored*; shown apart.",
        "- **zero-shot**: the weights never saw the task's training split; **fine-tuned**: trained on it; "
        "**setting not stated**: a published number whose source does not say which.",
        "- A published entry may give one retrieval direction only (e.g. text-to-image R@1/5/10): it is listed, "
        "with no primary metric, and left out of charts and rankings.",
        "- All values are percentages. T2I = text-to-image (`img_r*`), I2T = image-to-text (`txt_r*`).",
        "- Mean recall (MR) definitions: "
        + "; ".join(f"`{mr.value}` = {text}" for mr, text in MEAN_RECALL_TEXT.items())
        + ". Each task states its own.",
        f"- **{GAP_LABEL}**: the entry's primary metric minus that of the R2D2 reference entry (`{REFERENCE_SLUG}`) "
        "of the same task and setting (its re-scored entry if any, else the reported one); – where R2D2 has none.",
        f"- **{contamination.LABEL}**: shown where a model declares training corpora (`training_corpora`, by registry "
        "name or Hub id) whose audit report is in `leaderboard/contamination/`: the share of the split's evaluation "
        "images found in them (several audited corpora: the images found in at least one), linked to each audit's "
        "summary.",
        "",
    ]


def _overall_lines(overall: pd.DataFrame, n_tasks: int) -> list[str]:
    out = [
        "## Overall ranking",
        "",
        "Mean of each retrieval and matching task's primary metric over the tasks a model covers (coverage shown: a "
        "model evaluated on fewer tasks is not directly comparable). Classification is ranked by suite in its own "
        "section.",
        "",
    ]
    for setting in SETTINGS:
        for status in STATUSES:
            part = overall[(overall["setting"] == setting) & (overall["status"] == status)]
            if part.empty:
                continue
            out += [f"### {setting}, {status}", ""]
            table = pd.DataFrame(
                {
                    "Rank": part["rank"].astype(str),
                    "Model": part["model"].map(md_text),
                    "Mean of primary metrics": part["score"].astype(float),
                    "Coverage": [f"{c}/{n_tasks}: {t}" for c, t in zip(part["covered"], part["tasks"], strict=False)],
                }
            )
            out += [md_table(table), ""]
    return out


def _task_tables(rows: pd.DataFrame, spec: TaskSpec, charts: dict[str, str]) -> list[str]:
    """One task's chart and tables (one per setting and status)."""
    if rows.empty:
        return ["No submissions yet.", ""]
    out = [f"![{spec.name} chart]({charts[spec.name]})", ""] if spec.name in charts else []
    metrics = [m for m in METRIC_ORDER if m in spec.metrics]
    for setting in SETTINGS:
        for status in STATUSES:
            part = rows[(rows["setting"] == setting) & (rows["status"] == status)]
            if part.empty:
                continue
            out += [f"**{setting}, {status}**", ""]
            table = pd.DataFrame({"Model": part["model"].map(md_text)})
            for m in metrics:
                primary_mr = m == spec.primary_metric and spec.kind is TaskKind.retrieval
                label = "MR" if primary_mr else METRIC_LABELS[m]
                table[label] = part[m].astype(float).to_numpy()
            table[GAP_LABEL] = part["gap"].astype(float).map(signed).to_numpy()
            if cls.is_classification(spec):
                table["Protocol"] = part["protocol"].map(md_text).to_numpy()
            table = contamination_cell(table, part)
            if status == "reported":
                table["Source"] = part["source"].map(md_text).to_numpy()
            out += [md_table(table.reset_index(drop=True)), ""]
    return out


CLASSIFICATION_INTRO = (
    "Zero-shot image classification. Primary metric `acc1` (Top-1 accuracy); `acc5` (Top-5 accuracy, absent for a "
    "set with fewer than 5 classes) and `mean_per_class_recall` (balanced accuracy: the mean of the classes' "
    "recalls) also shown. Every entry names its **protocol**, the class names and prompt templates behind the "
    "number: `cn_clip` (Chinese-CLIP's zero-shot script: the set's `label_cn.txt` and its template lists), "
    "`clip_benchmark` (CLIP_benchmark's `cn` class names and 80 templates), `+ own templates` where a templates "
    "file replaced the protocol's, or *not stated* where a published source does not say. Numbers under different "
    "protocols are not directly comparable."
)


def _classification_lines(
    frame: pd.DataFrame, suites: pd.DataFrame, tasks: dict[str, TaskSpec], charts: dict[str, str]
) -> list[str]:
    members = cls.suites(tasks)
    if not any(cls.is_classification(spec) for spec in tasks.values()):
        return []
    out = ["## Classification", "", CLASSIFICATION_INTRO, ""]
    for suite, names in members.items():
        out += _suite_lines(suite, names, suites[suites["suite"] == suite])
    empty = []
    for name, spec in tasks.items():
        if not cls.is_classification(spec):
            continue
        rows = frame[frame["task"] == name]
        if rows.empty:
            empty.append(f"`{name}`")
            continue
        out += [f"### {spec.title} (`{name}`, split `{spec.default_split}`)", ""]
        out += _task_tables(rows, spec, charts)
    if empty:
        out += ["### Classification tasks without entries", "", ", ".join(empty) + ".", ""]
    return out


def _suite_lines(suite: str, names: list[str], rows: pd.DataFrame) -> list[str]:
    from zero_bench.taskspec import SUITES

    n = len(names)
    out = [
        f"### Suite `{suite}`: {SUITES[suite]}",
        "",
        f"Suite score: the mean over its {n} tasks, given only for a model with an entry for all {n} "
        f"(otherwise the number of tasks it has); Top-5 is the mean over the tasks with at least 5 classes. "
        f"{GAP_LABEL}: the suite Top-1 minus R2D2's.",
        "",
    ]
    if rows.empty:
        return out + ["No entries yet.", ""]
    for setting in SETTINGS:
        for status in STATUSES:
            part = rows[(rows["setting"] == setting) & (rows["status"] == status)]
            if part.empty:
                continue
            top1 = [
                fmt(v) if c == n else f"– ({c} of {n} tasks)"
                for v, c in zip(part["acc1"].astype(float), part["covered"], strict=True)
            ]
            table = pd.DataFrame({"Model": part["model"].map(md_text), "Top-1 (mean)": top1})
            table["Top-5 (mean)"] = part["acc5"].astype(float).to_numpy()
            table["Mean per-class recall (mean)"] = part["mean_per_class_recall"].astype(float).to_numpy()
            table[GAP_LABEL] = part["gap"].astype(float).map(signed).to_numpy()
            table["Tasks"] = [f"{c}/{n}" for c in part["covered"]]
            table["Protocol"] = part["protocol"].map(md_text).to_numpy()
            out += [f"**{setting}, {status}**", "", md_table(table.reset_index(drop=True)), ""]
    return out


def _card_lines(loaded: list[Loaded]) -> list[str]:
    out = ["## Model cards", ""]
    cards = pd.DataFrame(
        {
            "Model": [md_text(i.file.model.name) for i in loaded],
            "Organisation": [md_text(i.file.model.organisation) for i in loaded],
            "Parameters": [f"{i.file.model.parameters:,}" if i.file.model.parameters else "not stated" for i in loaded],
            "Pre-training data": [md_text(i.file.model.training_data) for i in loaded],
            "Training corpora": [_corpora_text(i.file.model.training_corpora) for i in loaded],
            "Link": [md_link(i.file.model.link) for i in loaded],
        }
    )
    if not cards.empty:
        cards = cards.sort_values("Model", kind="mergesort")
        out += [md_table(cards), ""]
    else:
        out += ["No submissions yet.", ""]
    return out


def _corpora_text(corpora: list[TrainingCorpus]) -> str:
    """``zero-250m`` (declared by: ...), each escaped; ``not declared`` without any."""
    if not corpora:
        return "not declared"
    return "; ".join(f"`{c.name}` (declared by: {md_text(c.source)})" for c in corpora)


# ------------------------------------------------------------------------------------------------ charts


def build_charts(frame: pd.DataFrame, tasks: dict[str, TaskSpec]) -> dict[str, bytes]:
    """One horizontal bar chart per task (top entries by primary metric), PNG bytes without metadata."""
    if frame.empty:
        return {}
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    colours = {
        ("zero-shot", "re-scored"): "#1f77b4",
        ("zero-shot", "reported"): "#aec7e8",
        ("fine-tuned", "re-scored"): "#d62728",
        ("fine-tuned", "reported"): "#ff9896",
        ("setting not stated", "reported"): "#c7c7c7",
    }
    charts: dict[str, bytes] = {}
    with matplotlib.rc_context(
        {
            "svg.hashsalt": "zero-bench",
            "text.parse_math": False,
            "text.usetex": False,
            "font.family": "DejaVu Sans",
            "font.size": 9,
            "path.simplify": True,
        }
    ):
        for name, spec in tasks.items():
            rows = frame[(frame["task"] == name) & frame["primary"].notna()]
            if rows.empty:
                continue
            rows = rows.sort_values(
                ["primary", "model", "setting", "status"], ascending=[False, True, True, True], kind="mergesort"
            ).head(CHART_TOP)
            labels = [
                (m if len(m) <= 40 else m[:39] + "…") + f" ({s}, {st})"
                for m, s, st in zip(rows["model"], rows["setting"], rows["status"], strict=False)
            ]
            values = rows["primary"].astype(float).tolist()
            height = 1.2 + 0.32 * len(rows)
            fig = Figure(figsize=(10, height), dpi=100)
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
            positions = list(range(len(rows)))[::-1]
            bars = ax.barh(
                positions,
                values,
                color=[colours[(s, st)] for s, st in zip(rows["setting"], rows["status"], strict=False)],
            )
            for bar, status in zip(bars, rows["status"], strict=False):
                if status == "reported":
                    bar.set_hatch("//")
            ax.set_yticks(positions, labels)
            ax.set_xlim(0, 100)
            ax.set_xlabel(f"{spec.primary_metric} (%)")
            top = f"top {min(CHART_TOP, len(rows))} by {spec.primary_metric}"
            title = f"{spec.title} ({spec.default_split}), {top}"
            # a long title would run off the figure (it is centred over the axes): the task name instead
            ax.set_title(title if len(title) <= CHART_TITLE_MAX else f"{name} ({spec.default_split}), {top}")
            for pos, value in zip(positions, values, strict=False):
                ax.text(min(value + 0.5, 92), pos, f"{value:.1f}", va="center", fontsize=8)
            buffer = io.BytesIO()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # missing glyphs (e.g. CJK names) render as boxes
                # Fixed margins (labels are at most ~65 characters): no tight_layout, which draws the figure twice.
                fig.subplots_adjust(left=0.45, right=0.97, bottom=0.6 / height, top=1 - 0.45 / height)
                fig.savefig(buffer, format="png", metadata={"Software": None})
            charts[name] = buffer.getvalue()
    return charts


# ------------------------------------------------------------------------------------------------ html


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)


def page_data(
    frame: pd.DataFrame, overall: pd.DataFrame, suites: pd.DataFrame, loaded: list[Loaded], tasks: dict[str, TaskSpec]
) -> dict:
    models = [
        {
            "slug": i.slug,
            "name": i.file.model.name,
            "organisation": i.file.model.organisation,
            "link": i.file.model.link,
            "parameters": i.file.model.parameters,
            "training_data": i.file.model.training_data,
            "training_corpora": [c.model_dump() for c in i.file.model.training_corpora],
            "checkpoint": i.file.model.checkpoint,
        }
        for i in loaded
    ]
    entries = []
    gaps = gap_by_entry(frame)
    shares = contamination_by_entry(frame)
    for item in loaded:
        for e in item.file.entries:
            entries.append(
                {
                    "slug": item.slug,
                    "task": e.task,
                    "setting": e.setting,
                    "status": e.status,
                    "source": e.source,
                    "metrics": {k: _num(e.metrics[k]) for k in sorted(e.metrics)},
                    "rerank_top_k": e.rerank_top_k,
                    "annotation_sha256": e.annotation_sha256,
                    "predictions_sha256": e.predictions_sha256,
                    "checkpoint_sha256": e.checkpoint_sha256,
                    "fine_tuned_on": e.fine_tuned_on,
                    "gap": gaps.get((item.slug, e.task, e.setting, e.status)),
                    "protocol": cls.protocol_label(e) or None,
                    "contamination": shares.get((item.slug, e.task, e.setting, e.status)),
                }
            )
    return {
        "tasks": [
            {
                "name": n,
                "title": s.title,
                "kind": s.kind.value,
                "split": s.default_split,
                "metrics": [m for m in METRIC_ORDER if m in s.metrics],
                "primary": s.primary_metric,
                "mean_recall": s.mean_recall.value if s.mean_recall else None,
            }
            for n, s in tasks.items()
        ],
        "labels": METRIC_LABELS,
        "gap_label": GAP_LABEL,
        "contamination_label": contamination.LABEL,
        "models": models,
        "entries": entries,
        "overall": [
            {
                "slug": r["slug"],
                "setting": r["setting"],
                "status": r["status"],
                "score": _num(r["score"]),
                "covered": int(r["covered"]),
                "tasks": r["tasks"],
                "rank": int(r["rank"]),
            }
            for r in overall.to_dict("records")
        ],
        "n_tasks": len(ranked_tasks(tasks)),
        "suites": suite_data(suites, tasks),
    }


def contamination_by_entry(frame: pd.DataFrame) -> dict[tuple[str, str, str, str], dict]:
    """(slug, task, setting, status) -> {percent, reports: [{corpus, href}]} for the entries that have a share."""
    out = {}
    for row in frame.to_dict("records"):
        if not row[contamination.CORPORA]:
            continue
        reports = [{"corpus": c, "href": contamination.report_page(c)} for c in row[contamination.CORPORA]]
        out[(row["slug"], row["task"], row["setting"], row["status"])] = {
            "percent": _num(row[contamination.COLUMN]),
            "reports": reports,
        }
    return out


def suite_data(suites: pd.DataFrame, tasks: dict[str, TaskSpec]) -> list[dict]:
    """The classification suites for the page: their tasks and one row per (setting, status, model)."""
    from zero_bench.taskspec import SUITES

    out = []
    for suite, names in cls.suites(tasks).items():
        rows = suites[suites["suite"] == suite]
        out.append(
            {
                "name": suite,
                "title": SUITES[suite],
                "tasks": names,
                "rows": [
                    {
                        "slug": r["slug"],
                        "setting": r["setting"],
                        "status": r["status"],
                        "covered": int(r["covered"]),
                        "metrics": {m: _num(r[m]) for m in cls.METRICS},
                        "gap": _num(r["gap"]),
                        "protocol": r["protocol"],
                        "missing": r["missing"],
                    }
                    for r in rows.to_dict("records")
                ],
            }
        )
    return out


def json_for_script(data: object) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>``, ``&`` or line separators."""
    text = json.dumps(data, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def build_html(data: dict) -> str:
    import base64
    import hashlib

    from zero_bench.leaderboard.page import PAGE, SCRIPT, STYLE

    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8")).digest()).decode("ascii")
    style_hash = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")
    csp = (
        f"default-src 'none'; script-src 'sha256-{script_hash}'; style-src 'sha256-{style_hash}'; "
        "img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'"
    )
    return (
        PAGE.replace("@@CSP@@", csp)
        .replace("@@STYLE@@", STYLE)
        .replace("@@DATA@@", json_for_script(data))
        .replace("@@SCRIPT@@", SCRIPT)
    )


# ------------------------------------------------------------------------------------------------ build


def render(root: Path, data_dir: Path | None = None) -> dict[str, bytes]:
    """Every generated file (path relative to the leaderboard root -> bytes)."""
    tasks = all_tasks()
    loaded = load_submissions(root, data_dir)
    frame, reports = add_contamination(entries_frame(loaded, tasks), loaded, root)
    overall = overall_frame(frame, len(ranked_tasks(tasks)))
    suites = cls.suite_frame(frame, tasks)
    pngs = build_charts(frame, tasks)
    charts = {name: f"{CHART_DIR}/{name}.png" for name in pngs}
    files = {
        "README.md": build_readme(frame, overall, suites, loaded, tasks, charts).encode("utf-8"),
        "index.html": build_html(page_data(frame, overall, suites, loaded, tasks)).encode("utf-8"),
    }
    files.update({charts[name]: data for name, data in pngs.items()})
    files.update(contamination.report_files(reports))
    return files


def build(root: str | Path, out: str | Path | None = None, data_dir: str | Path | None = None) -> list[Path]:
    """Regenerate the leaderboard from ``root/submissions`` into ``out`` (default ``root``); old charts go.

    Nothing is written, renamed or deleted through a symbolic link below ``out`` (it could lead outside)."""
    root = Path(root)
    target = Path(out) if out is not None else root
    files = render(root, Path(data_dir) if data_dir is not None else None)
    paths = {rel: inside_root(target, rel) for rel in sorted(files)}  # every path checked before the first write
    stale = [inside_root(target, rel) for rel in _left_over(target, files)]
    written = []
    for rel, path in paths.items():
        atomic_write_bytes(path, files[rel])
        written.append(path)
    for path in stale:
        path.unlink()
    return written


def _left_over(target: Path, files: dict[str, bytes]) -> list[str]:
    """Charts under ``target`` that the build no longer generates."""
    chart_dir = inside_root(target, CHART_DIR)
    if not chart_dir.is_dir():
        return []
    return [f"{CHART_DIR}/{p.name}" for p in sorted(chart_dir.glob("*.png")) if f"{CHART_DIR}/{p.name}" not in files]


def stale_files(root: str | Path, data_dir: str | Path | None = None) -> list[str]:
    """Generated files under ``root`` that differ from a fresh build (or are missing / left over)."""
    root = Path(root)
    files = render(root, Path(data_dir) if data_dir is not None else None)
    problems = [
        rel for rel, data in sorted(files.items()) if not (root / rel).is_file() or (root / rel).read_bytes() != data
    ]
    return problems + _left_over(root, files)
