"""Under torchrun (gloo, 2 processes) the evaluator splits the work and gives the same metrics as one process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zero_bench.evaluation.evaluator import evaluate
from zero_bench.testing import ColourModel, make_itm_folder, make_itr_folder

SCRIPT = Path(__file__).with_name("dist_eval.py")


def _torchrun(data: Path, out: Path, task: str) -> dict:
    out.mkdir()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(SCRIPT),
        str(data),
        str(out),
        task,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("task", ["icr", "icm"])
def test_two_ranks_equal_one_process(tmp_path: Path, task: str) -> None:
    if task == "icr":
        make_itr_folder(tmp_path / "data", n_images=70, per_image=2)
    else:
        make_itm_folder(tmp_path / "data", n_pairs=60)
    single_model = ColourModel(cross=True, noise=1.5)
    single = evaluate(
        single_model,
        task,
        data_dir=tmp_path / "data",
        top_k=4,
        batch_size=2,
        use_cache=False,
        predictions=tmp_path / "single.jsonl",
    )
    dist = _torchrun(tmp_path / "data", tmp_path / "out", task)
    assert dist["world"] == 2
    assert dist["metrics"] == pytest.approx(single.metrics, abs=1e-9)
    assert (tmp_path / "out" / "pred.jsonl").read_text() == (tmp_path / "single.jsonl").read_text()
    calls = [json.loads((tmp_path / "out" / f"calls-{r}.json").read_text()) for r in (0, 1)]
    for kind in ("images", "texts", "pairs"):
        total = sum(c[kind] for c in calls)
        assert total == single_model.calls[kind], kind  # nothing done twice
        assert all(c[kind] > 0 for c in calls), kind  # both ranks worked
    # Each rank read the states of its own images only (its encoded chunks): disjoint halves of the gallery.
    n_images = 70 if task == "icr" else 12
    reads = [set(json.loads((tmp_path / "out" / f"reads-{r}.json").read_text())[str(n_images)]) for r in (0, 1)]
    assert reads[0] and reads[1] and not reads[0] & reads[1]
    assert max(reads[0]) < min(reads[1])


@pytest.mark.slow
def test_classification_two_ranks_equal_one_process(tmp_path: Path) -> None:
    from zero_bench.testing import make_elevater_folder

    make_elevater_folder(tmp_path / "data", per_class=5)
    single_model = ColourModel(cross=True, noise=1.5)
    single = evaluate(
        single_model, "cifar-10-cn", data_dir=tmp_path / "data", batch_size=2, use_cache=False,
        predictions=tmp_path / "single.jsonl",
    )  # fmt: skip
    dist = _torchrun(tmp_path / "data", tmp_path / "out", "cifar-10-cn")
    assert dist["world"] == 2 and dist["metrics"] == pytest.approx(single.metrics, abs=1e-9)
    assert (tmp_path / "out" / "pred.jsonl").read_text() == (tmp_path / "single.jsonl").read_text()
    calls = [json.loads((tmp_path / "out" / f"calls-{r}.json").read_text()) for r in (0, 1)]
    for kind in ("images", "texts"):
        assert sum(c[kind] for c in calls) == single_model.calls[kind], kind  # nothing done twice
        assert all(c[kind] > 0 for c in calls), kind  # both ranks worked
    assert single_model.calls["pairs"] == 0  # classification uses the dual encoder only
