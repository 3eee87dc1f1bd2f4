"""Build time of the leaderboard for 1,000 synthetic submissions (target: under 5 s).

Each synthetic model file holds 1-6 entries over random tasks and settings, half of them re-scored (with a
small stored predictions file whose checksum the build verifies), half reported.  The build reads and
validates every file, writes README.md, index.html and one PNG chart per task.

Run: python benchmarks/leaderboard.py [--models 1000] [--keep DIR]
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
from zero_bench.leaderboard.schema import Entry, ModelCard, ModelFile, dump_model_file, predictions_name, slugify
from zero_bench.taskspec import TaskKind, all_tasks


def synthetic(root: Path, n_models: int, seed: int = 0) -> int:
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
            setting = rng.choice(["zero-shot", "fine-tuned"])
            status = rng.choice(["re-scored", "reported"])
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
                rel = predictions_name(slug, spec.name, spec.default_split, setting)
                path = folder / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                body = f'{{"pair_id": 0, "score": {rng.random()}}}\n'.encode() * 50
                path.write_bytes(body)
                extra = {
                    "annotation_sha256": hashlib.sha256(spec.name.encode()).hexdigest(),
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
    parser.add_argument("--keep", type=Path, help="build here and keep the result")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lb-bench-"))
    root = args.keep or work / "leaderboard"
    try:
        n_entries = synthetic(root, args.models)
        import matplotlib  # noqa: F401  (imported outside the timing, as in a warm CLI call)

        start = time.perf_counter()
        written = build(root)
        took = time.perf_counter() - start
        sizes = {p.name: p.stat().st_size for p in written}
        start = time.perf_counter()
        assert stale_files(root) == []
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
