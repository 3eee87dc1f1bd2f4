"""One table of R2D2 throughput on one device, each figure next to the same work done the official way.

    bash benchmarks/gpu.sh                   # CUDA: r2d2-vit-l, bf16 (about 5 minutes on one H100-class GPU)
    bash benchmarks/gpu.sh --device cpu      # smoke mode: r2d2-tiny, tiny sizes (checks that everything runs)

Rows (random weights; a throughput does not depend on them):

* image / text encoding: ``encode_images`` / ``encode_texts`` of the plugin (towers on transformers' SDPA
  attention) under autocast; official: the same towers on eager attention (what the official code's transformers
  4.15 ran), same autocast and batch.
* re-ranking: :func:`benchmarks.rerank.speed` (pairs of both directions pooled, states read back block by block,
  padding cut, each image's keys/values once per batch) against the official per-query, per-direction loop.
* pre-training step: ``pretrain`` with every objective on a generated corpus, median samples/s after warm-up; MFU
  = (FLOPs of one step, counted by ``torch.utils.flop_counter`` on a counted run) x steps/s / the device's dense
  peak (``--peak-tflops``, or the table below for known GPUs).  No official trainer to compare with: there is none
  that runs here.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

# Dense bf16 tensor-core peaks from NVIDIA's data sheets (TFLOPS, without sparsity), matched on the device name.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100 SXM": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0}


def peak_tflops(device: torch.device, given: float | None) -> float | None:
    if given is not None:
        return given
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def _timed(fn, repeat: int, sync) -> float:
    fn()  # warm-up
    sync()
    began = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync()
    return (time.perf_counter() - began) / repeat


Row = tuple[str, float, float | None, str]  # what, ours, the official way (None: there is none), settings


def encoding_rows(args: argparse.Namespace, device: torch.device, sync) -> list[Row]:
    from zero_bench.evaluation.encode import autocast
    from zero_bench_r2d2.plugin import create_r2d2

    plugin = create_r2d2(config=args.config, device=str(device))
    size = plugin.model.config.image_size
    pixels = torch.randn(args.image_batch, 3, size, size, device=device)
    # Captions of the benchmark's typical length (about 30 characters): the official tokenizer pads to 64 anyway.
    texts = ["一个穿着格子花呢夹克衫的小男孩正在南瓜地里抓一个大南瓜"] * args.text_batch
    rows: list[Row] = []
    timings = {}
    for mode in ("sdpa", "eager"):
        plugin.model.visual_encoder.set_attn_implementation(mode)
        plugin.model.text_encoder.set_attn_implementation(mode)
        with torch.inference_mode(), autocast(device, args.precision):
            t_img = _timed(lambda: plugin.encode_images(pixels), args.repeat, sync)
            t_txt = _timed(lambda: plugin.encode_texts(texts), args.repeat, sync)
        timings[mode] = (args.image_batch / t_img, args.text_batch / t_txt)
    unit = f"{args.precision}, batch {args.image_batch}"
    rows.append(("image encoding (images/s)", timings["sdpa"][0], timings["eager"][0], unit))
    unit = f"{args.precision}, batch {args.text_batch}"
    rows.append(("text encoding (texts/s)", timings["sdpa"][1], timings["eager"][1], unit))
    return rows


def rerank_row(args: argparse.Namespace, root: Path) -> Row:
    import rerank

    opts = argparse.Namespace(
        joint_layers=6,
        per_image=args.per_image,
        block=1024,
        inner=1,
        pair_batch=args.pair_batch,
        device=args.device,
        precision=args.precision,
    )
    got = rerank.speed(args.config, opts, args.rerank_images, args.top_k, root)
    unit = (
        f"{got['pairs_ours']} vs {got['pairs_official']} pairs, k={args.top_k}, top-10 agree {got['top10_agree']:.3f}"
    )
    return "re-ranking (pairs/s)", got["pairs_per_s_ours"], got["pairs_per_s_official"], unit


def pretrain_row(args: argparse.Namespace, device: torch.device, root: Path) -> Row:
    import train
    from torch.utils.flop_counter import FlopCounterMode

    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_corpus_dir

    rows = args.train_batch * (args.train_steps + 5)
    sizes = ToySizes(
        corpus=rows, itr_train=2, itr_val=2, itm_train=2, itm_val=2, flickr_train=1, flickr_val=1, flickr_test=1
    )
    generate_zero_toy(root=root / "toy", seed=0, sizes=sizes)
    corpus = toy_corpus_dir(root / "toy")
    run = lambda out, steps: train.measure(  # noqa: E731
        args.config, corpus, out, steps, args.train_batch, args.workers, args.device, args.precision
    )
    counter = FlopCounterMode(display=False)
    counted_steps = 6  # the arithmetic per step is the same in any step (train.measure reports steps 6 on)
    with counter:
        run(root / "counted", counted_steps)
    flops_per_sample = counter.get_total_flops() / (counted_steps * args.train_batch)
    got = run(root / "timed", args.train_steps)
    samples_per_s = got["samples_per_s"]
    peak = peak_tflops(device, args.peak_tflops)
    mfu = f"MFU {100 * flops_per_sample * samples_per_s / (peak * 1e12):.1f}% of {peak:g} TFLOPS" if peak else "MFU n/a"
    unit = f"{args.precision}, batch {args.train_batch}, {flops_per_sample / 1e9:.1f} GFLOP/sample, {mfu}"
    return "pre-training step (samples/s)", samples_per_s, None, unit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--config", default=None, help="default: r2d2-vit-l on CUDA, r2d2-tiny on CPU")
    parser.add_argument("--precision", default=None, choices=["fp32", "fp16", "bf16"], help="default: bf16")
    parser.add_argument("--image-batch", type=int, default=None)
    parser.add_argument("--text-batch", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--rerank-images", type=int, default=None)
    parser.add_argument("--per-image", type=int, default=5)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--pair-batch", type=int, default=256)
    parser.add_argument("--train-batch", type=int, default=None)
    parser.add_argument("--train-steps", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device's dense peak for the MFU")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU here: run with --device cpu for the smoke mode")
    gpu = device.type == "cuda"
    defaults = {
        "config": "r2d2-vit-l" if gpu else "r2d2-tiny",
        "precision": "bf16",
        "image_batch": 256 if gpu else 4,
        "text_batch": 1024 if gpu else 8,
        "repeat": 10 if gpu else 1,
        "rerank_images": 200 if gpu else 8,
        "top_k": 16 if gpu else 4,
        "train_batch": 64 if gpu else 8,
        "train_steps": 30 if gpu else 6,
        "workers": 8 if gpu else 0,
    }
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if gpu:
        torch.backends.cuda.matmul.allow_tf32 = True
    sync = torch.cuda.synchronize if gpu else (lambda: None)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="zero-bench-gpu-") as tmp:
        rows = encoding_rows(args, device, sync)
        rows.append(rerank_row(args, Path(tmp)))
        rows.append(pretrain_row(args, device, Path(tmp)))
    name = torch.cuda.get_device_name(device) if gpu else f"CPU ({torch.get_num_threads()} threads)"
    print(f"\n{args.config} on {name}, torch {torch.__version__}; {time.perf_counter() - began:.0f} s in all")
    print("| what | ours | official way | ratio | settings |")
    print("|---|---|---|---|---|")
    for what, mine, official, unit in rows:
        ratio = f"{mine / official:.2f}x" if official else "n/a"
        official_text = f"{official:.1f}" if official else "none"
        print(f"| {what} | {mine:.1f} | {official_text} | {ratio} | {unit} |")


if __name__ == "__main__":
    main()
