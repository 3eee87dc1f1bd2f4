from __future__ import annotations

import pytest

from zero_bench.testing import one_torch_thread


@pytest.fixture(autouse=True, scope="package")
def _one_thread():
    """Training tests run single-threaded: on a small shared CPU, oversubscribed threads are many times slower."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="package")
def tiny_corpus(tmp_path_factory):
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_corpus_dir

    root = tmp_path_factory.mktemp("toy-corpus")
    generate_zero_toy(root=root, seed=1, sizes=ToySizes(corpus=96), tasks=False)
    return toy_corpus_dir(root)
