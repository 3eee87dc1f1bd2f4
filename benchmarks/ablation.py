"""Ablation of the R2D2 pre-training objectives on zero-toy: GCPR only, + FGR, + MLM, + TgD/FgD.

Each row pre-trains ``r2d2-tiny`` from scratch for the same number of steps (same seed, data and schedule) and
evaluates toy ICR (val, 200 images): mean recall of the dual encoder alone (top_k 0) and with the cross-encoder
re-ranking of the task's top 64.  Chance level is printed beside.  Run (CPU, ~10 min):

    python benchmarks/ablation.py [--steps 600] [--out /tmp/ablation]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

ROWS = {
    "GCPR only": {"fgr_weight": 0, "mlm_weight": 0, "tgd_alpha": 0, "fgd_weight": 0},
    "+ FGR": {"mlm_weight": 0, "tgd_alpha": 0, "fgd_weight": 0},
    "+ MLM": {"tgd_alpha": 0, "fgd_weight": 0},
    "+ TgD/FgD (all)": {},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--queue-size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_corpus_dir, toy_task_dir
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.training.objectives import ObjectiveConfig
    from zero_bench_r2d2.training.quickstart import chance_metrics
    from zero_bench_r2d2.training.recipes import plugin_for, pretrain

    out = args.out or Path(tempfile.mkdtemp(prefix="zero-bench-ablation-"))
    sizes = ToySizes(
        corpus=4000, itr_train=8, itr_val=200, itm_train=8, itm_val=8, flickr_train=2, flickr_val=2, flickr_test=2
    )
    if not (toy_corpus_dir(out) / "manifest.json").is_file():
        generate_zero_toy(root=out, seed=0, sizes=sizes)
    spec = get_task("icr")
    chance = chance_metrics(load_split(spec, toy_task_dir(out), "val"))["r_mean"]
    results = []
    for name, overrides in ROWS.items():
        t0 = time.perf_counter()
        objective = ObjectiveConfig(queue_size=args.queue_size, **overrides)
        summary = pretrain(
            config="r2d2-tiny",
            corpus=toy_corpus_dir(out),
            output_dir=out / name.replace(" ", "_").replace("/", "-"),
            objective=objective,
            dropout=0.0,
            train={
                "max_steps": args.steps,
                "batch_size": args.batch_size,
                "lr": args.lr,
                "warmup_steps": 30,
                "show_progress": False,
                "device": "cpu",
                "log_every": 50,
            },
        )
        train_s = time.perf_counter() - t0
        plugin = plugin_for(summary["trainer"].model)
        dual = evaluate(
            plugin, spec, "val", data_dir=toy_task_dir(out), top_k=0, use_cache=False, device="cpu"
        ).metrics["r_mean"]
        rerank = evaluate(plugin, spec, "val", data_dir=toy_task_dir(out), use_cache=False, device="cpu").metrics[
            "r_mean"
        ]
        row = {
            "objectives": name,
            "dual_r_mean": round(dual, 2),
            "rerank_r_mean": round(rerank, 2),
            "chance": round(chance, 2),
            "train_s": round(train_s, 1),
            "steps": args.steps,
        }
        results.append(row)
        print(json.dumps(row), flush=True)
    print(
        f"\nToy ICR val (200 images / 200 captions), mean recall of 6 (R@1/5/10 both ways), r2d2-tiny from scratch, "
        f"{args.steps} steps x {args.batch_size}, lr {args.lr}, 1 CPU thread"
    )
    print("| objectives | dual encoder | + re-ranking top 64 | chance | train s |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['objectives']} | {r['dual_r_mean']:.2f} | {r['rerank_r_mean']:.2f} | {r['chance']:.2f} | {r['train_s']:.0f} |"
        )
    (out / "ablation.json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
