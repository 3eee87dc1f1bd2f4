"""HeapTrim: the heap is given back when a loop's anonymous memory grows past its steady state, and only then
(trimming every batch made the next batch fault its activations in again)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from zero_bench.evaluation import states
from zero_bench.evaluation.states import HeapTrim, anonymous_resident_bytes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/statm is Linux's")


@pytest.fixture(autouse=True)
def no_resident_free_heap() -> None:
    """Earlier tests in the process leave freed heap pages resident; an allocation here would reuse them without
    growing the resident memory these tests measure (both failed so, once, in CI).  Give them back first."""
    states.release_free_heap()


def test_anonymous_resident_bytes_sees_touched_memory() -> None:
    before = anonymous_resident_bytes()
    held = np.ones(64 << 20, dtype=np.uint8)  # written, so resident
    after = anonymous_resident_bytes()
    assert before is not None and after is not None
    assert after - before >= 48 << 20
    del held


def test_trims_on_growth_only(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[int] = []
    monkeypatch.setattr(states, "release_free_heap", lambda: trims.append(1))
    trim = HeapTrim(slack=16 << 20)
    for _ in range(20):  # a loop whose memory does not grow: steady state recorded once, never trimmed
        scratch = np.ones(8 << 20, dtype=np.uint8)
        del scratch
        trim()
    assert trims == []
    kept = [np.ones(8 << 20, dtype=np.uint8) for _ in range(6)]  # 48 MB kept: past the 16 MB slack
    trim()
    assert trims == [1]
    trim()  # right after a trim: the working set is measured again, not trimmed
    assert trims == [1]
    del kept
