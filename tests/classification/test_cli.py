"""``zero-bench evaluate`` on classification tasks with every kind of model (hf, open_clip, cn_clip adapters and
R2D2's dual encoder), tiny real models saved with each library's own save call; the elevater-cn suite; ``score``
re-computes the metrics from the predictions and refuses broken ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.adapters import tiny_models as tm
from zero_bench.cli.app import app
from zero_bench.results import Result
from zero_bench.taskspec import get_task, suite_tasks
from zero_bench.testing import make_elevater_folder


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from zero_bench_r2d2.testing import save_random_checkpoint

    root = tmp_path_factory.mktemp("classification-cli")
    data = root / "elevater"
    for name in suite_tasks("elevater-cn"):
        folder = get_task(name).labels.split("/")[0]  # type: ignore[union-attr]
        make_elevater_folder(data, name=folder, n_classes=3 if name != "cifar-10-cn" else 10, per_class=2)
    open_clip_config, open_clip_weights = tm.save_open_clip(root / "open_clip")
    cn_config, cn_weights = tm.save_cn_clip(root / "cn_clip")
    return {
        "root": root,
        "data": data,
        "models": {
            "hf": ["-m", f"hf:{tm.save_chinese_clip(root / 'chinese_clip')}"],
            "open_clip": [
                "-m",
                f"open_clip:{open_clip_config.stem}/{open_clip_weights}",
                "--model-config",
                str(open_clip_config),
            ],
            "cn_clip": ["-m", f"cn_clip:{cn_weights}", "--model-config", str(cn_config)],
            "r2d2": [
                "-m",
                "r2d2",
                "--model-config",
                "r2d2-tiny",
                "--checkpoint",
                str(save_random_checkpoint(root / "r2d2.pt")),
            ],
        },
    }


def _ok(result) -> str:
    assert result.exit_code == 0, (result.output[-3000:], repr(result.exception))
    return result.output


def _cli(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["hf", "open_clip", "cn_clip", "r2d2"])
def test_every_model_classifies_and_score_reproduces(env: dict, kind: str, tmp_path: Path) -> None:
    out, pred = tmp_path / "r.json", tmp_path / "p.jsonl"
    common = ["--data-dir", str(env["data"]), "--device", "cpu", "--no-cache", "-t", "cifar-10-cn"]
    _ok(_cli("evaluate", *env["models"][kind], *common, "--predictions", str(pred), "-o", str(out)))
    result = Result.read(out)
    assert result.task.name == "cifar-10-cn" and result.num_queries == {"images": 20, "classes": 10}
    assert set(result.metrics) == {"acc1", "acc5", "mean_per_class_recall"}
    assert result.classification is not None and result.classification.protocol == "cn_clip"
    assert result.tie_rule == "index" and set(result.tie_range) == set(result.metrics)
    lines = [json.loads(line) for line in pred.read_text().splitlines()]
    assert [line["image_id"] for line in lines] == list(range(20)) and all(len(x["class_ids"]) == 5 for x in lines)
    scored = json.loads(
        _ok(_cli("score", "-t", "cifar-10-cn", "--predictions", str(pred), "--data-dir", str(env["data"]), "--json"))
    )
    assert scored == pytest.approx(result.metrics, abs=1e-9)


@pytest.mark.slow
def test_suite_with_the_clip_benchmark_protocol(env: dict, tmp_path: Path) -> None:
    out = tmp_path / "results"
    args = ["--data-dir", str(env["data"]), "--device", "cpu", "--no-cache", "-t", "elevater-cn", "-o", str(out)]
    _ok(_cli("evaluate", *env["models"]["hf"], *args, "--protocol", "clip_benchmark"))
    results = [Result.read(path) for path in sorted(out.glob("*.json"))]
    assert sorted(r.task.name for r in results) == suite_tasks("elevater-cn")
    assert all(r.classification is not None and r.classification.protocol == "clip_benchmark" for r in results)
    three = [r for r in results if r.task.name != "cifar-10-cn"]
    assert all("acc5" not in r.metrics for r in three)  # fewer than 5 classes: no top-5


def test_score_refuses_broken_predictions(env: dict, tmp_path: Path) -> None:
    pred = tmp_path / "p.jsonl"
    good = [{"image_id": i, "class_ids": [0, 1, 2, 3, 4]} for i in range(20)]
    cases = {
        "missing 1 images": good[:-1],
        "duplicate image_id 0": [good[0], *good],
        "not a class id": [{"image_id": 0, "class_ids": [0, 1, 2, 3, 10]}, *good[1:]],
        "exactly 5 class ids": [{"image_id": 0, "class_ids": [0, 1]}, *good[1:]],
        "repeats a class id": [{"image_id": 0, "class_ids": [0, 0, 1, 2, 3]}, *good[1:]],
    }
    for message, lines in cases.items():
        pred.write_text("".join(json.dumps(line) + "\n" for line in lines))
        result = _cli("score", "-t", "cifar-10-cn", "--predictions", str(pred), "--data-dir", str(env["data"]))
        assert result.exit_code != 0 and message in str(result.exception), (message, result.exception)


def test_protocol_options_refused_for_other_tasks(env: dict) -> None:
    result = _cli(
        "evaluate", *env["models"]["hf"], "-t", "icr", "--protocol", "clip_benchmark", "--data-dir", str(env["data"])
    )
    assert result.exit_code != 0
