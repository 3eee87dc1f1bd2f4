"""The leaderboard's classification part: protocol labels and suite scores.

A suite score is the mean of a metric over every task of the suite, per model, setting and status; it is given
only when the model has an entry for every task of the suite (otherwise the coverage says how many it has), so
two suite scores always average the same sets.  ``acc5`` is averaged over the sets that have it: a set with fewer
than 5 classes has none (known from the entry's ``num_queries["classes"]``); an entry that lacks ``acc5`` without
that reason leaves the suite's ``acc5`` blank.
"""

from __future__ import annotations

import math

import pandas as pd

from zero_bench.leaderboard.schema import Entry
from zero_bench.taskspec import SUITES, TaskKind, TaskSpec, suite_tasks

METRICS = ("acc1", "acc5", "mean_per_class_recall")
SUITE_ORDER = ("elevater-cn", "classification")  # the suites shown, where the task registry defines them
OWN_TEMPLATES_PREFIX = "file "  # zero_bench.prompts records a --templates file as "file <name>"
SUITE_COLUMNS = [
    "suite",
    "setting",
    "status",
    "model",
    "slug",
    "n",
    "covered",
    *METRICS,
    "protocol",
    "missing",
]


def protocol_label(entry: Entry) -> str:
    """The protocol as the tables show it: ``cn_clip``, ``clip_benchmark`` or ``not stated``, and ``+ own
    templates`` where the Result used a ``--templates`` file; empty for other kinds of task."""
    if entry.protocol is None:
        return ""
    record = entry.classification
    if record is not None and record.templates_source.startswith(OWN_TEMPLATES_PREFIX):
        return f"{entry.protocol} + own templates"
    return entry.protocol


def is_classification(spec: TaskSpec) -> bool:
    return spec.kind is TaskKind.classification


def suites(tasks: dict[str, TaskSpec]) -> dict[str, list[str]]:
    """The classification suites the leaderboard scores, each with its tasks (in task-name order)."""
    out = {}
    for name in SUITE_ORDER:
        if name in SUITES:
            members = [t for t in suite_tasks(name) if t in tasks and is_classification(tasks[t])]
            if members:
                out[name] = members
    return out


def _mean(part: pd.DataFrame, metric: str, n: int) -> float:
    """The suite mean of ``metric`` over a complete group; NaN where an entry lacks it without reason."""
    values = []
    for value, classes in zip(part[metric].astype(float), part["classes"].astype(float), strict=True):
        if not math.isnan(value):
            values.append(value)
        elif not (metric == "acc5" and not math.isnan(classes) and classes < 5):
            return math.nan
    return sum(values) / len(values) if values and len(part) == n else math.nan


def _protocols(values: pd.Series) -> str:
    found = sorted({str(v) for v in values})
    return found[0] if len(found) == 1 else "mixed: " + ", ".join(found)


def suite_frame(frame: pd.DataFrame, tasks: dict[str, TaskSpec]) -> pd.DataFrame:
    """One row per (suite, setting, status, model): its coverage, suite means (complete suites only), protocols.

    Rows are ordered: complete suites by top-1 descending, then incomplete ones by coverage, then name."""
    rows = []
    for suite, members in suites(tasks).items():
        part = frame[frame["task"].isin(members)]
        for (setting, status, model, slug), group in part.groupby(["setting", "status", "model", "slug"], sort=True):
            row = {"suite": suite, "setting": setting, "status": status, "model": model, "slug": slug}
            row |= {
                "n": len(members),
                "covered": int(group["task"].nunique()),
                "protocol": _protocols(group["protocol"]),
            }
            row |= {m: _mean(group, m, len(members)) for m in METRICS}
            row["missing"] = ", ".join(t for t in members if t not in set(group["task"]))
            rows.append(row)
    out = pd.DataFrame(rows, columns=SUITE_COLUMNS)
    if out.empty:
        return out.assign(gap=pd.Series(dtype=float))
    out["complete"] = out["covered"] == out["n"]
    out = out.sort_values(
        ["suite", "setting", "status", "complete", "acc1", "covered", "model"],
        ascending=[True, True, True, False, False, False, True],
        kind="mergesort",
        na_position="last",
    ).reset_index(drop=True)
    out["gap"] = _suite_gaps(out)
    return out.drop(columns="complete")


def _suite_gaps(out: pd.DataFrame) -> pd.Series:
    """Each row's suite top-1 minus that of the R2D2 reference in the same suite and setting (its re-scored row
    when it has one, else the reported one); NaN where either is missing."""
    from zero_bench.leaderboard.build import REFERENCE_SLUG, STATUSES

    ref = out[(out["slug"] == REFERENCE_SLUG) & out["acc1"].notna()]
    ref = ref.assign(order=ref["status"].map({s: i for i, s in enumerate(STATUSES)}))
    ref = ref.sort_values("order", kind="mergesort").drop_duplicates(["suite", "setting"])
    base = {(s, t): float(v) for s, t, v in zip(ref["suite"], ref["setting"], ref["acc1"], strict=True)}
    values = [
        a - base[(s, t)] if (s, t) in base and not math.isnan(a) else math.nan
        for s, t, a in zip(out["suite"], out["setting"], out["acc1"].astype(float), strict=True)
    ]
    return pd.Series(values, index=out.index, dtype=float)
