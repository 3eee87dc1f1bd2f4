"""What the pre-training text mix does to the five toy tasks: the quickstart's pre-training and zero-shot evaluation,
with the corpus text fields (title, content: long captions; query: short colour + shape queries) weighted.

Each run pre-trains the quickstart's model with the quickstart's settings (``QuickstartConfig``; all steps, no time
limit) on the quickstart's zero-toy (made with seed 0 whatever the training seed) and evaluates it zero-shot as the
quickstart does: ICR with the dual encoder alone and re-ranked, IQR, Flickr30k-CNA, ICM and IQM.  Runs are kept
as JSON under ``--out``, so seeds or mixes can run in parallel processes and ``--table`` prints what is there.

    python benchmarks/text_mix.py --out runs/text-mix --mixes uniform "40% query" --seeds 0
    python benchmarks/text_mix.py --out runs/text-mix --table
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

MIXES: dict[str, dict[str, float] | None] = {
    "uniform (the quickstart)": None,
    "40% query": {"title": 0.3, "content": 0.3, "query": 0.4},
    "50% query": {"title": 0.25, "content": 0.25, "query": 0.5},
    "query only": {"query": 1.0},
}
# column -> (task, setting) of the quickstart's zero-shot rows
COLUMNS = {
    "icr dual": ("icr", "zero-shot, dual encoder"),
    "icr re-ranked": ("icr", "zero-shot, re-ranked"),
    "iqr dual": ("iqr", "zero-shot, dual encoder"),
    "iqr re-ranked": ("iqr", "zero-shot, re-ranked"),
    "flickr30k-cna": ("flickr30k-cna", "zero-shot"),
    "icm": ("icm", "zero-shot"),
    "iqm": ("iqm", "zero-shot"),
}


QUICK = {"corpus": 64, "itr_train": 4, "itr_val": 24, "itm_train": 4, "itm_val": 16, "steps": 2, "batch_size": 8}
QUICK |= {"flickr_train": 4, "flickr_val": 4, "flickr_test": 4}


def run(mix: str, seed: int, out: Path, steps: int | None, quick: bool = False) -> dict[str, Any]:
    from filelock import FileLock

    from zero_bench_r2d2.training.quickstart import QuickstartConfig, _make_data, _pretrain, _zero_shot

    folder = out / f"seed-{seed}" / mix.split(" (")[0].replace("%", "pct").replace(" ", "-")
    base = QuickstartConfig(output_dir=str(folder), show_progress=False, pretrain_time_limit_s=None)
    base = replace(base, **QUICK) if quick else base
    cfg = replace(base, seed=seed, text_mix=MIXES[mix], steps=steps or base.steps)
    out.mkdir(parents=True, exist_ok=True)
    with FileLock(str(out / ".data.lock")):  # parallel processes share one copy of the toy
        task_dir, corpus_dir = _make_data(replace(cfg, seed=0), out / "data")
    t0 = time.perf_counter()
    summary = _pretrain(cfg, corpus_dir, folder / "pretrain")
    train_s = time.perf_counter() - t0
    rows = _zero_shot(cfg, folder / "pretrain" / "model.safetensors", task_dir, folder / "results")
    by_key = {(r["task"], r["setting"]): r for r in rows}
    picked = {column: by_key[key] for column, key in COLUMNS.items()}
    record = {
        "mix": mix,
        "text_mix": MIXES[mix],
        "seed": seed,
        "steps": summary["step"],
        "train_s": round(train_s, 1),
        **{c: round(r["value"], 2) for c, r in picked.items()},
        "chance": {c: round(r["chance"], 2) for c, r in picked.items()},
    }
    (folder / "run.json").write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def table(out: Path) -> str:
    runs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("seed-*/*/run.json"))]
    lines = [
        "| text mix | seeds | " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    for mix in MIXES:
        mine = [r for r in runs if r["mix"] == mix]
        if not mine:
            continue
        cells = []
        for c in COLUMNS:
            vals = [r[c] for r in mine]
            sd = f" ± {statistics.stdev(vals):.2f}" if len(vals) > 1 else ""
            cells.append(f"{statistics.mean(vals):.2f}{sd}")
        seeds = ",".join(str(r["seed"]) for r in mine)
        lines.append(f"| {mix} | {seeds} | " + " | ".join(cells) + " |")
    if runs:
        lines.append("| chance | | " + " | ".join(f"{runs[0]['chance'][c]:.2f}" for c in COLUMNS) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--mixes", nargs="+", default=list(MIXES), choices=list(MIXES))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--steps", type=int, default=None, help="pre-training steps (default: the quickstart's)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--table", action="store_true", help="only print the table of the runs already in --out")
    ap.add_argument("--quick", action="store_true", help="smoke run: a small toy and 2 steps of batch 8")
    args = ap.parse_args()
    if not args.table:
        import torch

        torch.set_num_threads(args.threads)
        for seed in args.seeds:
            for mix in args.mixes:
                record = run(mix, seed, args.out, args.steps, args.quick)
                print(json.dumps(record), flush=True)
    print(table(args.out))


if __name__ == "__main__":
    main()
