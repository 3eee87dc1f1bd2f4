from __future__ import annotations

import pytest

from zero_bench.contamination.plant import PLANT_SIZES
from zero_bench.data.toy import ToySizes

# small evaluation splits (as benchmarks/planted_copies.py): 100 images each for ICR / IQR / ICM / IQM (val), 40 for
# Flickr30k-CNA (test)
SIZES = ToySizes(corpus=1_500, **PLANT_SIZES)
PLANTED = 480  # 10 of each (image edit, text edit) combination: 60 per image edit


@pytest.fixture(scope="package")
def toy(tmp_path_factory):
    """zero-toy (small) and a corpus with the toy corpus rows and planted copies of evaluation items mixed in."""
    from zero_bench.contamination.audit import task_splits
    from zero_bench.contamination.plant import planted_rows, write_corpus
    from zero_bench.data.toy import corpus_rows, generate_zero_toy, toy_task_dir

    root = tmp_path_factory.mktemp("toy")
    generate_zero_toy(root=root, seed=0, sizes=SIZES, corpus=False)
    data_dir = toy_task_dir(root)
    planted, truth = planted_rows(task_splits(["ccmb"]), data_dir, PLANTED, seed=1)

    def rows():
        pending = list(planted)
        for k, row in enumerate(corpus_rows(7, SIZES.corpus)):
            yield row
            if k % 4 == 0 and pending:
                yield pending.pop()
        yield from pending

    corpus = root / "planted-corpus" / "corpus"
    write_corpus(corpus, rows(), "planted-toy", shard_rows=500)
    return {"root": root, "data_dir": data_dir, "corpus": corpus, "truth": truth}
