"""The float32 matrix product for CPU tiles of a similarity matrix: numpy's BLAS or torch's, whichever is faster
here, decided by timing both once per process on a tile of the real shape (``TILE_ROWS`` x ``TILE_COLS`` scores
from rows of the real width), single-threaded as the tiles are computed (each thread its own block of columns).

The two libraries ship different BLAS builds (numpy OpenBLAS, torch its own), and which is faster depends on the
CPU and on the shape: on the AMD machines this project runs on, numpy's sgemm was about 1.5x faster on 1024 x
16,384 tiles with both threads (issue 13), while single-threaded on 128-row tiles torch's could win (issue 23),
so a probe on any other shape than the one computed can pick the slower one.
``ZERO_BENCH_CPU_GEMM=numpy|torch`` fixes the choice.  The two may round the last bit differently, so a run that
must reproduce another bit for bit should fix it too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch

from zero_bench.blas import one_blas_thread

# out[:] = a @ b.T for float32 a [m, d], b [n, d], out [m, n] (C-contiguous).
Gemm = Callable[[np.ndarray, np.ndarray, np.ndarray], None]

# Problems smaller than this many scores are not worth a timing: they use torch, as the GPU path does.
MIN_TIMED_SCORES = 1 << 24
# The tile one thread computes and folds at once (4 MB of float32: in the shared L3 cache, beside the other
# thread's).  Measured single-threaded on this project's 2-core machine, product + fold of 10,000 x 50,000 at
# 128-d (CPU seconds, numpy / torch): 1024 x 1024 1.82 / 1.85, 512 x 1024 2.03 / 1.94, 256 x 2048 2.17 / 2.13,
# 128 x 16,384 (the previous sub-tile) 2.50 / 3.08; the bare product on 1024 x 16,384 tiles 1.56 / 1.73.
TILE_ROWS, TILE_COLS = 1024, 1024


def numpy_gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    np.matmul(a, b.T, out=out)


def torch_gemm(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    torch.matmul(torch.from_numpy(a), torch.from_numpy(b).T, out=torch.from_numpy(out))


GEMMS: dict[str, Gemm] = {"numpy": numpy_gemm, "torch": torch_gemm}


@contextmanager
def single_threaded() -> Iterator[None]:
    """Both libraries' GEMMs on one thread each while inside: the tiles are then computed on our own threads,
    each followed at once by its fused pass, instead of a pool of BLAS threads that would still be spinning,
    waiting for the next product, while the fused pass runs."""
    torch_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with one_blas_thread():
            yield
    finally:
        torch.set_num_threads(torch_threads)


_chosen: dict[int, str] = {}
# Per width: each GEMM's best time on the probe tile (seconds), the reason for ``_chosen``.
probe_times: dict[int, dict[str, float]] = {}


def time_gemms(a: np.ndarray, b: np.ndarray, out: np.ndarray, rounds: int = 5) -> dict[str, float]:
    """Best time of each GEMM over ``rounds`` rounds that alternate them (so that a burst of load on the machine
    hits both), after one untimed call each that loads the libraries' kernels."""
    best = {}
    for name, gemm in GEMMS.items():
        gemm(a, b, out)
        best[name] = float("inf")
    for _ in range(rounds):
        for name, gemm in GEMMS.items():
            start = time.perf_counter()
            gemm(a, b, out)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def fastest_gemm_name(dim: int) -> str:
    """The name of the faster single-threaded GEMM for ``TILE_ROWS`` x ``TILE_COLS`` tiles of ``dim``-wide rows
    (timed once per process and width; the timings stay in ``probe_times``)."""
    forced = os.environ.get("ZERO_BENCH_CPU_GEMM")
    if forced:
        if forced not in GEMMS:
            raise ValueError(f"ZERO_BENCH_CPU_GEMM={forced!r}: expected one of {', '.join(GEMMS)}")
        return forced
    if dim not in _chosen:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((TILE_ROWS, dim), dtype=np.float32)
        b = rng.standard_normal((TILE_COLS, dim), dtype=np.float32)
        out = np.empty((TILE_ROWS, TILE_COLS), dtype=np.float32)
        with single_threaded():
            probe_times[dim] = time_gemms(a, b, out)
        _chosen[dim] = min(probe_times[dim], key=probe_times[dim].__getitem__)
    return _chosen[dim]


def cpu_gemm(n_scores: int, dim: int) -> Gemm:
    """The GEMM for a CPU problem of ``n_scores`` scores from ``dim``-wide embeddings."""
    if n_scores < MIN_TIMED_SCORES and not os.environ.get("ZERO_BENCH_CPU_GEMM"):
        return torch_gemm
    return GEMMS[fastest_gemm_name(dim)]
