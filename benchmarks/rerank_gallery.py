"""Does the R2D2 ranking stage's gain depend on the size of the gallery?  Toy ICR / IQR val at several sizes.

For each checkpoint (with the seed its toy was made with) and each val size, generates zero-toy's ICR / IQR val at
that many images (every other size as the quickstart's; each toy section has its own random stream, so the first
images of a larger val are those of a smaller one and nothing else changes), evaluates the dual encoder (top-k 0)
and the official re-ranking (the task's top k), and prints the mean recall of 6 of both and their difference, then
the mean difference over the checkpoints per task and size.  The quickstart reports its toy at 200 images, where
the cosine's top 64 is a third of the gallery.

    python benchmarks/rerank_gallery.py CKPT[@SEED] ... --sizes 200 500 1000 --data-root /tmp/rerank-gallery
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from statistics import mean


def toy_val(root: Path, seed: int, images: int) -> Path:
    """The toy ccmb folder at the quickstart's sizes with ``images`` ICR / IQR val pairs (made once per root)."""
    from dataclasses import fields

    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_params, toy_task_dir
    from zero_bench_r2d2.training.quickstart import QuickstartConfig

    config = QuickstartConfig(output_dir=str(root))
    counts = {f.name: getattr(config, f.name) for f in fields(ToySizes) if hasattr(config, f.name)}
    sizes = ToySizes(**(counts | {"itr_val": images}))
    folder = root / f"seed{seed}-val{images}"
    marker = toy_task_dir(folder) / "zero-toy.json"
    if not marker.is_file() or json.loads(marker.read_text(encoding="utf-8")) != toy_params(seed, sizes):
        generate_zero_toy(root=folder, seed=seed, sizes=sizes, corpus=False)
    return toy_task_dir(folder)


def gains(checkpoint: str, seed: int, sizes: list[int], tasks: list[str], root: Path) -> list[dict]:
    """One row per (task, size): the dual encoder's and the re-ranked mean recall of one checkpoint."""
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.plugin import create_r2d2

    model = create_r2d2(checkpoint=checkpoint, config="r2d2-toy")
    rows = []
    for task in tasks:
        spec = get_task(task)
        for images in sizes:
            data = toy_val(root, seed, images)
            dual, reranked = (
                evaluate(model, spec, "val", data_dir=data, top_k=k, use_cache=False, device="cpu").metrics["r_mean"]
                for k in (0, None)
            )
            rows.append({"task": task, "images": images, "dual": dual, "reranked": reranked})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", help="CKPT or CKPT@SEED (the seed its toy was made with; default 0)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[200, 500, 1000], help="val images (ICR / IQR)")
    ap.add_argument("--tasks", nargs="+", default=["icr", "iqr"], choices=["icr", "iqr"])
    ap.add_argument("--data-root", type=Path, required=True, help="where the toy val sets are generated")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if any(n < 1 for n in args.sizes):
        ap.error("--sizes: each a positive number of images")
    runs = [(path, seed) for path, _, seed in (item.partition("@") for item in args.checkpoints)]
    if bad := [f"{path}@{seed}" for path, seed in runs if seed and not seed.isdigit()]:
        ap.error(f"a checkpoint's seed is not a whole number: {bad[0]}")
    import torch

    from zero_bench.errors import ZeroBenchError

    torch.set_num_threads(args.threads)
    try:
        report([(path, int(seed or 0)) for path, seed in runs], args.sizes, args.tasks, args.data_root)
    except ZeroBenchError as err:  # a checkpoint that is not there, a folder that cannot be written: one line
        ap.exit(1, f"rerank_gallery.py: {err}\n")


def report(checkpoints: list[tuple[str, int]], sizes: list[int], tasks: list[str], root: Path) -> None:
    """Print the per-checkpoint rows, then the mean gain per task and size."""
    print("| checkpoint | seed | task | val images | dual encoder | re-ranked | re-ranked - dual |")
    print("|---|---|---|---|---|---|---|")
    by_cell: dict[tuple[str, int], list[float]] = {}
    for checkpoint, seed in checkpoints:
        for row in gains(checkpoint, seed, sizes, tasks, root):
            gain = row["reranked"] - row["dual"]
            by_cell.setdefault((row["task"], row["images"]), []).append(gain)
            print(
                f"| {checkpoint} | {seed} | {row['task']} | {row['images']} | {row['dual']:.2f} | "
                f"{row['reranked']:.2f} | {gain:+.2f} |"
            )
    print()
    print("| task | val images | checkpoints | mean re-ranked - dual | lowest | highest |")
    print("|---|---|---|---|---|---|")
    for (task, images), values in by_cell.items():
        print(f"| {task} | {images} | {len(values)} | {mean(values):+.2f} | {min(values):+.2f} | {max(values):+.2f} |")


if __name__ == "__main__":
    main()
