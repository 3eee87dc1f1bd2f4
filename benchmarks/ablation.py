"""Ablation of the R2D2 pre-training objectives on zero-toy, over several seeds (mean and spread).

Each row pre-trains the quickstart's model (``--config``, default ``r2d2-toy``) from scratch for the same number of
steps (same data and schedule; every default is the quickstart's; the seed sets the initial weights, the data order
and the draws) and evaluates toy ICR (val, 200 images / 200 captions): mean
recall of the dual encoder alone (top_k 0) and with the cross-encoder re-ranking of the task's top 64, beside
chance; toy ICM and IQM (val, 200 rows each: AUC of P(match), the matching heads); and the linear probe of
``benchmarks/matching_attributes.py`` (one large object's shape and colour from the image encoder's [CLS] token,
7 classes, chance 14.3), so the table says which objective buys the matching and which the shape.  Rows: GCPR only; + FGR (uniform negatives for the first ``--fgr-easy-fraction`` of the steps, then hard:
the quickstart's curriculum); + MLM; + TgD/FgD (all objectives, TgD as the split objective); the same with the old
mixed bank (``contrast_bank=mixed``, the collapse); and GCPR + TgD alone with either bank.

    python benchmarks/ablation.py --seeds 0 1 2 --out /tmp/ablation     # full table (~25 min per seed)
    python benchmarks/ablation.py --quick                                          # smoke run (~1 min)

Seeds can run in parallel processes sharing ``--out`` (``--seeds 0``, ``--seeds 1`` ...); ``--table`` then prints
the table of every finished run in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROWS: dict[str, dict[str, Any]] = {
    "GCPR only": {"fgr_weight": 0, "mlm_weight": 0, "tgd_alpha": 0, "fgd_weight": 0},
    "+ FGR": {"mlm_weight": 0, "tgd_alpha": 0, "fgd_weight": 0},
    "+ MLM": {"tgd_alpha": 0, "fgd_weight": 0},
    "+ TgD/FgD (all)": {},
    "all, old mixed bank": {"contrast_bank": "mixed"},
    "GCPR + TgD": {"fgr_weight": 0, "mlm_weight": 0, "fgd_weight": 0},
    "GCPR + TgD, old mixed bank": {"fgr_weight": 0, "mlm_weight": 0, "fgd_weight": 0, "contrast_bank": "mixed"},
}
FGR_ROWS = ("+ FGR", "+ MLM", "+ TgD/FgD (all)", "all, old mixed bank")


def _toy(out: Path, quick: bool) -> Path:
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_corpus_dir

    corpus = 512 if quick else 4000
    sizes = ToySizes(
        corpus=corpus, itr_train=8, itr_val=200, itm_train=8, itm_val=200, flickr_train=2, flickr_val=2, flickr_test=2
    )
    from filelock import FileLock

    with FileLock(str(out / ".toy.lock")):  # parallel seed processes share one copy
        if not (toy_corpus_dir(out) / "manifest.json").is_file():
            generate_zero_toy(root=out, seed=0, sizes=sizes)
    return out


def run_row(name: str, seed: int, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    from matching_attributes import probe_accuracy, probe_scenes  # the sibling script (benchmarks/ is on sys.path)

    from zero_bench.data.toy import toy_corpus_dir, toy_task_dir
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.training.objectives import ObjectiveConfig
    from zero_bench_r2d2.training.quickstart import chance_metrics
    from zero_bench_r2d2.training.recipes import plugin_for, pretrain

    overrides = dict(ROWS[name])
    if name in FGR_ROWS:
        overrides["fgr_easy_steps"] = int(args.fgr_easy_fraction * args.steps)
    settings: dict[str, Any] = {
        "queue_size": args.queue_size,
        "mlm_weight": args.mlm_weight,
        "momentum": args.momentum,
        "tgd_rampup_steps": args.tgd_rampup_steps,
        "seed": seed,
    }
    objective = ObjectiveConfig(**(settings | overrides))
    t0 = time.perf_counter()
    summary = pretrain(
        config=args.config,
        corpus=toy_corpus_dir(root),
        output_dir=root / f"seed-{seed}" / name.replace(" ", "_").replace("/", "-").replace(",", ""),
        objective=objective,
        dropout=0.0,
        train={
            "max_steps": args.steps,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "warmup_steps": args.warmup_steps,
            "seed": seed,
            "show_progress": False,
            "device": "cpu",
            "log_every": 50,
        },
    )
    train_s = time.perf_counter() - t0
    plugin = plugin_for(summary["trainer"].model)
    spec, data_dir = get_task("icr"), toy_task_dir(root)
    dual = evaluate(plugin, spec, "val", data_dir=data_dir, top_k=0, use_cache=False, device="cpu")
    rerank = None if args.dual_only else evaluate(plugin, spec, "val", data_dir=data_dir, use_cache=False, device="cpu")
    chance = chance_metrics(load_split(spec, data_dir, "val"))["r_mean"]
    matching = {
        task: round(evaluate(plugin, get_task(task), "val", data_dir=data_dir, use_cache=False).metrics["auc"], 2)
        for task in ("icm", "iqm")
    }
    scenes = probe_scenes(args.probe_scenes)
    probed = probe_accuracy(plugin.model, plugin, scenes, fit=2 * len(scenes) // 3)
    return {
        "objectives": name,
        "config": args.config,
        "seed": seed,
        "dual_r_mean": round(dual.metrics["r_mean"], 2),
        "rerank_r_mean": None if rerank is None else round(rerank.metrics["r_mean"], 2),
        "chance": round(chance, 2),
        "icm_auc": matching["icm"],
        "iqm_auc": matching["iqm"],
        "shape_probe_cls": round(probed["shape", "cls"], 1),
        "color_probe_cls": round(probed["color", "cls"], 1),
        "train_s": round(train_s, 1),
        "steps": args.steps,
        "final_losses": {k: v for k, v in summary["history"][-1].items() if k not in ("time", "step", "epoch")},
    }


def _spread(values: list[float | None], digits: int = 2) -> str:
    if not values or any(v is None for v in values):
        return "not run"
    numbers = [float(v) for v in values if v is not None]
    mean = statistics.fmean(numbers)
    sd = statistics.stdev(numbers) if len(numbers) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def table(root: Path) -> str:
    """Markdown table (mean ± sample standard deviation over the seeds) of every run recorded under ``root``."""
    runs = [json.loads(line) for p in sorted(root.glob("seed-*/ablation.jsonl")) for line in p.read_text().splitlines()]
    if not runs:
        return "no runs recorded under " + str(root)
    steps = sorted({r["steps"] for r in runs})
    configs = sorted({r.get("config", "r2d2-tiny") for r in runs})
    lines = [
        f"Toy ICR val (200 images / 200 captions), mean recall of 6 in percent; {'/'.join(configs)} from scratch, "
        f"{'/'.join(map(str, steps))} steps; mean ± sd over seeds. ICM / IQM: val AUC of P(match) (chance 50); "
        "shape / colour: linear probe of the image encoder's [CLS] token (7 classes, chance 14.3)",
        "",
        "| objectives | seeds | dual encoder | + re-ranking top 64 | re-ranked − dual | chance | ICM | IQM "
        "| shape probe | colour probe | train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ROWS:
        rows = [r for r in runs if r["objectives"] == name]
        if not rows:
            continue
        dual = [r["dual_r_mean"] for r in rows]
        rerank = [r["rerank_r_mean"] for r in rows]
        diff: list[float | None] = [None if b is None else b - a for a, b in zip(dual, rerank, strict=True)]
        lines.append(
            f"| {name} | {','.join(str(r['seed']) for r in rows)} | {_spread(dual)} | {_spread(rerank)} | "
            f"{_spread(diff)} | {rows[0]['chance']:.2f} | {_spread([r.get('icm_auc') for r in rows])} | "
            f"{_spread([r.get('iqm_auc') for r in rows])} | {_spread([r.get('shape_probe_cls') for r in rows], 1)} | "
            f"{_spread([r.get('color_probe_cls') for r in rows], 1)} | {statistics.fmean(r['train_s'] for r in rows):.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    from zero_bench_r2d2.training.quickstart import QuickstartConfig

    qs = QuickstartConfig(output_dir="")  # one source for the settings the quickstart and this table share
    ap.add_argument("--steps", type=int, default=qs.steps)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    ap.add_argument("--config", default=qs.config, help="R2D2 config")
    ap.add_argument("--batch-size", type=int, default=qs.batch_size)
    ap.add_argument("--lr", type=float, default=qs.lr)
    ap.add_argument("--warmup-steps", type=int, default=qs.warmup_steps)
    ap.add_argument("--queue-size", type=int, default=qs.queue_size)
    ap.add_argument("--momentum", type=float, default=0.995, help="EMA teacher momentum")
    ap.add_argument("--tgd-rampup-steps", type=int, default=qs.tgd_rampup_steps)
    ap.add_argument("--mlm-weight", type=float, default=qs.mlm_weight, help="MLM weight in the rows with MLM")
    ap.add_argument("--fgr-easy-fraction", type=float, default=qs.fgr_easy_fraction)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--probe-scenes", type=int, default=1500, help="rendered scenes; two thirds fit the probe")
    ap.add_argument("--dual-only", action="store_true", help="skip the re-ranked evaluation (the slow part on a CPU)")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--quick", action="store_true", help="smoke run: 20 steps, 512 corpus pairs, seed 0, two rows, 300 probe scenes"
    )
    ap.add_argument("--table", action="store_true", help="only print the table of the runs already in --out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = args.out or Path(tempfile.mkdtemp(prefix="zero-bench-ablation-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.table:
        print(table(out))
        return
    if args.quick:
        args.steps, args.seeds, args.rows = 20, [0], ["GCPR only", "+ TgD/FgD (all)"]
        args.probe_scenes = min(args.probe_scenes, 300)
    root = _toy(out, args.quick)
    for seed in args.seeds:
        record = root / f"seed-{seed}" / "ablation.jsonl"
        record.parent.mkdir(parents=True, exist_ok=True)
        for name in args.rows:
            row = run_row(name, seed, args, root)
            print(json.dumps(row), flush=True)
            with record.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
    print()
    print(table(out))


if __name__ == "__main__":
    main()
