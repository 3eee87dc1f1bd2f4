"""The audit's compiled kernels (``_kernels.pyx``, built by ``pip install``), or one line saying how to build them."""

from __future__ import annotations

from functools import cache
from types import ModuleType

from zero_bench.errors import ZeroBenchError


@cache
def kernels() -> ModuleType:
    try:
        from zero_bench.contamination import _kernels
    except ImportError as exc:  # a source checkout used without installing it
        raise ZeroBenchError(
            "zero_bench.contamination._kernels is not built: install the package (pip install -e . builds it; it "
            "needs a C compiler) or run python setup.py build_ext --inplace"
        ) from exc
    return _kernels
