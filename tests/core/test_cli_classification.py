"""``zero-bench evaluate --protocol / --templates``: refused as one line before any data is read or model built when
wrong, named in the result file when not the default, passed to the evaluator, recorded in the Result."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from zero_bench.cli.app import app, main
from zero_bench.evaluation import batch
from zero_bench.fileio import sha256_file


def _main(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["zero-bench", "evaluate", "-m", "r2d2", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    code = exit_.value.code
    assert isinstance(code, int)
    return code, capsys.readouterr().err


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("error: "), err
    return err.strip()


def _templates(path: Path, templates: list[str]) -> Path:
    path.write_text(json.dumps(templates, ensure_ascii=False), encoding="utf-8")
    return path


def test_unknown_protocol_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _main(monkeypatch, capsys, "-t", "cifar-10-cn", "--protocol", "openai")
    assert code != 0
    assert _one_line(err) == "error: --protocol must be one of cn_clip, clip_benchmark, got 'openai'"


@pytest.mark.parametrize(
    ("flag", "values"), [("--protocol", ["cn_clip", "clip_benchmark"]), ("--templates", ["a.json", "b.json"])]
)
def test_given_twice_is_refused(
    flag: str, values: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _main(monkeypatch, capsys, "-t", "cifar-10-cn", flag, values[0], flag, values[1])
    assert code == 2
    assert _one_line(err) == f"error: {flag} was given 2 times; it takes one value"


def test_missing_templates_file_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "templates.json"
    code, err = _main(monkeypatch, capsys, "-t", "cifar-10-cn", "--templates", str(missing))
    assert code == 2
    assert str(missing) in _one_line(err)
    (tmp_path / "folder.json").mkdir()
    code, err = _main(monkeypatch, capsys, "-t", "cifar-10-cn", "--templates", str(tmp_path / "folder.json"))
    assert code == 2 and str(tmp_path / "folder.json") in _one_line(err)


def test_classification_options_refused_for_other_tasks_before_any_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "no-data"  # nothing is read: the refusal comes first
    code, err = _main(monkeypatch, capsys, "-t", "icr", "--data-dir", str(empty), "--protocol", "clip_benchmark")
    assert code == 2 and _one_line(err) == "error: --protocol: for classification tasks only; icr is retrieval"
    file = _templates(tmp_path / "t.json", ["{c}的照片"])
    code, err = _main(monkeypatch, capsys, "-t", "cifar-10-cn", "-t", "icm", "--templates", str(file))
    assert code == 2 and _one_line(err) == "error: --templates: for classification tasks only; icm is matching"
    code, err = _main(monkeypatch, capsys, "-t", "cifar-10-cn", "--data-dir", str(empty), "--tie-rule", "official")
    assert code == 2 and "cifar-10-cn: classification ranks equal scores by ascending class id" in _one_line(err)


def test_help_names_the_protocols_and_the_docs() -> None:
    out = CliRunner().invoke(app, ["evaluate", "--help"], env={"COLUMNS": "200"}).output
    assert "--protocol" in out and "--templates" in out
    assert "cn_clip" in out and "clip_benchmark" in out and "docs/classification.md" in out


def test_result_names_tell_protocol_and_templates_apart(tmp_path: Path) -> None:
    assert batch.Settings().name_parts() == ()
    assert batch.Settings(protocol="cn_clip").name_parts() == ()
    assert batch.Settings(protocol="clip_benchmark").name_parts() == ("clip_benchmark",)
    a = _templates(tmp_path / "a.json", ["{c}的照片"])
    b = _templates(tmp_path / "b.json", ["一张{c}的照片"])
    same = _templates(tmp_path / "a-copy.json", ["{c}的照片"])
    part = batch.Settings(templates=a).name_parts()
    assert part == (f"tpl-{sha256_file(a)[:8]}",)
    assert batch.Settings(templates=b).name_parts() != part
    assert batch.Settings(templates=same).name_parts() == part  # named by content, not by path
    both = batch.Settings(protocol="clip_benchmark", templates=a, precision="fp16").name_parts()
    assert both == ("fp16", "clip_benchmark", part[0])
    info = SimpleNamespace(random_init=False, checkpoint_sha256="ab" * 32)
    names = {
        batch.result_name("m", None, info, "cifar-10-cn", "test", s.name_parts())  # type: ignore[arg-type]
        for s in (batch.Settings(), batch.Settings(protocol="clip_benchmark"), batch.Settings(templates=a))
    }
    assert len(names) == 3


def test_run_grid_passes_protocol_and_templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import zero_bench.evaluation.evaluator as evaluator
    import zero_bench.models.registry as registry

    calls: list[dict[str, Any]] = []

    def fake_evaluate(model: Any, spec: Any, split: str, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return SimpleNamespace(write=lambda path: None)

    model = SimpleNamespace(info=SimpleNamespace(random_init=False, checkpoint_sha256="cd" * 32))
    monkeypatch.setattr(registry, "create_model", lambda *args, **kwargs: model)
    monkeypatch.setattr(evaluator, "evaluate", fake_evaluate)
    file = _templates(tmp_path / "t.json", ["{c}"])
    jobs = batch.plan_jobs(["cifar-10-cn"], [])
    runs = batch.plan_runs(["fake"], [], {}, None)
    for settings, expected in (
        (batch.Settings(), ("cn_clip", None)),
        (batch.Settings(protocol="clip_benchmark", templates=file), ("clip_benchmark", file)),
    ):
        done = list(batch.run_grid(runs, jobs, batch.Outputs(tmp_path), settings, skip_existing=False, writer=False))
        assert len(done) == 1 and (calls[-1]["protocol"], calls[-1]["templates"]) == expected


def test_plan_grid_checks_and_plans_without_a_model(tmp_path: Path) -> None:
    from zero_bench.testing import make_elevater_folder

    make_elevater_folder(tmp_path / "data", n_classes=3, per_class=2)
    file = _templates(tmp_path / "t.json", ["{c}"])
    grid = batch.plan_grid(
        ["a", "b"],
        ["cifar-10-cn"],
        [],
        [],
        {},
        {"--data-dir": [tmp_path / "data"], "--protocol": ["clip_benchmark"], "--templates": [file], "--seed": []},
    )
    assert [r.model for r in grid.runs] == ["a", "b"] and [j.spec.name for j in grid.jobs] == ["cifar-10-cn"]
    assert (grid.settings.protocol, grid.settings.templates, grid.settings.seed) == ("clip_benchmark", file, 0)
    assert grid.settings.data_dir == tmp_path / "data" and grid.outputs.folder == Path("results")


@pytest.mark.slow
def test_evaluate_records_protocol_and_templates(tmp_path: Path) -> None:
    from tests.adapters import tiny_models as tm
    from zero_bench.results import Result
    from zero_bench.testing import make_elevater_folder

    make_elevater_folder(tmp_path / "data", n_classes=6, per_class=2)
    config, weights = tm.save_open_clip(tmp_path / "open_clip")
    file = _templates(tmp_path / "mine.json", ["{c}的照片", "一张{c}的图片"])
    out = tmp_path / "results"
    base = ["evaluate", "-m", f"open_clip:{config.stem}/{weights}", "--model-config", str(config)]
    base += ["-t", "cifar-10-cn", "--data-dir", str(tmp_path / "data"), "--device", "cpu", "--no-cache", "-o", str(out)]
    for extra in ([], ["--protocol", "clip_benchmark"], ["--templates", str(file)]):
        result = CliRunner().invoke(app, [*base, *extra])
        assert result.exit_code == 0, (result.output[-3000:], repr(result.exception))
    found = [Result.read(f) for f in sorted(out.glob("*.json"))]
    assert len(found) == 3  # three different file names
    records = {r.classification.protocol: r.classification for r in found if r.classification is not None}
    assert set(records) == {"cn_clip", "clip_benchmark"}
    mine = [
        r.classification for r in found if r.classification and r.classification.templates_sha256 == sha256_file(file)
    ]
    assert len(mine) == 1 and mine[0].protocol == "cn_clip" and mine[0].prompts_per_class == 2
