"""``zero-bench results export``: MTEB files that mteb's own loader reads back with our numbers, and CLIP_benchmark
JSON with the keys and metric names its own code writes."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zero_bench.cli.app import app
from zero_bench.errors import ZeroBenchError
from zero_bench.models.info import ModelInfo
from zero_bench.results import Result, RunInfo, TaskRef
from zero_bench.results_export import export_results

RETRIEVAL = {
    "txt_r1": 40.0,
    "txt_r5": 70.0,
    "txt_r10": 80.0,
    "txt_r_mean": 63.33,
    "img_r1": 30.0,
    "img_r5": 60.0,
    "img_r10": 75.0,
    "img_r_mean": 55.0,
    "r_mean": 59.17,
}
CLASSIFICATION = {"acc1": 91.5, "acc5": 99.0, "mean_per_class_recall": 90.25}
MATCHING = {"auc": 81.5, "accuracy": 74.0}


def _result(task: str, split: str, metrics: dict[str, float], sha: str | None = "ab" * 32) -> Result:
    return Result(
        task=TaskRef(name=task, version="1.0", split=split, annotation_sha256="1" * 64),
        model=ModelInfo(
            name="org/tiny-clip", parameters=1, training_data="x", checkpoint="tiny.pt", checkpoint_sha256=sha
        ),
        setting="zero-shot",
        metrics=metrics,
        run=RunInfo(toolkit_version="0", torch_version="0", device="cpu", wall_time_s=2.5, timestamp=datetime.now(UTC)),
    )


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    folder = tmp_path / "results"
    folder.mkdir()
    _result("flickr30k-cn", "test", RETRIEVAL).write(folder / "f30k.json")
    _result("flickr30k-cn", "valid", {**RETRIEVAL, "r_mean": 10.0}).write(folder / "f30k-valid.json")
    _result("cifar-10-cn", "test", CLASSIFICATION).write(folder / "cifar.json")
    _result("icm", "val", MATCHING).write(folder / "icm.json")
    return folder


def test_mteb_files_load_with_mtebs_loader_and_give_back_our_numbers(results: Path, tmp_path: Path) -> None:
    mteb = pytest.importorskip("mteb")
    from mteb.load_results import _model_name_and_revision

    out = tmp_path / "mteb"
    report = export_results([results], "mteb", out)
    assert report.results == 4
    folder = out / "org__tiny-clip" / ("ab" * 6)
    assert sorted(p.name for p in folder.iterdir()) == [
        "cifar-10-cn.json",
        "flickr30k-cn.json",
        "icm.json",
        "model_meta.json",
    ]
    assert _model_name_and_revision(folder, fallback_to_path=False) == ("org/tiny-clip", "ab" * 6)

    f30k = mteb.TaskResult.from_disk(folder / "flickr30k-cn.json")
    assert f30k.task_name == "flickr30k-cn" and f30k.dataset_revision == "1" * 64
    assert sorted(f30k.scores) == ["test", "valid"]  # one file, one entry per split
    (test,) = f30k.scores["test"]
    assert test["main_score"] == pytest.approx(0.5917)  # r_mean, the task's primary metric, on MTEB's 0-1 scale
    assert {k: test[k] for k in RETRIEVAL} == pytest.approx({k: v / 100 for k, v in RETRIEVAL.items()})
    assert f30k.get_score(splits=["test"]) == pytest.approx(0.5917)
    assert f30k.get_score(splits=["valid"]) == pytest.approx(0.10)
    assert f30k.get_score(languages=["cmn"], splits=["test"]) == pytest.approx(0.5917)
    assert f30k.evaluation_time == pytest.approx(5.0)

    cifar = mteb.TaskResult.from_disk(folder / "cifar-10-cn.json")
    assert cifar.get_score() == pytest.approx(0.915)
    assert cifar.scores["test"][0]["mean_per_class_recall"] == pytest.approx(0.9025)
    icm = mteb.TaskResult.from_disk(folder / "icm.json")
    assert icm.get_score() == pytest.approx(MATCHING["auc"] / 100)


def test_mteb_export_refuses_one_split_twice(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    _result("icm", "val", MATCHING).write(folder / "a.json")
    _result("icm", "val", MATCHING).write(folder / "b.json")
    with pytest.raises(ZeroBenchError, match="two Results"):
        export_results([folder], "mteb", tmp_path / "out")


def _their_dump_keys() -> set[str]:
    """The keys of the dict ``clip_benchmark eval`` dumps, read from the installed package's cli.py."""
    cb = pytest.importorskip("clip_benchmark")
    tree = ast.parse((Path(cb.__file__).parent / "cli.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "dump" for t in node.targets):
            assert isinstance(node.value, ast.Dict)
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError("no dump = {...} in clip_benchmark/cli.py")


def _their_retrieval_metric_names() -> set[str]:
    """Run CLIP_benchmark's own zero-shot retrieval evaluation on a tiny identity model."""
    import torch
    from clip_benchmark.metrics import zeroshot_retrieval

    class Tiny:
        def encode_image(self, x: torch.Tensor) -> torch.Tensor:
            return x

        def encode_text(self, x: torch.Tensor) -> torch.Tensor:
            return x

    images = torch.eye(12)  # twelve images, one caption each (recall@10 needs ten of them)
    batches = [(images, [[str(i)] for i in range(12)])]
    metrics = zeroshot_retrieval.evaluate(
        Tiny(),
        batches,
        lambda texts: torch.eye(12)[[int(t) for t in texts]],
        "cpu",
        amp=False,
        recall_k_list=[1, 5, 10],
    )
    assert metrics["image_retrieval_recall@1"] == metrics["text_retrieval_recall@1"] == 1.0  # their 0-1 scale
    return set(metrics)


def test_clip_benchmark_json_has_their_keys_and_metric_names(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "cb"
    report = export_results([results], "clip_benchmark", out)
    names = sorted(p.name for p in report.written)
    assert names == [
        "cifar-10-cn_tiny.pt_org_tiny-clip_cn_zeroshot_classification.json",
        "flickr30k-cn-valid_tiny.pt_org_tiny-clip_zh_zeroshot_retrieval.json",
        "flickr30k-cn_tiny.pt_org_tiny-clip_zh_zeroshot_retrieval.json",
        "icm_tiny.pt_org_tiny-clip_zh_image_text_matching.json",
    ]
    keys = _their_dump_keys()
    assert keys == {"dataset", "model", "pretrained", "task", "metrics", "language"}
    for path in report.written:
        assert set(json.loads(path.read_text(encoding="utf-8"))) == keys
    f30k = json.loads((out / names[2]).read_text(encoding="utf-8"))
    assert set(f30k["metrics"]) == _their_retrieval_metric_names()
    assert f30k["metrics"]["image_retrieval_recall@5"] == pytest.approx(0.60)  # text -> image: our img_r5
    assert f30k["metrics"]["text_retrieval_recall@1"] == pytest.approx(0.40)  # image -> text: our txt_r1
    cifar = json.loads((out / names[0]).read_text(encoding="utf-8"))
    assert cifar["metrics"] == pytest.approx({"acc1": 0.915, "acc5": 0.99, "mean_per_class_recall": 0.9025})
    assert (cifar["task"], cifar["language"], cifar["dataset"]) == ("zeroshot_classification", "cn", "cifar-10-cn")


def test_cli_export(results: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    done = runner.invoke(app, ["results", "export", "--format", "mteb", str(results), "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "4 Result(s) exported as mteb" in done.output
    assert (out / "org__tiny-clip" / ("ab" * 6) / "icm.json").is_file()
    bad = runner.invoke(app, ["results", "export", "--format", "csv", str(results), "--out", str(out)])
    assert bad.exit_code != 0


@pytest.mark.parametrize("fmt", ["mteb", "clip_benchmark"])
def test_export_into_a_file_is_refused_before_writing(results: Path, tmp_path: Path, fmt: str) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    for out, message in ((blocker, "exists and is not a folder"), (blocker / "sub", "file is not a folder")):
        with pytest.raises(ZeroBenchError, match=message):
            export_results([results], fmt, out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "results"] and blocker.read_text() == "x"
