"""Encoding throughput of each model adapter through the evaluator, against the library's own bare batched loop.

For each adapter (hf ChineseCLIPModel, open_clip, cn_clip) one small random model, saved with the library's own
save call and loaded through ``zero_bench.models.registry``, encodes the same JPEG images and Chinese captions
(zero-toy scenes) twice in the same run:

* through the evaluator's encoder (``zero_bench.evaluation.encode.encode_split``: DataLoader, the adapter's
  preprocessing, batching, chunking, normalisation), no cache;
* with the library alone: PIL decode, the library's transform / tokenizer, its ``get_image_features`` /
  ``encode_image`` / ``encode_text`` in a plain loop over the same batches under ``torch.inference_mode``.

Overhead = evaluator time / bare time - 1 (target <= 10%); best of ``--repeats`` runs each, interleaved.

Run: python benchmarks/adapters.py [--quick] [--device cuda]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.adapters.tiny_models: the same tiny models

from tests.adapters import tiny_models as tm
from zero_bench.data import toy
from zero_bench.evaluation.cache import ChunkCache
from zero_bench.evaluation.encode import encode_split
from zero_bench.formats.canonical import ImageItem
from zero_bench.models.registry import create_model


def make_data(folder: Path, n: int) -> tuple[list[ImageItem], list[str]]:
    import numpy as np

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    items, texts = [], []
    for i in range(n):
        scene = toy.random_scene(rng)
        path = folder / f"{i}.jpg"
        path.write_bytes(toy.jpeg_bytes(toy.render(scene)))
        items.append(ImageItem(key=str(i), path=path))
        texts.append(toy.caption(scene))
    return items, texts


def _timed(fn: Callable[[], Any]) -> tuple[float, float, int]:
    """(wall seconds, this process's CPU seconds, its minor page faults)."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start, cpu, faults = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return time.perf_counter() - start, time.process_time() - cpu, faults


def compare(ours: Callable[[], Any], bare: Callable[[], Any], repeats: int) -> tuple[tuple[float, float, int], ...]:
    """Best (wall, CPU, minor page faults) of each over ``repeats`` runs, the two interleaved and taking turns to go
    first, so that a noisy neighbour hits both alike.  The CPU time and the page faults are printed beside the wall
    time: on a loaded machine they move less (the faults not at all; memory handed back and touched again shows
    there, as the evaluator's trim after every batch did)."""
    ours(), bare()  # warm-up: first-call costs (allocator, lazy imports) are in neither figure
    times: tuple[list[tuple[float, float, int]], ...] = ([], [])
    for repeat in range(repeats):
        for which in (0, 1) if repeat % 2 == 0 else (1, 0):
            times[which].append(_timed((ours, bare)[which]))
    return tuple((min(t[0] for t in runs), min(t[1] for t in runs), min(t[2] for t in runs)) for runs in times)


def through_evaluator(model: Any, kind: str, items: list, batch: int, device: torch.device) -> None:
    scratch = Path(tempfile.gettempdir()) / "zero-bench-adapters-bench"  # no cache: a dual encoder writes nothing
    encode_split(
        kind,
        model,
        items,
        batch_size=batch,
        num_workers=0,
        device=device,
        precision="fp32",
        store=ChunkCache(scratch, kind, batch * 16),
        cached=False,
        keep_states=False,
        chunk_size=batch * 16,
        show_progress=False,
    )


def bare_images(transform: Callable, forward: Callable, items: list[ImageItem], batch: int, device) -> None:
    with torch.inference_mode():
        for start in range(0, len(items), batch):
            images = [Image.open(item.path).convert("RGB") for item in items[start : start + batch]]
            forward(torch.stack([transform(image) for image in images]).to(device))


def bare_texts(tokenize: Callable, forward: Callable, texts: list[str], batch: int, device) -> None:
    with torch.inference_mode():
        for start in range(0, len(texts), batch):
            forward(tokenize(texts[start : start + batch]).to(device))


def library_loops(kind: str, model: Any) -> tuple[Callable, Callable, Callable, Callable]:
    """(image transform, image forward, tokenizer, text forward) of the library itself, for the same weights."""
    lib = model.model
    if kind == "hf":
        processor, tokenizer = model.preprocess_image.processor, model.tokenizer
        return (
            lambda image: processor(images=image, return_tensors="pt")["pixel_values"][0],
            lambda pixels: lib.get_image_features(pixel_values=pixels),
            lambda texts: tokenizer(
                texts, padding=True, truncation=True, max_length=model.max_length, return_tensors="pt"
            ),
            lambda batch: lib.get_text_features(**batch),
        )
    if kind == "open_clip":
        return model.preprocess_image, lib.encode_image, model.tokenizer, lib.encode_text
    from cn_clip.clip import tokenize

    return model.preprocess_image, lib.encode_image, tokenize, lib.encode_text


HF_SMALL = {"hidden_size": 256, "intermediate_size": 1024, "num_hidden_layers": 4, "num_attention_heads": 4}


def widen() -> None:
    """The full run uses small rather than tiny models, so fixed costs are weighed against real work."""
    tm.OPEN_CLIP_TINY["vision_cfg"].update(width=256, layers=4, head_width=64)
    tm.OPEN_CLIP_TINY["text_cfg"].update(width=256, layers=4, heads=4)
    tm.CN_CLIP_TINY.update(
        vision_width=256,
        vision_layers=4,
        vision_head_width=64,
        text_hidden_size=256,
        text_num_hidden_layers=4,
        text_num_attention_heads=4,
        text_intermediate_size=1024,
    )


def build(kind: str, folder: Path, wide: bool) -> Any:
    if kind == "hf":
        return create_model(f"hf:{tm.save_chinese_clip(folder / 'hf', HF_SMALL if wide else None)}")
    if kind == "open_clip":
        config, weights = tm.save_open_clip(folder / "open_clip")
        return create_model(f"open_clip:{config.stem}/{weights}", config=str(config))
    config, weights = tm.save_cn_clip(folder / "cn_clip")
    return create_model(f"cn_clip:{weights}", config=str(config))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A few items, one repeat: proves the script runs.")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--items", type=int, default=2048)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n, batch, repeats = (64, 16, 1) if args.quick else (args.items, args.batch, args.repeats)
    device = torch.device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        items, texts = make_data(Path(tmp) / "images", n)
        if not args.quick:
            widen()
        print(f"{n} zero-toy images (JPEG) and captions, batch {batch}, device {device}, best of {repeats}")
        for kind in ("hf", "open_clip", "cn_clip"):
            model = build(kind, Path(tmp), wide=not args.quick).to(device).eval()
            report(kind, model, items, texts, batch, repeats, device)


def report(kind: str, model: Any, items: list[ImageItem], texts: list[str], batch: int, repeats: int, device) -> None:
    transform, image_forward, tokenize, text_forward = library_loops(kind, model)
    runs = {
        "images": (
            lambda: through_evaluator(model, "images", items, batch, device),
            lambda: bare_images(transform, image_forward, items, batch, device),
        ),
        "texts": (
            lambda: through_evaluator(model, "texts", texts, batch, device),
            lambda: bare_texts(tokenize, text_forward, texts, batch, device),
        ),
    }
    n = len(items)
    for modality, (ours_fn, bare_fn) in runs.items():
        (ours, ours_cpu, ours_faults), (bare, bare_cpu, bare_faults) = compare(ours_fn, bare_fn, repeats)
        print(
            f"[{kind:9s} {modality}] evaluator {n / ours:8.1f}/s, library loop {n / bare:8.1f}/s, "
            f"overhead {100 * (ours / bare - 1):+.1f}% (target <= 10%; CPU time {100 * (ours_cpu / bare_cpu - 1):+.1f}%; "
            f"minor page faults {ours_faults:,} vs {bare_faults:,}); {model.info.parameters:,} parameters"
        )


if __name__ == "__main__":
    main()
