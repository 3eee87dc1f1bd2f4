"""The compiled metric kernels (zero_bench/metrics/_kernels.pyx): built at install, so that no first call of an
installed package pays a just-in-time compile.  Everything else is configured in pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [Extension("zero_bench.metrics._kernels", ["zero_bench/metrics/_kernels.pyx"], extra_compile_args=["-O3"])],
        compiler_directives={"language_level": "3"},
    )
)
