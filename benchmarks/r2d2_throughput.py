"""Throughput of the R2D2 plugin: image / text encoding and cross-encoder pair scoring (random weights).

    python benchmarks/r2d2_throughput.py --config r2d2-vit-b --device cuda --dtype bf16 --batch 64

Prints one JSON line.  Numbers depend on the machine; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext

import torch


def _timed(fn, repeat: int, sync) -> float:
    fn()  # warm-up
    sync()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="r2d2-tiny")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="fp32")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from zero_bench_r2d2.plugin import create_r2d2

    plugin = create_r2d2(config=args.config, device=args.device)
    size = plugin.model.config.image_size
    pixels = torch.randn(args.batch, 3, size, size, device=args.device)
    texts = ["一个穿着格子花呢夹克衫的小男孩正在南瓜地里抓一个大南瓜"] * args.batch
    dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(args.dtype)
    device_type = torch.device(args.device).type
    ctx = (lambda: torch.autocast(device_type, dtype=dtype)) if dtype else nullcontext
    sync = torch.cuda.synchronize if device_type == "cuda" else (lambda: None)
    with ctx():
        img = plugin.encode_images(pixels)
        txt = plugin.encode_texts(texts)
        t_img = _timed(lambda: plugin.encode_images(pixels), args.repeat, sync)
        t_txt = _timed(lambda: plugin.encode_texts(texts), args.repeat, sync)
        t_pair = _timed(lambda: plugin.score_pairs(img.states, txt.states), args.repeat, sync)
    print(
        json.dumps(
            {
                "config": args.config,
                "device": args.device,
                "dtype": args.dtype,
                "batch": args.batch,
                "images_per_s": round(args.batch / t_img, 1),
                "texts_per_s": round(args.batch / t_txt, 1),
                "pairs_per_s": round(args.batch / t_pair, 1),
                "parameters": plugin.info.parameters,
            }
        )
    )


if __name__ == "__main__":
    main()
