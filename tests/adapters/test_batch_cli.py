"""``zero-bench evaluate`` with the shipped adapters on zero-toy: a 2-model x ccmb grid, --skip-existing, the
results table, the embedding cache keyed by the weight hash, and --random-init refusal and labelling."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.adapters import tiny_models as tm
from zero_bench import load_results
from zero_bench.cli.app import app
from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import sha256_file
from zero_bench.results import Result
from zero_bench.taskspec import suite_tasks

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    """A fresh ZERO_BENCH_HOME with zero-toy downloaded through the CLI, and tiny models saved to disk."""
    root = tmp_path_factory.mktemp("adapters-e2e")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZERO_BENCH_HOME", str(root / "home"))
        _ok(CliRunner().invoke(app, ["download", "zero-toy", "--scale", "0.01", "--quiet"]))
        open_clip_config, open_clip_weights = tm.save_open_clip(root / "open_clip")
        cn_config, cn_weights = tm.save_cn_clip(root / "cn_clip")
        yield {
            "root": root,
            "data": root / "home" / "data" / "zero-toy" / "ccmb",
            "chinese_clip": tm.save_chinese_clip(root / "chinese_clip"),
            "clip": tm.save_clip(root / "clip"),
            "open_clip": (open_clip_config, open_clip_weights),
            "cn_clip": (cn_config, cn_weights),
        }


def _ok(result) -> str:
    assert result.exit_code == 0, (result.output[-3000:], repr(result.exception))
    return result.output


def _evaluate(env: dict, *args: str):
    return CliRunner().invoke(app, ["evaluate", "--data-dir", str(env["data"]), "--device", "cpu", *args])


@pytest.mark.slow
def test_grid_two_models_ccmb_table_and_skip_existing(env: dict) -> None:
    out = env["root"] / "grid"
    models = ["-m", f"hf:{env['chinese_clip']}", "-m", f"hf:{env['clip']}"]
    _ok(_evaluate(env, *models, "-t", "ccmb", "-o", str(out)))
    files = sorted(out.glob("*.json"))
    assert len(files) == 10 == 2 * len(suite_tasks("ccmb"))
    results = [Result.read(f) for f in files]
    assert len({(r.model.checkpoint_sha256, r.task.name) for r in results}) == 10
    assert {r.task.name for r in results} == set(suite_tasks("ccmb"))

    csv = _ok(CliRunner().invoke(app, ["results", "table", str(out), "--csv"])).splitlines()
    assert len(csv) == 3 and csv[0].split(",")[-1] == "mean"
    frame = load_results(out)
    assert len(frame) == 2 and frame["mean"].notna().all()
    for task in suite_tasks("ccmb"):
        assert task in frame.columns
    md = _ok(CliRunner().invoke(app, ["results", "table", *map(str, files), "--md"]))
    assert md.count("\n") == 4
    rows = json.loads(_ok(CliRunner().invoke(app, ["results", "table", str(out), "--json"])))
    assert {row["model"] for row in rows} == set(frame["model"])

    # --skip-existing keeps every file; a removed one is redone, alone
    before = {f: f.stat().st_mtime_ns for f in files}
    files[3].unlink()
    output = _ok(_evaluate(env, *models, "-t", "ccmb", "-o", str(out), "--skip-existing"))
    assert output.count("skipped, result exists") == 9
    assert sorted(out.glob("*.json")) == files
    changed = [f for f in files if f.stat().st_mtime_ns != before[f]]
    assert changed == [files[3]]
    # a coverage gap: the mean needs every task of the table
    gap = load_results([f for f in files if f != files[0]])
    assert gap["mean"].isna().sum() == 1


@pytest.mark.slow
def test_open_clip_and_cn_clip_end_to_end(env: dict) -> None:
    config, weights = env["open_clip"]
    out = env["root"] / "oc.json"
    _ok(
        _evaluate(
            env, "-m", f"open_clip:{config.stem}/{weights}", "--model-config", str(config), "-t", "icr", "-o", str(out)
        )
    )
    result = Result.read(out)
    assert result.model.checkpoint_sha256 == sha256_file(weights) and not result.model.random_init
    assert result.task.name == "icr" and 0 <= result.metrics["r_mean"] <= 100

    cn_config, cn_weights = env["cn_clip"]
    folder = env["root"] / "cn"
    _ok(
        _evaluate(
            env,
            "-m",
            f"cn_clip:{cn_weights}",
            "--model-config",
            str(cn_config),
            "-t",
            "icm",
            "-t",
            "iqr",
            "-o",
            str(folder),
        )
    )
    found = {Result.read(f).task.name: Result.read(f) for f in folder.glob("*.json")}
    assert set(found) == {"icm", "iqr"}
    assert all(r.model.checkpoint_sha256 == sha256_file(cn_weights) for r in found.values())
    assert 0 <= found["icm"].metrics["auc"] <= 100


@pytest.mark.slow
def test_cache_hit_keyed_by_weight_hash(env: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from transformers import CLIPModel

    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.models.registry import create_model

    def counted(folder: Path):
        model: Any = create_model(f"hf:{folder}")
        calls: list[int] = []
        original = model.embed_images

        def embed_images(pixels):
            calls.append(len(pixels))
            return original(pixels)

        model.embed_images = embed_images
        return model, calls

    monkeypatch.setenv("ZERO_BENCH_HOME", str(tmp_path / "home"))  # an empty embedding cache
    first, calls = counted(env["clip"])
    one = evaluate(first, "icr", data_dir=env["data"], device="cpu")
    assert sum(calls) > 0
    again, calls = counted(env["clip"])
    two = evaluate(again, "icr", data_dir=env["data"], device="cpu")
    assert calls == [] and two.metrics == one.metrics  # every image embedding came from the cache

    # other weights, other hash: nothing reused
    other = tmp_path / "other"
    changed = CLIPModel.from_pretrained(env["clip"])
    with torch.no_grad():
        changed.visual_projection.weight.mul_(-1)
    changed.save_pretrained(other)
    for name in ("vocab.txt", "tokenizer_config.json", "preprocessor_config.json", "special_tokens_map.json"):
        if (env["clip"] / name).exists():
            (other / name).write_bytes((env["clip"] / name).read_bytes())
    third, calls = counted(other)
    assert third.info.checkpoint_sha256 != again.info.checkpoint_sha256
    evaluate(third, "icr", data_dir=env["data"], device="cpu")
    assert sum(calls) > 0


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "ZERO_BENCH_HOME": str(env["root"] / "home"), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "zero_bench.cli.app", *args],
        capture_output=True,
        text=True,
        env=environ,
        cwd=REPO,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
def test_random_init_refused_then_labelled_and_not_submittable(env: dict) -> None:
    config, _ = env["open_clip"]
    args = [
        "evaluate",
        "-m",
        f"open_clip:{config.stem}",
        "--model-config",
        str(config),
        "-t",
        "icr",
        "--data-dir",
        str(env["data"]),
        "--device",
        "cpu",
    ]
    out = env["root"] / "random.json"
    refused = _cli(env, *args, "-o", str(out))
    assert refused.returncode == 2 and not out.exists()
    assert refused.stderr.count("\n") == 1 and "--random-init" in refused.stderr

    _ok(CliRunner().invoke(app, [*args, "-o", str(out), "--random-init"]))
    result = Result.read(out)
    assert result.model.random_init and result.model.checkpoint_sha256 is None
    assert "random init" in result.model.label
    table = _ok(CliRunner().invoke(app, ["results", "table", str(out), "--csv"]))
    assert "(random init)" in table.splitlines()[1]

    submitted = _cli(env, "submit", str(out), "--root", str(env["root"] / "lb"))
    assert submitted.returncode == 2 and "random_init" in submitted.stderr
    assert not (env["root"] / "lb").exists() or not any((env["root"] / "lb").rglob("*.json"))


def test_checks_before_any_model_is_built(env: dict, tmp_path: Path) -> None:
    runner = CliRunner()
    # data first: a missing data folder is reported although the model does not exist either
    bad = runner.invoke(app, ["evaluate", "-m", "hf:/nonexistent/model", "-t", "icr", "--data-dir", str(tmp_path)])
    assert isinstance(bad.exception, ZeroBenchError) and "icr" in str(bad.exception)
    assert "nonexistent" not in str(bad.exception)
    # a repeated single-value option is an error, not a silent choice
    twice = _evaluate(env, "-m", f"hf:{env['clip']}", "-t", "icr", "--seed", "1", "--seed", "2")
    assert isinstance(twice.exception, ZeroBenchError) and "--seed was given 2 times" in str(twice.exception)
    again = _evaluate(env, "-m", f"hf:{env['clip']}", "-m", f"hf:{env['clip']}", "-t", "icr")
    assert isinstance(again.exception, ZeroBenchError) and "given twice" in str(again.exception)
    # several runs need a folder, not one file
    many = _evaluate(env, "-m", f"hf:{env['clip']}", "-t", "icr", "-t", "iqr", "-o", str(tmp_path / "one.json"))
    assert isinstance(many.exception, ZeroBenchError) and "need a folder" in str(many.exception)
    assert not (tmp_path / "one.json").exists()
