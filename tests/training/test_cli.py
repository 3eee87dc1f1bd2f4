"""``zero-bench train`` / ``finetune`` end to end on a few zero-toy samples (trainer found via entry point)."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from zero_bench.cli.app import app, main


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from zero_bench.data.toy import ToySizes, generate_zero_toy

    root = tmp_path_factory.mktemp("toy")
    generate_zero_toy(
        root=root,
        seed=2,
        sizes=ToySizes(
            corpus=48, itr_train=16, itr_val=8, itm_train=16, itm_val=8, flickr_train=2, flickr_val=2, flickr_test=2
        ),
    )
    return root / "zero-toy"


def _ok(result):
    assert result.exit_code == 0, (result.output, repr(result.exception))


@pytest.mark.slow
def test_train_then_finetune_retrieval_and_matching(toy, tmp_path):
    runner = CliRunner()
    pre = tmp_path / "pre"
    _ok(
        runner.invoke(
            app,
            [
                "train",
                "--model",
                "r2d2",
                "--config",
                "r2d2-tiny",
                "--corpus",
                str(toy / "corpus"),
                "-o",
                str(pre),
                "--max-steps",
                "2",
                "--batch-size",
                "8",
                "--warmup-steps",
                "1",
                "--set",
                "queue_size=16",
                "--set",
                "dropout=0",
                "--set",
                'text_mix={"title": 1, "query": 2}',
                "--plot",
                "--no-progress",
            ],
        )
    )
    assert (pre / "model.safetensors").is_file() and (pre / "loss.png").stat().st_size > 1000
    rows = [json.loads(line) for line in (pre / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and {"gcpr", "fgr", "mlm", "fgd"} <= set(rows[0])
    run = json.loads((pre / "train_config.json").read_text())["run"]
    assert run["text_mix"] == {"title": 1.0, "query": 2.0}
    for task, metric in (("icr", "val_r_mean"), ("icm", "val_auc")):
        out = tmp_path / task
        _ok(
            runner.invoke(
                app,
                [
                    "finetune",
                    "--task",
                    task,
                    "--checkpoint",
                    str(pre / "model.safetensors"),
                    "--config",
                    "r2d2-tiny",
                    "--data-dir",
                    str(toy / "ccmb"),
                    "-o",
                    str(out),
                    "--epochs",
                    "1",
                    "--batch-size",
                    "8",
                    "--warmup-steps",
                    "1",
                    "--no-progress",
                ],
            )
        )
        rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
        assert any(metric in r for r in rows), rows
        assert (out / "model-best.safetensors").is_file()
        state = json.loads((out / "train_config.json").read_text())
        assert state["run"]["recipe"]["kind"] == ("retrieval" if task == "icr" else "matching")


def test_unknown_trainer_is_one_line_error(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["zero-bench", "train", "--model", "nope", "--corpus", "zero-toy"])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("error: model 'nope' has no registered trainer") and err.count("\n") == 1, err
