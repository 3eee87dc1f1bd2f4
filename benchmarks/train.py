"""Training throughput: samples/s of R2D2 pre-training (all objectives) and the share of time spent waiting for
data.  CPU: ``r2d2-tiny`` (fp32).  With a CUDA GPU also ``r2d2-vit-b`` in bf16 (224 px; random init).  Then the
per-step costs, each against what it replaced, in this process: the AdamW step (fused kernel vs torch's for-loop),
the teacher's EMA update (multi-tensor vs a loop over the parameters), whole-word masking (a text's second draw, its
jieba words remembered, vs its first), FGR's pair logits (each image's own work once and the last joint layer for
[CLS] alone, vs the heads on the full cross encoders over expanded rows) and a corpus batch after the first epoch
(pixels kept vs decoded and transformed again).

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
        ("FGR's pair logits, forward + backward", *fgr_logits(build_model(config, None, dropout=0.0))),
        ("FGR's pair logits after an evaluation's top-k", *after_topk(build_model(config, None, dropout=0.0))),
        ("corpus batch after the first epoch (decode + transform vs kept pixels)", *corpus_batches(corpus, model)),
    ]


def fgr_logits(model, batch: int = 32) -> tuple[float, float]:
    """(ms before, ms now) of FGR's logits and their backward: both heads on the full cross encoders over 3 x
    ``batch`` expanded pairs (own, negative image, negative text), vs each image's own work once and the last layer
    for [CLS] alone (``pair_image``).  Random states of the model's shapes; text lengths as the toy corpus's."""
    g = torch.Generator().manual_seed(0)
    vision = model.config.vision
    tokens = (vision["image_size"] // vision["patch_size"]) ** 2 + 1
    images = torch.randn(batch, tokens, vision["hidden_size"], generator=g, requires_grad=True)
    texts = torch.randn(3 * batch, 64, model.config.text["hidden_size"], generator=g, requires_grad=True)
    lengths = torch.randint(16, 65, (3 * batch,), generator=g)
    mask = (torch.arange(64).view(1, -1) < lengths.view(-1, 1)).long()
    own = torch.arange(batch)
    pair_image = torch.cat([own, torch.randint(0, batch, (batch,), generator=g), own])

    def full() -> None:
        rows = images[pair_image]
        logits_t = model.itm_head(model.text_image_cross(texts, mask, rows)[:, 0])
        logits_i = model.itm_head_i(model.image_text_cross(rows, texts, mask)[:, 0])
        (logits_t.sum() + logits_i.sum()).backward()

    def shared() -> None:
        logits_t = model.text_image_logits(images, texts, mask, pair_image)
        logits_i = model.image_text_logits(images, texts, mask, pair_image)
        (logits_t.sum() + logits_i.sum()).backward()

    return _best_ms(full, 5), _best_ms(shared, 5)


def after_topk(model) -> tuple[float, float]:
    """(ms before, ms now) of FGR's logits (forward + backward) after the evaluator's retrieval top-k has run in
    this process.  Now: the top-k's tile threads run torch on one thread each, and the step costs what it did
    before the top-k (printed too).  Before: those threads ran torch at its default count, so each kept an OpenMP
    team of its own; emulated last (it cannot be undone in a process) by one such thread, alive, as they were."""
    from concurrent.futures import ThreadPoolExecutor

    from zero_bench.metrics.retrieval import TILE_COLS, retrieval_topk

    fresh = fgr_logits(model)[1]
    g = torch.Generator().manual_seed(1)
    retrieval_topk(torch.randn(500, 16, generator=g), torch.randn(TILE_COLS + 500, 16, generator=g), 10)
    now = fgr_logits(model)[1]
    lingering = ThreadPoolExecutor(max_workers=1)
    lingering.submit(torch.matmul, torch.ones(64, 64), torch.ones(64, 64)).result()
    before = fgr_logits(model)[1]
    print(f"(FGR's pair logits before any top-k in this process: {fresh:.2f} ms)")
    lingering.shutdown()
    return before, now


def corpus_batches(corpus: Path, model, batch: int = 32, batches: int = 40) -> tuple[float, float]:
    """(ms before, ms now) per pre-training batch of the second epoch: every row decoded and transformed again
    (no pixels kept) vs the pixels kept from the first epoch (the quickstart's loader: main process)."""
    import itertools

    from zero_bench_r2d2.training.data import PIXEL_CACHE_BYTES, CorpusLoader, TextImageTransform

    def second_epoch(cache_bytes: int) -> float:
        transform = TextImageTransform(model.config.image_size, mask_rate=0.15, cache_bytes=cache_bytes)
        loader = CorpusLoader(corpus, transform, batch)
        for _ in itertools.islice(loader.epoch(0), batches):
            pass
        return _best_ms(lambda: list(itertools.islice(loader.epoch(0), batches)), 1, rounds=3) / batches

    return second_epoch(0), second_epoch(PIXEL_CACHE_BYTES)


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

    print(f"\nper-step costs against what they replaced, r2d2-toy, {torch.get_num_threads()} threads, best of 5, ms")
    print("| part | before | now | ratio |")
    print("|---|---|---|---|")
    for part, before, now in overheads("r2d2-toy", corpus):
        print(f"| {part} | {before:.2f} | {now:.2f} | {before / now:.2f}x |")


if __name__ == "__main__":
    main()
