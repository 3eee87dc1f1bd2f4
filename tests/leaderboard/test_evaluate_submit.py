"""End to end: `evaluate` (a tiny model) writes a Result and predictions; `submit` re-scores and stores them."""

from __future__ import annotations

import pytest

from zero_bench.evaluation.evaluator import evaluate
from zero_bench.leaderboard.build import build, stale_files
from zero_bench.leaderboard.submit import read_model_file, submit
from zero_bench.models.protocol import ModelInfo
from zero_bench.testing import ColourModel, make_elevater_folder


def _colour_model() -> ColourModel:
    info = ModelInfo(
        name="Colour Model 小",
        parameters=3,
        training_data="none (test model)",
        organisation="zero-bench tests",
        link="https://example.org/colour",
    )
    return ColourModel(noise=1.5, info=info)


def test_evaluate_then_submit(tmp_path, lb, ccmb):
    preds = tmp_path / "preds.jsonl"
    result = evaluate(_colour_model(), "icr", data_dir=ccmb, predictions=preds, device="cpu", use_cache=False)
    path = tmp_path / "result.json"
    result.write(path)
    outcome = submit(path, preds, root=lb, data_dir=ccmb)
    (entry,) = read_model_file(outcome.path).entries
    assert entry.status == "re-scored" and entry.predictions_sha256 == result.predictions_sha256
    for key, value in result.metrics.items():
        assert abs(entry.metrics[key] - value) <= 1e-6
    build(lb, data_dir=ccmb)
    assert stale_files(lb, ccmb) == []
    assert "Colour Model 小" in (lb / "README.md").read_text(encoding="utf-8")


def test_evaluate_then_submit_classification(tmp_path, lb):
    """A tiny model classifies an ELEVATER-CN folder; submit re-scores the predictions; the build shows it."""
    data = tmp_path / "elevater-cn"
    make_elevater_folder(data)
    preds = tmp_path / "preds.jsonl"
    result = evaluate(_colour_model(), "cifar-10-cn", data_dir=data, predictions=preds, device="cpu", use_cache=False)
    assert result.classification is not None and result.classification.protocol == "cn_clip"
    path = tmp_path / "result.json"
    result.write(path)
    outcome = submit(path, preds, root=lb, data_dir=data)
    (entry,) = read_model_file(outcome.path).entries
    assert entry.status == "re-scored" and entry.classification == result.classification
    assert entry.metrics == {k: pytest.approx(v, abs=1e-6) for k, v in result.metrics.items()}
    build(lb, data_dir=data)
    assert stale_files(lb, data) == []
    readme = (lb / "README.md").read_text(encoding="utf-8")
    assert f"| Colour Model 小 | {result.metrics['acc1']:.2f} |" in readme[readme.index("## Classification") :]
