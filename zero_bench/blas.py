"""numpy's BLAS threads, limited where the parallelism comes from elsewhere (our own threads or processes).

OpenBLAS keeps its threads spinning for a while after each product, waiting for the next one.  Where the products
are small and come between other work (the audit's cuts of 24 x 24 pixels), or where each process or thread
already has its own core, those spinning threads only take CPU from the work.  The contamination audit with
numpy's default of one BLAS thread per core: twice the CPU time per row in one process on 2 cores, and 4.7x with
two worker processes (325 s against 69.7 s for 20,000 rows, benchmarks/contamination.py, 2026-12-07).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any


@cache
def blas_controller() -> Any:
    """threadpoolctl's view of the loaded BLAS libraries (finding them takes ~16 ms: done once a process)."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Every loaded BLAS library on one thread while inside."""
    with blas_controller().limit(limits=1, user_api="blas"):
        yield
