"""Training throughput: samples/s of R2D2 pre-training (all objectives) and the share of time spent waiting for
data.  CPU: ``r2d2-tiny`` (fp32).  With a CUDA GPU also ``r2d2-vit-b`` in bf16 (224 px; random init).

    python benchmarks/train.py [--steps 40] [--batch-size 32] [--workers 2] [--vitb-batch-size 64]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch


def measure(
    config: str, corpus: Path, out: Path, steps: int, batch_size: int, workers: int, device: str, precision: str
) -> dict:
    from zero_bench_r2d2.training.objectives import ObjectiveConfig
    from zero_bench_r2d2.training.recipes import pretrain

    t0 = time.perf_counter()
    summary = pretrain(
        config=config,
        corpus=corpus,
        output_dir=out,
        objective=ObjectiveConfig(queue_size=4096),
        dropout=None,
        train={
            "max_steps": steps,
            "batch_size": batch_size,
            "lr": 1e-4,
            "warmup_steps": 10,
            "num_workers": workers,
            "show_progress": False,
            "device": device,
            "precision": precision,
            "log_every": 1,
        },
    )
    hist = summary["history"][5:]  # skip warm-up steps (allocation, worker start)
    return {
        "config": config,
        "device": device,
        "precision": precision,
        "batch": batch_size,
        "workers": workers,
        "samples_per_s": statistics.median(r["samples_per_s"] for r in hist),
        "data_share": summary["data_share"],
        "wall_s": time.perf_counter() - t0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--vitb-batch-size", type=int, default=64)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_corpus_dir

    root = Path(tempfile.mkdtemp(prefix="zero-bench-train-bench-"))
    generate_zero_toy(
        root=root,
        seed=0,
        sizes=ToySizes(
            corpus=max(2000, args.batch_size * (args.steps + 5)),
            itr_train=2,
            itr_val=2,
            itm_train=2,
            itm_val=2,
            flickr_train=1,
            flickr_val=1,
            flickr_test=1,
        ),
    )
    corpus = toy_corpus_dir(root)
    rows = [measure("r2d2-tiny", corpus, root / "tiny", args.steps, args.batch_size, args.workers, "cpu", "fp32")]
    if torch.cuda.is_available():
        rows.append(
            measure(
                "r2d2-vit-b",
                corpus,
                root / "vitb",
                args.steps,
                args.vitb_batch_size,
                max(4, args.workers),
                "cuda",
                "bf16",
            )
        )
    else:
        print("no CUDA GPU: ViT-B bf16 not measured")
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; all objectives (GCPR, FGR, MLM, TgD, FgD)"
    )
    print("| config | device | precision | batch | workers | samples/s | data-loading share |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['config']} | {r['device']} | {r['precision']} | {r['batch']} | {r['workers']} | {r['samples_per_s']:.1f} | {100 * r['data_share']:.1f}% |"
        )


if __name__ == "__main__":
    main()
