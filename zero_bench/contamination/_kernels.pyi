"""Types of the audit's compiled kernels (zero_bench/contamination/_kernels.pyx)."""

import numpy as np

def cut_distances(
    table: np.ndarray,
    spans: np.ndarray,
    query: np.ndarray,
    out: np.ndarray,
) -> None: ...
def hamming_query(
    ordered: np.ndarray,
    keys: np.ndarray,
    order: np.ndarray,
    shifts: np.ndarray,
    widths: np.ndarray,
    dealt: int,
    value: int,
    radius: int,
) -> tuple[np.ndarray, np.ndarray]: ...
