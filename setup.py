"""The compiled kernels (zero_bench/metrics/_kernels.pyx, zero_bench/contamination/_kernels.pyx): built at install, so
that no first call of an installed package pays a just-in-time compile.  Everything else is configured in
pyproject.toml."""

from Cython.Build import cythonize
from setuptools import Extension, setup

# Inputs are finite (checked before the kernels run) and only compared, so NaN and signed-zero rules can go:
# that lets the compiler vectorise the maximum over each group of scores.
FLAGS = ["-O3", "-fno-signed-zeros", "-ffinite-math-only", "-fno-trapping-math"]

setup(
    ext_modules=cythonize(
        [
            Extension("zero_bench.metrics._kernels", ["zero_bench/metrics/_kernels.pyx"], extra_compile_args=FLAGS),
            # the audit's distances keep IEEE rules (they are rounded and compared to thresholds), and no fused
            # multiply-add (a target with FMA would round a * b - c once, where numpy's definition rounds twice)
            Extension(
                "zero_bench.contamination._kernels",
                ["zero_bench/contamination/_kernels.pyx"],
                extra_compile_args=["-O3", "-ffp-contract=off"],
            ),
        ],
        compiler_directives={"language_level": "3"},
    )
)
