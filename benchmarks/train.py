"""Training throughput: samples/s of R2D2 pre-training (all objectives) and the share of time spent waiting for
data.  CPU: ``r2d2-tiny`` (fp32).  With a CUDA GPU also ``r2d2-vit-b`` in bf16 (224 px; random init).  Then the
per-step overheads outside the model, each against what it replaced, in this process: the AdamW step (fused kernel
vs torch's for-loop), the teacher's EMA update (multi-tensor vs a loop over the parameters) and whole-word masking
(a text's second draw, its jieba words remembered, vs its first).

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


def _best_ms(fn, calls: int, rounds: int = 5) -> float:
    """Best of ``rounds`` mean times of ``calls`` calls, ms (the machine is shared: the minimum is the cost)."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls * 1000)
    return min(times)


def overheads(config: str, corpus: Path) -> list[tuple[str, float, float]]:
    """(part, ms before, ms now) per training step of ``config`` (masking: per text)."""
    import copy

    import numpy as np

    from zero_bench.data.corpus import load_corpus
    from zero_bench.training.trainer import adamw, param_groups
    from zero_bench_r2d2.tokenizer import get_tokenizer
    from zero_bench_r2d2.training import masking
    from zero_bench_r2d2.training.distill import ema_pairs, ema_update
    from zero_bench_r2d2.training.recipes import build_model

    model = build_model(config, None)
    teacher = copy.deepcopy(model)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    loop_adamw = torch.optim.AdamW(param_groups(model, 0.02), lr=1e-4, foreach=False)
    fused = adamw(param_groups(model, 0.02), 1e-4)

    @torch.no_grad()
    def ema_loop() -> None:  # what ema_update did before: pair by name and update, every step
        params = dict(teacher.named_parameters())
        for name, p in model.named_parameters():
            params[name].mul_(0.995).add_(p.detach().to(params[name].dtype), alpha=0.005)
        buffers = dict(teacher.named_buffers())
        for name, b in model.named_buffers():
            buffers[name].copy_(b)

    pairs = ema_pairs(teacher, model)  # as RetrievalObjective keeps them

    titles = [t for t in load_corpus(corpus)["title"][:400] if t]
    tokenizer, rng = get_tokenizer(), np.random.default_rng(0)
    masking.whole_word_mask(titles[0], tokenizer, rng)  # jieba's dictionary loads on the first call

    def mask_all() -> None:
        for text in titles:
            masking.whole_word_mask(text, tokenizer, rng)

    masking._word_bounds.cache_clear()
    first = _best_ms(mask_all, 1, rounds=1) / len(titles)
    return [
        ("AdamW step", _best_ms(loop_adamw.step, 20), _best_ms(fused.step, 20)),
        ("EMA teacher update", _best_ms(ema_loop, 20), _best_ms(lambda: ema_update(teacher, model, 0.995, pairs), 20)),
        ("whole-word masking, per text", first, _best_ms(mask_all, 1) / len(titles)),
    ]


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

    print(f"\nper-step overheads outside the model, r2d2-toy, {torch.get_num_threads()} threads, best of 5, ms")
    print("| part | before | now | ratio |")
    print("|---|---|---|---|")
    for part, before, now in overheads("r2d2-toy", corpus):
        print(f"| {part} | {before:.2f} | {now:.2f} | {before / now:.2f}x |")


if __name__ == "__main__":
    main()
