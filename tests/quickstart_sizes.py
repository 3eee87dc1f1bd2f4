"""A quickstart configuration at test sizes, for the tests that run parts of the quickstart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zero_bench_r2d2.training.quickstart import QuickstartConfig


def small_quickstart(output_dir: Path, corpus: int, pairs: int, flickr: int, **settings: Any) -> QuickstartConfig:
    """``corpus`` rows; ``pairs`` in each ICR / ICM split (train and val); ``flickr`` in each Flickr30k-CNA split."""
    return QuickstartConfig(
        output_dir=str(output_dir),
        corpus=corpus,
        itr_train=pairs,
        itr_val=pairs,
        itm_train=pairs,
        itm_val=pairs,
        flickr_train=flickr,
        flickr_val=flickr,
        flickr_test=flickr,
        **settings,
    )
