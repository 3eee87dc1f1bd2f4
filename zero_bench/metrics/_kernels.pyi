"""Types of the compiled kernels (zero_bench/metrics/_kernels.pyx)."""

import numpy as np

def count_block(
    scores: np.ndarray,
    row_ref: np.ndarray,
    col_ref: np.ndarray,
    start: int,
    stop: int,
    row_gt: np.ndarray,
    row_ge: np.ndarray,
    col_gt: np.ndarray,
    col_ge: np.ndarray,
) -> None: ...
def topk_block(
    tile: np.ndarray,
    row_values: np.ndarray,
    part_values: np.ndarray,
    part_items: np.ndarray,
    col_values: np.ndarray,
    col_items: np.ndarray,
    start: int,
    stop: int,
    row0: int,
    col0: int,
) -> None: ...
def merge_rows(
    part_values: np.ndarray,
    part_items: np.ndarray,
    row_values: np.ndarray,
    row_items: np.ndarray,
    start: int,
    stop: int,
) -> None: ...
