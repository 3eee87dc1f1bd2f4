"""Result file names and output placement of a grid: distinct runs never share a file, nothing escapes -o."""

from __future__ import annotations

from pathlib import Path

import pytest

from zero_bench.errors import ZeroBenchError
from zero_bench.evaluation.batch import Outputs, plan_jobs, result_name
from zero_bench.models.info import ModelInfo


def _info(sha: str | None = "ab" * 32, random_init: bool = False) -> ModelInfo:
    return ModelInfo(name="m", parameters=1, training_data="x", checkpoint_sha256=sha, random_init=random_init)


def test_names_differ_by_every_part_and_stay_inside_the_folder() -> None:
    base = result_name("hf:/a/b", None, _info(), "icr", "val")
    variants = [
        result_name("hf:/a/c", None, _info(), "icr", "val"),
        result_name("hf:/a/b", "cfg.json", _info(), "icr", "val"),
        result_name("hf:/a/b", None, _info("cd" * 32), "icr", "val"),
        result_name("hf:/a/b", None, _info(None, random_init=True), "icr", "val"),
        result_name("hf:/a/b", None, _info(), "iqr", "val"),
        result_name("hf:/a/b", None, _info(), "icr", "test"),
        result_name("hf:/a/b", None, _info(), "icr", "val", ("fp16",)),
        result_name("hf:/a/b", None, _info(), "icr", "val", ("k0",)),
    ]
    assert len({base, *variants}) == 1 + len(variants)
    for name in [base, *variants]:
        assert "/" not in name and not name.startswith(".") and Path(name).suffix == ".json"
    assert "random-init" in variants[3]
    assert result_name("../../etc/passwd", "../x", _info(), "icr", "val").startswith("etc_passwd-x-")


def test_outputs_one_file_or_a_folder(tmp_path: Path) -> None:
    single = Outputs.plan(tmp_path / "r.json", tmp_path / "p.jsonl", runs=1)
    assert single.result_path("any.json") == tmp_path / "r.json"
    assert single.predictions_path("any.json") == tmp_path / "p.jsonl"
    grid = Outputs.plan(tmp_path / "out", tmp_path / "preds", runs=4)
    assert grid.result_path("a.json") == tmp_path / "out" / "a.json"
    assert grid.predictions_path("a.json") == tmp_path / "preds" / "a.jsonl"
    assert Outputs.plan(None, None, runs=3).result_path("a.json") == Path("results") / "a.json"
    with pytest.raises(ZeroBenchError, match="need a folder"):
        Outputs.plan(tmp_path / "r.json", None, runs=2)
    with pytest.raises(ZeroBenchError, match="need a folder"):
        Outputs.plan(None, tmp_path / "p.jsonl", runs=2)


@pytest.mark.parametrize(
    ("output", "predictions", "runs", "message"),
    [
        ("file/r.json", None, 1, "file is not a folder, so the result file"),
        ("file/out", None, 3, "file is not a folder, so the results folder"),
        ("r.json", "file/p.jsonl", 1, "file is not a folder, so the predictions file"),
        (None, "file/preds", 2, "file is not a folder, so the predictions folder"),
        ("folder.json", None, 1, "folder.json: is a folder; the result file"),
        ("file", None, 1, "-o .*file: not a .json file"),
    ],
)
def test_outputs_that_cannot_be_written_are_refused_when_planned(tmp_path, output, predictions, runs, message) -> None:
    """Before any model runs: a file where a folder of outputs should be, a folder where the result file should be."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    (tmp_path / "folder.json").mkdir()

    def at(name: str | None) -> Path | None:
        return None if name is None else tmp_path / name

    with pytest.raises(ZeroBenchError, match=message):
        Outputs.plan(at(output), at(predictions), runs=runs)


def test_jobs_from_suites_and_splits() -> None:
    jobs = plan_jobs(["ccmb", "icr"], [])
    assert [j.spec.name for j in jobs] == ["flickr30k-cna", "icm", "icr", "iqm", "iqr"]
    assert all(j.split == j.spec.default_split for j in jobs)
    assert [j.split for j in plan_jobs(["icr"], ["train", "val"])] == ["train", "val"]
    with pytest.raises(ZeroBenchError, match="no split"):
        plan_jobs(["icr"], ["nope"])
    with pytest.raises(ZeroBenchError, match="unknown"):
        plan_jobs(["nope"], [])
