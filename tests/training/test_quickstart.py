"""The quickstart pipeline end to end at toy-of-the-toy sizes: every stage runs and reports what it should."""

from __future__ import annotations

import json

import pytest

from tests.quickstart_sizes import small_quickstart
from zero_bench_r2d2.training.quickstart import run_quickstart


@pytest.mark.slow
def test_quickstart_rows_cover_dual_reranked_and_matching_fine_tuning(tmp_path, capsys):
    cfg = small_quickstart(
        tmp_path, corpus=256, pairs=40, flickr=8, steps=12, matching_epochs=1, finetune_epochs=1, show_progress=False
    )
    summary = run_quickstart(cfg)
    settings = {(r["task"], r["setting"]) for r in summary["rows"]}
    for task in ("icr", "iqr"):
        assert (task, "zero-shot, dual encoder") in settings and (task, "zero-shot, re-ranked") in settings
    assert {("icm", "fine-tuned"), ("iqm", "fine-tuned"), ("flickr30k-cna", "fine-tuned")} <= settings
    (shapes,) = [r for r in summary["rows"] if r["task"] == "zero-toy-shapes"]  # the toy classification row
    assert shapes["metric"] == "acc1" and shapes["chance"] == pytest.approx(100 / 49)
    for task in ("icr", "iqr"):
        dual = json.loads((tmp_path / "results" / f"{task}-zero-shot-dual.json").read_text())
        reranked = json.loads((tmp_path / "results" / f"{task}-zero-shot.json").read_text())
        assert dual != reranked
    assert (tmp_path / "finetune-icm" / "model.safetensors").is_file()
    for row in summary["rows"]:  # every fine-tuning selected on val, the pre-trained weights a candidate
        if row["setting"] == "fine-tuned":
            assert row["selection"]["metric"] == row["metric"] and row["kept_start"] == row["selection"]["kept_start"]
            assert (tmp_path / f"finetune-{row['task']}" / "model-best.json").is_file()
    assert summary["pretrain_steps"] == 12 and summary["cpu_s"] > 0
    assert "re-ranked" in capsys.readouterr().out


def test_torch_threads_take_the_request_or_at_most_two_usable_cpus(monkeypatch):
    import os

    from zero_bench_r2d2.training.quickstart import torch_threads

    assert torch_threads(3) == 3
    for usable, expected in ((1, 1), (2, 2), (64, 2)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda pid, n=usable: set(range(n)))
        assert torch_threads(None) == expected


def test_ranking_notes_name_each_task_where_reranking_is_below_the_dual_encoder():
    from zero_bench_r2d2.training.quickstart import ranking_notes

    def rows(icr: tuple[float, float], iqr: tuple[float, float]) -> list[dict]:
        return [
            {"task": task, "setting": setting, "value": value}
            for task, pair in (("icr", icr), ("iqr", iqr))
            for setting, value in zip(("zero-shot, dual encoder", "zero-shot, re-ranked"), pair, strict=True)
        ]

    assert ranking_notes(rows((94.0, 96.4), (76.0, 76.0))) == []  # equal is not below
    (note,) = ranking_notes(rows((94.0, 96.4), (76.0, 75.58)))
    assert note.startswith("iqr: re-ranking is -0.42 against the dual encoder") and "TRAINING.md" in note
    assert [n[:4] for n in ranking_notes(rows((94.0, 93.0), (76.0, 75.0)))] == ["icr:", "iqr:"]
    assert ranking_notes([]) == []
