"""Re-ranking cost: our evaluator against the official per-query loop, same tiny R2D2 and generated ICR data.

    python benchmarks/rerank.py --images 300 --per-image 2 --top-k 16 --threads 1

* ours: ``evaluate(plugin, "icr", top_k=k, use_cache=False)`` on CPU: candidate pairs of both directions pooled and
  de-duplicated, scored in batches of ``--pair-batch`` across queries.  Its re-ranking time is the run minus the
  same run with ``top_k=0`` (encoding + cosine ranking only).
* official: ``compute_cross_score`` restated (zero_bench/testing.py): for each image query its k candidates
  (image repeated k times) in one batch, then for each text query its k candidates, nothing shared between the
  directions; encoding through the module methods in batches of 64.

Both are checked to give the same recall numbers.  Prints one JSON line per repeat (best of ``--inner`` timings).  Weights are random (a tiny
R2D2 perturbed as the official tiny fixture), captions random Chinese characters, images random colour noise.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CHARS = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面"
    "而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好"
    "应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道"
)


def make_data(root: Path, n_images: int, per_image: int, seed: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    image_dir = root / "IQR_IQM_ICR_ICM_images"
    image_dir.mkdir(parents=True)
    for i in range(n_images):
        base = rng.integers(0, 256, size=3)
        pixels = np.clip(base + rng.integers(-60, 61, size=(40, 40, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(image_dir / f"img{i:05d}.jpg", quality=95)
    lines = []
    for _j in range(per_image):
        for i in range(n_images):
            text = "".join(rng.choice(list(CHARS), size=int(rng.integers(8, 63))))
            lines.append(json.dumps({"text": text, "image_path": f"images/img{i:05d}.jpg"}, ensure_ascii=False))
    path = root / "ICR" / "val" / "long_itr_val.json"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_ours(plugin, data: Path, k: int, pair_batch: int):
    from zero_bench.evaluation.evaluator import evaluate

    began = time.perf_counter()
    result = evaluate(plugin, "icr", data_dir=data, top_k=k, use_cache=False, device="cpu", pair_batch_size=pair_batch)
    return result, time.perf_counter() - began


def run_official(plugin, data: Path, k: int):
    from zero_bench.testing import official_cross_scores, official_rankings, official_recalls, read_itr
    from zero_bench_r2d2.testing import encode_all

    images, texts, img2txt = read_itr(data / "ICR" / "val" / "long_itr_val.json", data / "IQR_IQM_ICR_ICM_images")
    began = time.perf_counter()
    with torch.inference_mode():
        image_tokens, text_tokens, text_mask, sim = encode_all(plugin, images, texts, batch=64)
        encoded = time.perf_counter()
        i2t, t2i, pairs = official_cross_scores(plugin.model, sim, image_tokens, text_tokens, text_mask, k)
    rank_i2t, rank_t2i = official_rankings(i2t, t2i)
    loop = time.perf_counter() - encoded
    txt2img = {t: i for i, ts in img2txt.items() for t in ts}
    metrics = official_recalls(rank_i2t, rank_t2i, img2txt, txt2img)
    return metrics, pairs, encoded - began, loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="r2d2-tiny")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--per-image", type=int, default=2)
    parser.add_argument("--top-k", type=int, default=16)
    parser.add_argument("--pair-batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: stable on a shared machine)")
    parser.add_argument("--repeat", type=int, default=1, help="printed runs")
    parser.add_argument("--inner", type=int, default=2, help="timings per run (the best is printed)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from zero_bench_r2d2.plugin import create_r2d2
    from zero_bench_r2d2.testing import save_random_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_data(root / "data", args.images, args.per_image, seed=0)
        checkpoint = save_random_checkpoint(root / "tiny.pt", config=args.config)
        plugin = create_r2d2(checkpoint=str(checkpoint), config=args.config)
        run_ours(plugin, root / "data", 0, args.pair_batch)  # warm-up (first calls, image decoding caches)
        for _ in range(args.repeat):
            # best of --inner runs of each, interleaved, to damp the noise of a shared machine
            t_dual = t_ours = t_enc = t_loop = float("inf")
            for _ in range(args.inner):
                dual, took = run_ours(plugin, root / "data", 0, args.pair_batch)
                t_dual = min(t_dual, took)
                ours, took = run_ours(plugin, root / "data", args.top_k, args.pair_batch)
                t_ours = min(t_ours, took)
                metrics, official_pairs, enc, loop = run_official(plugin, root / "data", args.top_k)
                t_enc, t_loop = min(t_enc, enc), min(t_loop, loop)
            same = all(abs(ours.metrics[key] - metrics[key]) < 1e-9 for key in ours.metrics)
            ours_rerank = t_ours - t_dual
            print(
                json.dumps(
                    {
                        "config": args.config,
                        "images": args.images,
                        "texts": args.images * args.per_image,
                        "top_k": args.top_k,
                        "threads": args.threads,
                        "pair_batch": args.pair_batch,
                        "pairs_ours": ours.num_queries["pairs_scored"],
                        "pairs_official": official_pairs,
                        "rerank_s_ours": round(ours_rerank, 3),
                        "rerank_s_official": round(t_loop, 3),
                        "rerank_speedup": round(t_loop / ours_rerank, 2),
                        "total_s_ours": round(t_ours, 3),
                        "total_s_official": round(t_enc + t_loop, 3),
                        "total_speedup": round((t_enc + t_loop) / t_ours, 2),
                        "same_metrics": same,
                        "r_mean": round(ours.metrics["r_mean"], 4),
                        "r_mean_dual": round(dual.metrics["r_mean"], 4),
                    }
                ),
                flush=True,
            )
            if not same:
                raise SystemExit(f"metrics differ: ours {ours.metrics} official {metrics}")


if __name__ == "__main__":
    main()
