"""Re-ranking: speed against the official per-query, per-direction loop, and peak memory as the split grows.

    python benchmarks/rerank.py --threads 2     # full figures (ViT-B-width joint layers, r2d2-tiny, 1k-16k images)
    python benchmarks/rerank.py --quick         # a check that everything runs (small sizes)

Speed, for each model (random weights; the ViT-B-width model is r2d2-vit-b with ``--joint-layers`` joint layers,
hidden 768, 12 heads, 197 image tokens; r2d2-tiny as shipped):

* official: ``compute_cross_score`` restated (zero_bench/testing.py): for each image query its k candidates with
  the image repeated k times, then for each text query its k candidates; all 64 text positions; nothing shared.
* ours: the evaluator's re-ranking stage (:func:`zero_bench.evaluation.rerank.score_candidate_pairs` and
  ``rerank_rankings``): both directions' pairs pooled and de-duplicated, read back image block by image block from
  the on-disk states, padding cut, the last layer for [CLS] only, each image's keys/values once per batch.

Both start from the same states (the half-precision states the evaluator keeps, so both compute on equal inputs) and
the same cosine matrix; the share of queries whose top-10 agree is printed.  Captions map to images as in ICR
(``--per-image`` each); the cosine matrix is a noisy version of that truth, so both directions share candidates.

Memory (``--sizes``, default 1,000, 4,000 and 16,000 images, one caption each, ICR layout): the whole evaluator
(:func:`zero_bench.evaluation.evaluator.evaluate`, no cache, top-k ``--memory-top-k``, the default pair batch unless
``--pair-batch`` is given) on an R2D2 of ViT-B width (197 x 768 image states, 64 x 768 text states; towers of one
layer and ``--joint-layers`` joint layers: per-item state does not depend on depth), each size in a fresh process,
and the dual encoder alone (top-k 0) at the largest size.  A sampler reads the process tree's RssAnon (heap and
tensors) and VmRSS (everything resident, the memory-mapped state files' pages included) every 10 ms; the peaks
are printed above the Python process's size before evaluating (model built, data listed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from zero_bench.evaluation.cache import ChunkCache  # noqa: E402
from zero_bench.evaluation.evaluator import topk_keeping_threads  # noqa: E402
from zero_bench.evaluation.rerank import (  # noqa: E402
    candidate_keys,
    default_pair_batch,
    rerank_rankings,
    score_candidate_pairs,
)
from zero_bench.evaluation.states import StateStore, compact, state_dtype  # noqa: E402
from zero_bench.models.protocol import Encoded  # noqa: E402

TEXT_POSITIONS = 64


def tree_rss_mb(pid: int) -> tuple[float, float]:
    """(RssAnon, VmRSS) in MB summed over ``pid`` and its descendants (Linux /proc)."""
    anon = total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += [int(c) for c in (task / "children").read_text().split()]
        except OSError:  # the process ended meanwhile
            continue
        for line in status.splitlines():
            if line.startswith("RssAnon:"):
                anon += int(line.split()[1]) / 1024
            elif line.startswith("VmRSS:"):
                total += int(line.split()[1]) / 1024
    return anon, total


class PeakSampler:
    """Highest (RssAnon, VmRSS) of a process tree seen by a background thread sampling every ``period`` seconds."""

    def __init__(self, pid: int, period: float = 0.01) -> None:
        self.pid, self.period, self.anon, self.total = pid, period, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        anon, total = tree_rss_mb(self.pid)
        self.anon, self.total = max(self.anon, anon), max(self.total, total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            time.sleep(self.period)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# -- models -------------------------------------------------------------------------------------------------------


def build_plugin(name: str, joint_layers: int, device: str = "cpu"):
    """``r2d2-tiny`` as shipped; ``vit-b-width``: r2d2-vit-b's joint layers (``joint_layers`` of them); ``r2d2-vit-l``:
    r2d2-vit-l's six joint layers.  Towers of one layer except for r2d2-tiny (not used here: states are given)."""
    from zero_bench.models.protocol import ModelInfo
    from zero_bench_r2d2.config import load_config
    from zero_bench_r2d2.modeling import R2D2Model
    from zero_bench_r2d2.plugin import R2D2Plugin
    from zero_bench_r2d2.tokenizer import get_tokenizer

    torch.manual_seed(0)
    cfg = load_config({"vit-b-width": "r2d2-vit-b"}.get(name, name))
    if name != "r2d2-tiny":
        cfg.vision["num_hidden_layers"] = cfg.text["num_hidden_layers"] = 1
    if name == "vit-b-width":
        cfg.joint["num_hidden_layers"] = joint_layers
    model = R2D2Model(cfg).eval().to(device)
    info = ModelInfo(name=name, parameters=sum(p.numel() for p in model.parameters()), training_data="random init")
    return R2D2Plugin(model, info, get_tokenizer(TEXT_POSITIONS)).eval()


# -- data ---------------------------------------------------------------------------------------------------------


def cosine(n_images: int, per_image: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Image and text embeddings where text t describes image t % n_images (noisy)."""
    gen = torch.Generator().manual_seed(seed)
    img = torch.nn.functional.normalize(torch.randn(n_images, 64, generator=gen), dim=-1)
    txt = img.repeat(per_image, 1) + 0.9 * torch.randn(n_images * per_image, 64, generator=gen) / 8
    return img, torch.nn.functional.normalize(txt, dim=-1)


def _batched(n: int, make_batch) -> dict[str, torch.Tensor]:
    """Generated 64 rows at a time, each batch narrowed to half precision at once, as the evaluator's encoder
    loop does, then joined into one chunk."""
    parts = [compact(Encoded(torch.zeros(0), make_batch(min(64, n - i))), state_dtype("fp32")) for i in range(0, n, 64)]
    return {k: torch.cat([p.states[k] for p in parts]) for k in parts[0].states}


def image_chunk(n: int, tokens: int, width: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    return _batched(n, lambda b: {"image_tokens": torch.randn(b, tokens, width, generator=gen)})


def text_chunk(n: int, width: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    def make(b: int) -> dict[str, torch.Tensor]:
        lengths = torch.randint(8, TEXT_POSITIONS, (b,), generator=gen)
        mask = (torch.arange(TEXT_POSITIONS)[None, :] < lengths[:, None]).long()
        return {"text_tokens": torch.randn(b, TEXT_POSITIONS, width, generator=gen), "text_mask": mask}

    return _batched(n, make)


def write_store(folder: Path, kind: str, n: int, chunk: int, make) -> StateStore:
    """Chunks written as the evaluator writes them (half precision), generated one at a time."""
    cache = ChunkCache(folder, kind, chunk)
    for start in range(0, n, chunk):
        states = make(min(chunk, n - start))
        size = next(iter(states.values())).shape[0]
        cache.save(start, Encoded(torch.zeros(size, 1), states))
    return StateStore(cache, n, chunk)


# -- speed --------------------------------------------------------------------------------------------------------


def ours(
    plugin,
    img_emb,
    txt_emb,
    images: StateStore,
    texts: StateStore,
    k: int,
    pair_batch: int | None,
    precision: str = "fp32",
):
    n_images, n_texts = img_emb.shape[0], txt_emb.shape[0]
    length_i2t, length_t2i = min(10, n_texts), min(10, n_images)  # rankings of up to 10, as predictions files
    i2t, t2i = topk_keeping_threads(img_emb, txt_emb, max(k, 10))
    keys = candidate_keys(i2t, t2i, k, n_texts)
    scores = score_candidate_pairs(
        plugin,
        keys,
        images,
        texts,
        n_texts,
        batch_size=pair_batch,
        device=img_emb.device,
        precision=precision,
        show_progress=False,
    )
    common = {"n_texts": n_texts, "add_similarity": True}
    r_i2t = rerank_rankings(
        i2t, k, keys, scores, queries_are_images=True, n_candidates=n_texts, length=length_i2t, **common
    )
    r_t2i = rerank_rankings(
        t2i, k, keys, scores, queries_are_images=False, n_candidates=n_images, length=length_t2i, **common
    )
    return r_i2t, r_t2i, int(keys.numel())


def speed(name: str, args: argparse.Namespace, n_images: int, k: int, root: Path) -> dict:
    """Ours and the official loop on the same pairs; ``args.device`` / ``args.precision`` for both."""
    from zero_bench.evaluation.encode import autocast
    from zero_bench.testing import official_cross_scores, official_rankings

    device = torch.device(args.device)
    plugin = build_plugin(name, args.joint_layers, args.device)
    cfg = plugin.model.config
    tokens, n_texts = cfg.num_patches + 1, n_images * args.per_image
    gen = torch.Generator().manual_seed(1)
    chunk = args.block
    images = write_store(
        root / name, "images", n_images, chunk, lambda n: image_chunk(n, tokens, cfg.vision_width, gen)
    )
    texts = write_store(root / name, "texts", n_texts, chunk, lambda n: text_chunk(n, cfg.text_width, gen))
    img_emb, txt_emb = cosine(n_images, args.per_image, seed=2)
    img_emb, txt_emb = img_emb.to(device), txt_emb.to(device)
    # the official loop gets the very same (half-precision) states, in memory
    image_all = images.rows(torch.arange(n_images), device)["image_tokens"]
    text_all = texts.rows(torch.arange(n_texts), device)
    sim = img_emb @ txt_emb.t()
    pair_batch = args.pair_batch or default_pair_batch(images, texts)  # what the evaluator picks
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    t_ours = t_official = float("inf")
    run_ours = lambda: ours(plugin, img_emb, txt_emb, images, texts, k, pair_batch, args.precision)  # noqa: E731
    with torch.inference_mode():
        run_ours()  # warm-up (first calls of each kernel)
        for _ in range(args.inner):  # best of --inner, interleaved, to damp a shared machine's noise
            sync()
            began = time.perf_counter()
            r_i2t, r_t2i, pairs = run_ours()
            sync()
            t_ours = min(t_ours, time.perf_counter() - began)
            began = time.perf_counter()
            with autocast(device, args.precision):
                i2t, t2i, official_pairs = official_cross_scores(
                    plugin.model, sim, image_all, text_all["text_tokens"], text_all["text_mask"], k
                )
            o_i2t, o_t2i = official_rankings(i2t, t2i)
            t_official = min(t_official, time.perf_counter() - began)
    same_i2t = (r_i2t.cpu().numpy() == o_i2t[:, : r_i2t.shape[1]]).all(1)
    same_t2i = (r_t2i.cpu().numpy() == o_t2i[:, : r_t2i.shape[1]]).all(1)
    agree = np.concatenate([same_i2t, same_t2i]).mean()
    return {
        "section": "speed",
        "model": f"{name} ({cfg.joint['num_hidden_layers']} joint layers)",
        "device": args.device,
        "precision": args.precision,
        "image_tokens": tokens,
        "joint_hidden": cfg.joint_width,
        "images": n_images,
        "texts": n_texts,
        "top_k": k,
        "pair_batch": pair_batch,
        "pairs_ours": pairs,
        "pairs_official": official_pairs,
        "s_ours": round(t_ours, 3),
        "s_official": round(t_official, 3),
        "speedup": round(t_official / t_ours, 2),
        "pairs_per_s_ours": round(pairs / t_ours, 1),
        "pairs_per_s_official": round(official_pairs / t_official, 1),
        "top10_agree": round(float(agree), 4),
        "target": ">= 3x",
    }


# -- memory -------------------------------------------------------------------------------------------------------


def memory_child(args: argparse.Namespace) -> None:
    """In a fresh process: build the model and data, say ready (the parent notes the size), wait, evaluate."""
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.testing import make_itr_folder

    n, k = args.memory_child
    data = Path(args.data_root) / f"icr-{n}"
    if not data.exists():
        make_itr_folder(data, n_images=n, per_image=1)
    plugin = build_plugin("vit-b-width", args.joint_layers)
    print("ready", flush=True)
    sys.stdin.readline()
    began = time.perf_counter()
    result = evaluate(plugin, "icr", data_dir=data, top_k=k, pair_batch_size=args.pair_batch, use_cache=False)
    took = time.perf_counter() - began
    print(json.dumps({"s": round(took, 1), "pairs": result.num_queries.get("pairs_scored", 0)}), flush=True)


def memory_run(args: argparse.Namespace, root: Path, n: int, k: int) -> dict:
    """One size in a fresh process: peak RssAnon and VmRSS of its tree above its size when ready."""
    command = [sys.executable, __file__, "--memory-child", str(n), str(k), "--data-root", str(root)]
    command += ["--joint-layers", str(args.joint_layers), "--threads", str(args.threads)]
    command += [] if args.pair_batch is None else ["--pair-batch", str(args.pair_batch)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdin is not None and child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        raise SystemExit(f"rerank benchmark: the child for {n} items failed")
    base_anon, base_total = tree_rss_mb(child.pid)
    with PeakSampler(child.pid) as peak:
        child.stdin.write("\n")
        child.stdin.flush()
        report = json.loads(child.stdout.readline())
        peak.sample()
    child.wait()
    run = {
        "items": n,
        "top_k": k,
        "peak_anon_mb": round(peak.anon - base_anon, 1),
        "peak_total_mb": round(peak.total - base_total, 1),
        **report,
    }
    print(json.dumps({"section": "memory run", **run}), flush=True)  # each run as it ends (they are long)
    return run


def memory(args: argparse.Namespace, root: Path) -> dict:
    runs = [memory_run(args, root, n, args.memory_top_k) for n in args.sizes]
    alone = memory_run(args, root, max(args.sizes), 0)
    anon = [r["peak_anon_mb"] for r in runs]
    total = [r["peak_total_mb"] for r in runs]
    return {
        "section": "memory",
        "model": f"vit-b-width ({args.joint_layers} joint layers, towers of 1 layer)",
        "image_states": "197 x 768",
        "pair_batch": args.pair_batch or "default",
        "runs": runs,
        "dual_encoder_alone": alone,
        "anon_spread_mb": round(max(anon) - min(anon), 1),
        "total_spread_mb": round(max(total) - min(total), 1),
        "anon_over_dual_mb": round(runs[-1]["peak_anon_mb"] - alone["peak_anon_mb"], 1),
        "total_over_dual_mb": round(runs[-1]["peak_total_mb"] - alone["peak_total_mb"], 1),
        "target": "spread <= 150 MB, over dual encoder <= 300 MB",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that it runs")
    parser.add_argument("--vitb-images", type=int, default=32, help="images in the ViT-B-width speed run")
    parser.add_argument("--vitb-top-k", type=int, default=8, help="k of the ViT-B-width speed run")
    parser.add_argument("--tiny-images", type=int, default=300, help="images in the r2d2-tiny speed run")
    parser.add_argument("--per-image", type=int, default=2)
    parser.add_argument("--top-k", type=int, default=16)
    parser.add_argument("--joint-layers", type=int, default=2)
    parser.add_argument("--pair-batch", type=int, default=None, help="default: the evaluator's (default_pair_batch)")
    parser.add_argument("--block", type=int, default=1024, help="images per state chunk in the speed runs")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 4_000, 16_000], help="memory: items per run")
    parser.add_argument("--memory-top-k", type=int, default=2)
    parser.add_argument("--memory-child", type=int, nargs=2, help=argparse.SUPPRESS)  # items, k: one memory run
    parser.add_argument("--data-root", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1: stable on a shared machine)")
    parser.add_argument("--inner", type=int, default=2, help="timings per measurement (the best is printed)")
    parser.add_argument("--device", default="cpu", help="speed runs only (the memory figure is host memory)")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "fp16", "bf16"], help="speed runs only")
    parser.add_argument("--skip", nargs="*", default=[], choices=["vit-b-width", "r2d2-tiny", "memory"])
    args = parser.parse_args()
    if args.quick:
        args.vitb_images, args.tiny_images, args.vitb_top_k, args.top_k, args.inner = 6, 24, 4, 4, 1
        args.sizes, args.block = [100, 200, 400], 128
    torch.set_num_threads(args.threads)
    if args.memory_child:
        return memory_child(args)
    with tempfile.TemporaryDirectory(prefix="rerank-bench-") as tmp:
        root = Path(tmp)
        runs = (("vit-b-width", args.vitb_images, args.vitb_top_k), ("r2d2-tiny", args.tiny_images, args.top_k))
        for name, n, k in runs:
            if name not in args.skip:
                print(json.dumps(speed(name, args, n, k, root)), flush=True)
        if "memory" not in args.skip:
            print(json.dumps(memory(args, root)), flush=True)


if __name__ == "__main__":
    main()
