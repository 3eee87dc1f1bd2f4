"""Reproduction: a zoo model's published numbers (the leaderboard's reported entries, their one home) beside ours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from zero_bench.cli.app import app
from zero_bench.cli.evaluate_cmd import _reproduction
from zero_bench.leaderboard.published import compare, published_entries, submissions_folder
from zero_bench.models.info import ModelInfo
from zero_bench.models.zoo import ENTRIES
from zero_bench.prompts import ClassificationProtocol
from zero_bench.results import Result, RunInfo, TaskRef


def _result(task: str, split: str, metrics: dict[str, float], protocol: str | None = "cn_clip") -> Result:
    record = (
        ClassificationProtocol(
            protocol=protocol,  # type: ignore[arg-type]
            class_names_source="x",
            class_names_sha256="0" * 64,
            templates_source="y",
            templates_sha256="0" * 64,
        )
        if protocol
        else None
    )
    return Result(
        task=TaskRef(name=task, version="1.0", split=split, annotation_sha256="0" * 64),
        model=ModelInfo(name="m", parameters=1, training_data="x"),
        setting="zero-shot",
        metrics=metrics,
        classification=record,
        run=RunInfo(toolkit_version="0", torch_version="0", device="cpu", wall_time_s=0, timestamp=datetime.now(UTC)),
    )


def test_every_zoo_link_names_an_existing_file() -> None:
    folder = submissions_folder()
    assert folder is not None
    linked = [e for e in ENTRIES if e.published is not None]
    assert len(linked) >= 7
    for entry in linked:
        assert (folder / f"{entry.published}.json").is_file(), entry.name
        assert published_entries(entry.published), entry.name


def test_compare_same_task_split_setting_and_protocol() -> None:
    entries = published_entries("chinese-clip-vit-b-16")
    (found,) = compare(_result("cifar-10-cn", "test", {"acc1": 90.5, "acc5": 99.0}), entries)
    assert (found.metric, found.published, found.ours) == ("acc1", 92.0, 90.5)
    assert found.difference == pytest.approx(-1.5) and "Results.md" in found.source
    assert compare(_result("cifar-10-cn", "test", {"acc1": 90.5}, "clip_benchmark"), entries) == []  # other protocol
    assert compare(_result("cifar-10-cn", "train", {"acc1": 90.5}), entries) == []  # other split


def test_evaluate_prints_the_published_number(capsys: pytest.CaptureFixture[str]) -> None:
    _reproduction("chinese-clip-vit-b-16", _result("cifar-10-cn", "test", {"acc1": 90.5}))
    out = capsys.readouterr().out
    assert "published acc1 92.00, protocol cn_clip; ours 90.50; difference -1.50" in out
    _reproduction("chinese-clip-vit-b-16", _result("dtd-cn", "train", {"acc1": 1.0}))
    assert "published: no number of chinese-clip-vit-b-16 for dtd-cn/train zero-shot" in capsys.readouterr().out
    _reproduction("hf:/some/folder", _result("cifar-10-cn", "test", {"acc1": 90.5}))  # not a zoo model: nothing
    assert capsys.readouterr().out == ""


def test_models_name_lists_published_numbers() -> None:
    result = CliRunner().invoke(app, ["models", "taiyi-clip-roberta-102m"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "imagenet-cn" in result.output and "42.85" in result.output and "not stated" in result.output
    unknown = CliRunner().invoke(app, ["models", "no-such-model"])
    assert unknown.exit_code != 0


def test_evaluate_a_tiny_zoo_model_prints_its_published_number(tmp_path, monkeypatch) -> None:
    import json

    from tests.adapters import tiny_models as tm
    from zero_bench.models import zoo
    from zero_bench.testing import make_elevater_folder

    folder = tm.save_chinese_clip(tmp_path / "model")
    entry = zoo.ZooEntry(
        name="tiny-zoo-model",
        model=f"hf:{folder}",
        source="built in the test",
        revision="-",
        licence="-",
        parameters=None,
        parameters_source="-",
        training_data="none",
        paper="-",
        organisation="-",
        published="tiny-zoo-model",
    )
    monkeypatch.setitem(zoo.ZOO, entry.name, entry)
    reported = {
        "task": "cifar-10-cn",
        "task_version": "1.0",
        "split": "test",
        "setting": "zero-shot",
        "status": "reported",
        "source": "a table made up for this test",
        "metrics": {"acc1": 12.5},
        "protocol": "cn_clip",
    }
    card = {"name": "Tiny Zoo Model", "organisation": "tests", "link": "https://example.org", "parameters": 1}
    card["training_data"] = "none"
    board = tmp_path / "leaderboard" / "submissions"
    board.mkdir(parents=True)
    (board / "tiny-zoo-model.json").write_text(
        json.dumps({"format": "zero-bench-leaderboard-model/1", "model": card, "entries": [reported]})
    )
    make_elevater_folder(tmp_path / "data", per_class=1)
    monkeypatch.chdir(tmp_path)
    args = ["evaluate", "-m", "tiny-zoo-model", "-t", "cifar-10-cn", "--data-dir", str(tmp_path / "data")]
    result = CliRunner().invoke(app, [*args, "--device", "cpu", "--no-cache", "-o", str(tmp_path / "r.json")])
    assert result.exit_code == 0, (result.output, result.exception)
    ours = Result.read(tmp_path / "r.json").metrics["acc1"]
    assert f"published acc1 12.50, protocol cn_clip; ours {ours:.2f}; difference {ours - 12.5:+.2f}" in result.output
    assert "a table made up for this test" in result.output
