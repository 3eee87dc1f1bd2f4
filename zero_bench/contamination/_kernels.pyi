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
def loose_diffs(
    variants: np.ndarray,
    variant_colour: np.ndarray,
    variant_texture: np.ndarray,
    variant_thumb: np.ndarray,
    colour: np.ndarray,
    texture: np.floating | float,
    thumb: np.ndarray,
    colour_limit: np.floating | float,
    texture_limit: np.floating | float,
    loose_limit: np.floating | float,
    scale: np.floating | float,
    positions: np.ndarray,
    loose: np.ndarray,
) -> int: ...
