"""Build time of the leaderboard for 1,000 synthetic submissions (target: under 5 s).

Each synthetic model file holds 1-6 entries over random tasks and settings, reported or (for the tasks in the
official layout) re-scored: its stored predictions, one of a pool of real random rankings of a small zero-toy
split, are re-scored by the build against that split (each distinct file once).  The build reads and validates
every file, re-scores, writes README.md, index.html and one PNG chart per task.

Run: python benchmarks/leaderboard.py [--models 1000] [--pool 8] [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import tempfile
import time
from pathlib import Path

from zero_bench.leaderboard.build import build, stale_files
from zero_bench.leaderboard.schema import (
    Entry,
    ModelCard,
    ModelFile,
    Setting,
    Status,
    dump_model_file,
    predictions_name,
    slugify,
)
from zero_bench.taskspec import TaskKind, all_tasks


def prediction_pool(data_dir: Path, work: Path, size: int, seed: int = 0) -> dict[str, list[tuple[bytes, dict]]]:
    """Per task in the official layout: ``size`` random predictions files (bytes) and the metrics they score."""
    import numpy as np
    import torch

    from zero_bench.formats import MatchingData, load_split
    from zero_bench.predictions import score_predictions, write_matching_predictions, write_retrieval_predictions

    rng = np.random.default_rng(seed)
    pool: dict[str, list[tuple[bytes, dict]]] = {}
    for spec in all_tasks().values():
        if spec.data_folder != "ccmb":
            continue
        data = load_split(spec, data_dir, spec.default_split)
        pool[spec.name] = []
        for k in range(size):
            path = work / f"{spec.name}-{k}.jsonl"
            if isinstance(data, MatchingData):
                write_matching_predictions(path, data, rng.random(data.num_pairs))
            else:
                scores = torch.from_numpy(rng.random((data.num_images, data.num_texts)))
                i2t, t2i = scores.argsort(dim=1, descending=True), scores.T.argsort(dim=1, descending=True)
                write_retrieval_predictions(path, data, spec, i2t, t2i)
            metrics = score_predictions(spec, data, path)
            pool[spec.name].append((path.read_bytes(), {"annotation_sha256": data.annotation_sha256, **metrics}))
    return pool


def synthetic(root: Path, n_models: int, pool: dict[str, list[tuple[bytes, dict]]], seed: int = 0) -> int:
    rng = random.Random(seed)
    tasks = list(all_tasks().values())
    folder = root / "submissions"
    folder.mkdir(parents=True)
    n_entries = 0
    for m in range(n_models):
        name = f"Model {m:04d} {rng.choice(['ViT-B/16', 'ViT-L/14', 'RN50', '小模型'])}"
        slug = slugify(name)
        card = ModelCard(
            name=name,
            organisation=f"Lab {m % 37}",
            link=f"https://example.org/{m}",
            parameters=rng.randint(10**7, 10**9),
            training_data=f"corpus {m % 11}",
        )
        entries, keys = [], set()
        for _ in range(rng.randint(1, 6)):
            spec = rng.choice(tasks)
            settings: list[Setting] = ["zero-shot", "fine-tuned"]
            statuses: list[Status] = ["re-scored", "reported"] if spec.name in pool else ["reported"]
            setting, status = rng.choice(settings), rng.choice(statuses)
            if (spec.name, setting, status) in keys:
                continue
            keys.add((spec.name, setting, status))
            if spec.kind is TaskKind.retrieval:
                metrics = {k: round(rng.uniform(20, 99), 2) for k in spec.metrics if not k.endswith("mean")}
                t2i = [metrics[k] for k in ("img_r1", "img_r5", "img_r10") if k in metrics]
                i2t = [metrics[k] for k in ("txt_r1", "txt_r5", "txt_r10") if k in metrics]
                if t2i and "img_r_mean" in spec.metrics:
                    metrics["img_r_mean"] = sum(t2i) / 3
                if i2t and "txt_r_mean" in spec.metrics:
                    metrics["txt_r_mean"] = sum(i2t) / 3
                if "r_mean" in spec.metrics:
                    metrics["r_mean"] = (sum(t2i) + sum(i2t)) / 6
            else:
                metrics = {"auc": round(rng.uniform(50, 99), 2), "accuracy": round(rng.uniform(50, 99), 2)}
            extra = {}
            if status == "re-scored":
                body, scored = rng.choice(pool[spec.name])
                rel = predictions_name(slug, spec.name, spec.default_split, setting)
                path = folder / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
                metrics = {k: v for k, v in scored.items() if k != "annotation_sha256"}
                extra = {
                    "annotation_sha256": scored["annotation_sha256"],
                    "predictions_sha256": hashlib.sha256(body).hexdigest(),
                    "predictions_file": rel,
                }
            entries.append(
                Entry(
                    task=spec.name,
                    task_version=spec.version,
                    split=spec.default_split,
                    setting=setting,
                    fine_tuned_on=spec.name if setting == "fine-tuned" else None,
                    status=status,
                    source="synthetic",
                    metrics=metrics,
                    mean_recall=spec.mean_recall,
                    **extra,
                )
            )
        (folder / f"{slug}.json").write_text(dump_model_file(ModelFile(model=card, entries=entries)), encoding="utf-8")
        n_entries += len(entries)
    return n_entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=8, help="distinct predictions files per task")
    parser.add_argument("--keep", type=Path, help="build here and keep the result")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lb-bench-"))
    root = args.keep or work / "leaderboard"
    try:
        from zero_bench.data.toy import ToySizes, generate_zero_toy

        small = ToySizes(
            itr_train=2, itr_val=100, itm_train=2, itm_val=100, flickr_train=1, flickr_val=1, flickr_test=20
        )
        data_dir = generate_zero_toy(work / "data", corpus=False, sizes=small) / "ccmb"
        (work / "pool").mkdir()
        n_entries = synthetic(root, args.models, prediction_pool(data_dir, work / "pool", args.pool))
        import matplotlib  # noqa: F401  (imported outside the timing, as in a warm CLI call)

        start = time.perf_counter()
        written = build(root, data_dir=data_dir)
        took = time.perf_counter() - start
        sizes = {p.name: p.stat().st_size for p in written}
        start = time.perf_counter()
        assert stale_files(root, data_dir) == []
        check = time.perf_counter() - start
        print(
            f"{args.models} submissions, {n_entries} entries: build {took:.2f} s (target < 5 s), "
            f"stale check {check:.2f} s; README {sizes['README.md'] / 1e6:.2f} MB, "
            f"index.html {sizes['index.html'] / 1e6:.2f} MB, {sum(p.suffix == '.png' for p in written)} charts"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
