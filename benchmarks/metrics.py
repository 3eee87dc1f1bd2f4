"""Speed and memory of zero_bench.metrics.retrieval_metrics.

1. A 5,000 x 25,000 score matrix: our chunked exact ranking against the official per-query sort.
2. 50,000 x 250,000 from 128-d embeddings (the full matrix would be 50 GB): peak RSS and time, against the bare
   chunked matmul over the same matrix (the floor of any method that looks at every score).

Run: python benchmarks/metrics.py [--quick]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch


def per_query_sort(scores: np.ndarray, text_to_image: np.ndarray) -> float:
    """The official algorithm (both directions), returning the time taken."""
    start = time.perf_counter()
    img2txt: dict[int, list[int]] = {}
    for t, i in enumerate(text_to_image):
        img2txt.setdefault(int(i), []).append(t)
    for index, row in enumerate(scores):
        inds = np.argsort(row)[::-1]
        min(np.where(inds == i)[0][0] for i in img2txt[index])
    for index, row in enumerate(scores.T):
        inds = np.argsort(row)[::-1]
        np.where(inds == text_to_image[index])[0][0]
    return time.perf_counter() - start


def part_sort(n_images: int, n_texts: int) -> None:
    from zero_bench.metrics import retrieval_metrics_from_scores

    rng = np.random.default_rng(0)
    text_to_image = np.repeat(np.arange(n_images), n_texts // n_images)
    scores = rng.standard_normal((n_images, n_texts), dtype=np.float32)
    retrieval_metrics_from_scores(scores[:50, :250], text_to_image[:250] % 50)  # load the compiled kernels once
    start = time.perf_counter()
    ours = retrieval_metrics_from_scores(scores, text_to_image)
    t_ours = time.perf_counter() - start
    t_ref = per_query_sort(scores, text_to_image)
    print(
        f"[{n_images} x {n_texts} score matrix] ours {t_ours:.2f} s, per-query sort {t_ref:.2f} s, "
        f"speed-up {t_ref / t_ours:.1f}x (target >= 20x); r_mean {ours['r_mean']:.3f}"
    )


def make_embeddings(folder: str, n_images: int, n_texts: int, dim: int) -> None:
    gen = torch.Generator().manual_seed(0)
    images = torch.nn.functional.normalize(torch.randn(n_images, dim, generator=gen), dim=-1)
    text_to_image = torch.arange(n_texts) % n_images
    texts = torch.nn.functional.normalize(
        images[text_to_image] + 0.9 * torch.randn(n_texts, dim, generator=gen), dim=-1
    )
    np.save(f"{folder}/images.npy", images.numpy())
    np.save(f"{folder}/texts.npy", texts.numpy())


def part_embeddings(folder: str, which: str) -> None:
    """Run in a fresh process that only loads the embeddings, so that ru_maxrss is this part's peak."""
    from zero_bench.metrics import retrieval_metrics
    from zero_bench.metrics.ranking import DEFAULT_CHUNK_BYTES, rows_per_chunk

    images = torch.from_numpy(np.load(f"{folder}/images.npy"))
    texts = torch.from_numpy(np.load(f"{folder}/texts.npy"))
    n_images, n_texts = images.shape[0], texts.shape[0]
    text_to_image = torch.arange(n_texts) % n_images
    if which == "ours":
        retrieval_metrics(images[:100], texts[:500], text_to_image[:500] % 100)  # load the compiled kernels once
    rss_before = peak_rss_mb()
    start = time.perf_counter()
    if which == "ours":
        out = retrieval_metrics(images, texts, text_to_image)
        note = f"r_mean {out['r_mean']:.2f}"
    else:
        rows = rows_per_chunk(n_texts, DEFAULT_CHUNK_BYTES)
        total = 0.0
        for s in range(0, n_images, rows):
            total += float((images[s : s + rows] @ texts.T)[:, 0].sum())
        note = f"checksum {total:.3f}"
    elapsed = time.perf_counter() - start
    peak = peak_rss_mb()
    print(f"{which} {elapsed:.3f} {peak:.1f} {rss_before:.1f} {note}")


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it does not carry over a parent's peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(args: list[str]) -> list[str]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return out.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        part_embeddings(*args.child)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    if args.quick:
        part_sort(500, 2_500)
        sizes = ("5000", "25000", "128")
    else:
        part_sort(5_000, 25_000)
        sizes = ("50000", "250000", "128")
    with tempfile.TemporaryDirectory() as folder:
        make_embeddings(folder, int(sizes[0]), int(sizes[1]), int(sizes[2]))
        bare = run_child([folder, "bare"])
        ours = run_child([folder, "ours"])
    t_bare, t_ours = float(bare[1]), float(ours[1])
    print(
        f"[{sizes[0]} x {sizes[1]} from {sizes[2]}-d embeddings] ours {t_ours:.1f} s, peak RSS {float(ours[2]):.0f} MB "
        f"(after loading the embeddings: {float(ours[3]):.0f} MB); bare chunked matmul {t_bare:.1f} s, peak RSS {float(bare[2]):.0f} MB; "
        f"ratio {t_ours / t_bare:.2f}x (targets: < 1.5 GB, <= 1.5x)"
    )


if __name__ == "__main__":
    main()
