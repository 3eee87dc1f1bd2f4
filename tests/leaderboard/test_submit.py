"""zero-bench submit: every rejection (one line naming the field, nothing written) and what is accepted."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.leaderboard.lb_helpers import CARD, REPO, result_dict, snapshot, write_json
from zero_bench.leaderboard.build import build
from zero_bench.leaderboard.schema import MAX_SUBMISSION_BYTES, Rejected, slugify
from zero_bench.leaderboard.submit import read_model_file, submit


def _set(d: dict, dotted: str, value) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        d = d[k]
    if value is _DELETE:
        del d[keys[-1]]
    else:
        d[keys[-1]] = value


_DELETE = object()

# (id, dotted field to change, new value, expected "<field>: <words>" in the message)
FIELD_CASES = [
    ("unknown-task", "task.name", "nope", "task.name: unknown task 'nope'"),
    ("task-version", "task.version", "2.0", "task.version: '2.0' is not the current version"),
    ("unknown-split", "task.split", "test", "task.split: task icr has no split 'test'"),
    ("train-split", "task.split", "train", "task.split: the leaderboard takes the evaluation split 'val'"),
    (
        "checksum",
        "task.annotation_sha256",
        "0" * 64,
        "task.annotation_sha256: " + "0" * 64 + " differs from the checksum",
    ),
    ("checksum-format", "task.annotation_sha256", "abc", "task.annotation_sha256: String should match pattern"),
    ("unknown-metric", "metrics.bleu", 12.0, "metrics.bleu: not a metric of task icr"),
    ("metric-range", "metrics.img_r5", 120.0, "metrics.img_r5: 120.0 is outside [0, 100]"),
    ("metric-negative", "metrics.img_r5", -1.0, "metrics.img_r5: -1.0 is outside [0, 100]"),
    ("metric-nan", "metrics.img_r5", float("nan"), "metrics.img_r5: nan is not a finite number"),
    ("metric-inf", "metrics.img_r5", float("inf"), "metrics.img_r5: inf is not a finite number"),
    ("metric-string", "metrics.img_r5", "100", "metrics.img_r5: Input should be a valid number"),
    ("primary-missing", "metrics.r_mean", _DELETE, "metrics.r_mean: the primary metric of icr is missing"),
    ("tampered", "metrics.img_r1", 61.2, "metrics.img_r1: reported 61.2 but the predictions score 41.2000"),
    ("rounded-too-far", "metrics.img_r1", 41.22, "metrics.img_r1: reported 41.22 but the predictions score 41.2000"),
    ("mean-recall", "mean_recall", "mean_of_r1", "mean_recall: 'mean_of_r1' is not the mean recall of icr"),
    ("setting", "setting", "few-shot", "setting: Input should be 'zero-shot' or 'fine-tuned'"),
    ("fine-tuned-without-tuning", "setting", "fine-tuned", "model.fine_tuned_on: a fine-tuned result on icr must be"),
    ("tuned-but-zero-shot", "model.fine_tuned_on", "icr", "setting: the model was fine-tuned on icr"),
    ("no-name", "model.name", _DELETE, "model.name: Field required"),
    ("blank-name", "model.name", "   ", "model.name: must not be blank"),
    ("no-organisation", "model.organisation", None, "model.organisation: required for the leaderboard"),
    ("empty-organisation", "model.organisation", "", "model.organisation: required for the leaderboard"),
    ("no-link", "model.link", None, "model.link: required for the leaderboard"),
    ("script-link", "model.link", "javascript:alert(1)", "model.link: must be an http(s) URL"),
    ("no-parameters", "model.parameters", _DELETE, "model.parameters: Field required"),
    ("zero-parameters", "model.parameters", 0, "model.parameters: must be a positive number of parameters"),
    ("float-parameters", "model.parameters", 1.5, "model.parameters: Input should be a valid integer"),
    ("no-training-data", "model.training_data", _DELETE, "model.training_data: Field required"),
    ("blank-training-data", "model.training_data", " ", "model.training_data: required for the leaderboard"),
    (
        "long-string",
        "model.checkpoint",
        "x" * 501,
        "model.checkpoint: string of 501 characters is longer than the limit of 500",
    ),
    ("control-char", "model.name", "evil\x07model", "model.name: contains the control character U+0007"),
    ("newline", "model.organisation", "a\nb", "model.organisation: contains the control character U+000A"),
    ("bidi", "model.name", "abc\u202egnp.exe", "model.name: contains the control character U+202E"),
    ("extra-field", "model.secret", "x", "model.secret: Extra inputs are not permitted"),
    ("predictions-checksum", "predictions_sha256", "f" * 64, "predictions_sha256: " + "f" * 64 + " does not match"),
]


def _run(lb: Path, result: Path, predictions: Path | None, **kw) -> str:
    before = snapshot(lb)
    with pytest.raises(Rejected) as info:
        submit(result, predictions, root=lb, **kw)
    message = str(info.value)
    assert "\n" not in message
    assert snapshot(lb) == before, "the leaderboard changed on a rejection"
    return message


@pytest.mark.parametrize("field,value,expected", [c[1:] for c in FIELD_CASES], ids=[c[0] for c in FIELD_CASES])
def test_rejects_field(tmp_path, lb, ccmb, icr_preds, field, value, expected):
    raw = result_dict("icr", ccmb, icr_preds)
    _set(raw, field, value)
    path = tmp_path / "result.json"
    path.write_text(json.dumps(raw), encoding="utf-8")  # json.dumps writes NaN / Infinity as Python does
    message = _run(lb, path, icr_preds, data_dir=ccmb)
    assert message.startswith(f"{path}: ")
    assert expected in message, message


def test_tampered_metric_message(tmp_path, lb, ccmb, icr_preds):
    """Predictions say 41.2, the JSON says 61.2."""
    raw = result_dict("icr", ccmb, icr_preds)
    assert raw["metrics"]["img_r1"] == pytest.approx(41.2)
    raw["metrics"]["img_r1"] = 61.2
    message = _run(lb, write_json(tmp_path / "r.json", raw), icr_preds, data_dir=ccmb)
    assert message.endswith("metrics.img_r1: reported 61.2 but the predictions score 41.2000 (tolerance 0.01)")


def test_rejects_file_level_problems(tmp_path, lb, ccmb, icr_preds):
    big = tmp_path / "big.json"
    big.write_text(" " * (MAX_SUBMISSION_BYTES + 1) + "{}", encoding="utf-8")
    assert "file: " in _run(lb, big, icr_preds, data_dir=ccmb) and "larger than the limit" in _run(lb, big, None)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    assert "file: bad JSON at line 1" in _run(lb, bad, icr_preds, data_dir=ccmb)
    assert "file: cannot read" in _run(lb, tmp_path / "missing.json", None)
    listed = write_json(tmp_path / "list.json", [1, 2])
    assert "(top level): expected a Result JSON object" in _run(lb, listed, None)


def test_rejects_bad_predictions(tmp_path, lb, ccmb, icr_preds):
    raw = result_dict("icr", ccmb, icr_preds)
    raw["predictions_sha256"] = None
    result = write_json(tmp_path / "r.json", raw)
    assert "--predictions: file " in _run(lb, result, tmp_path / "nope.jsonl", data_dir=ccmb)
    short = tmp_path / "short.jsonl"
    short.write_text("".join(icr_preds.read_text().splitlines(keepends=True)[1:]), encoding="utf-8")
    message = _run(lb, result, short, data_dir=ccmb)
    assert "--predictions: " in message and "missing 1 text_id queries" in message
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('{"text_id": 0, "image_ids": [99]}\n', encoding="utf-8")
    assert "--predictions: " in _run(lb, result, garbage, data_dir=ccmb)


def test_rejects_oversized_predictions(tmp_path, lb, ccmb, icr_preds, monkeypatch):
    import zero_bench.leaderboard.submit as submit_module

    monkeypatch.setattr(submit_module, "MAX_PREDICTIONS_BYTES", 1000)
    result = write_json(tmp_path / "r.json", result_dict("icr", ccmb, icr_preds))
    assert (
        "--predictions: " in (m := _run(lb, result, icr_preds, data_dir=ccmb)) and "larger than the limit of 1000" in m
    )


def test_bundle_format_is_checked(tmp_path, lb):
    message = _run(lb, write_json(tmp_path / "b.json", {"format": "zip", "entries": []}), None)
    assert "format: expected 'zero-bench-bundle/1', got 'zip'" in message
    message = _run(lb, write_json(tmp_path / "b.json", {"format": "zero-bench-bundle/1", "entries": []}), None)
    assert "entries: a bundle lists at least one entry" in message


def test_mathtext_and_cjk_names_render(tmp_path, lb, ccmb, icr_preds):
    name = "$\\frac{1}{0}$ 模型 _x_ | [y](javascript:z)"
    raw = result_dict("icr", ccmb, icr_preds, card=dict(CARD, name=name))
    outcome = submit(write_json(tmp_path / "r.json", raw), icr_preds, root=lb, data_dir=ccmb)
    assert outcome.slug.startswith("frac-1-0-moxing-x-y-javascript-z-")  # 模型 transliterated, plus a hash
    build(lb, data_dir=ccmb)
    readme = (lb / "README.md").read_text(encoding="utf-8")
    assert "\\$\\\\frac\\{1\\}\\{0\\}\\$ 模型 \\_x\\_ \\| \\[y\\]\\(javascript\\:z\\)" in readme
    assert (lb / "charts" / "icr.png").stat().st_size > 1000


def test_rejects_missing_data(tmp_path, lb, ccmb, icr_preds):
    result = write_json(tmp_path / "r.json", result_dict("icr", ccmb, icr_preds))
    message = _run(lb, result, icr_preds, data_dir=tmp_path / "no-such-dir")
    assert "task: cannot load the annotations to re-score against" in message


def test_official_checksum_registry(tmp_path, lb, ccmb, icr_preds):
    """When leaderboard/checksums.json knows the official checksum, a submission must match it."""
    registry = json.loads((lb / "checksums.json").read_text())
    registry["checksums"]["icr/1.0/val"] = "a" * 64
    (lb / "checksums.json").write_text(json.dumps(registry), encoding="utf-8")
    result = write_json(tmp_path / "r.json", result_dict("icr", ccmb, icr_preds))
    assert "task.annotation_sha256: " in (m := _run(lb, result, icr_preds, data_dir=ccmb)) and "not the official" in m
    assert "not the official" in _run(lb, result, None)  # also for reported entries


def test_reported_without_predictions_checks_means(tmp_path, lb, ccmb, icr_preds):
    raw = result_dict("icr", ccmb, icr_preds)
    raw["predictions_sha256"] = None
    raw["metrics"]["r_mean"] = 70.0
    message = _run(lb, write_json(tmp_path / "r.json", raw), None)
    assert "metrics.r_mean: 70.0 is not the mean of txt_r1/txt_r5/txt_r10/img_r1/img_r5/img_r10" in message


def test_accepts_rescored_and_stores_predictions(tmp_path, lb, ccmb, icr_preds):
    raw = result_dict("icr", ccmb, icr_preds)
    raw["metrics"] = {k: round(v, 2) for k, v in raw["metrics"].items()}  # rounding is fine
    outcome = submit(write_json(tmp_path / "r.json", raw), icr_preds, root=lb, data_dir=ccmb)
    assert outcome.path == lb / "submissions" / "tiny-test-model.json"
    stored = read_model_file(outcome.path)
    (entry,) = stored.entries
    assert entry.status == "re-scored" and entry.metrics["img_r1"] == pytest.approx(41.2)
    assert entry.metrics["r_mean"] == pytest.approx((41.2 + 300 + 200) / 6)
    assert (lb / "submissions" / entry.predictions_file).read_bytes() == icr_preds.read_bytes()
    assert stored.model.organisation == "zero-bench tests"
    build(lb, data_dir=ccmb)
    readme = (lb / "README.md").read_text()
    assert "Tiny Test Model" in readme and "**zero-shot, re-scored**" in readme and "41.20" in readme
    # The build (and the CI check) verifies the stored predictions against their checksum.
    (lb / "submissions" / entry.predictions_file).write_text("tampered\n")
    with pytest.raises(Rejected, match=r"entries\[0\]\.predictions_sha256: does not match"):
        build(lb, data_dir=ccmb)


def test_reported_entry_and_replace(tmp_path, lb, ccmb, icr_preds):
    raw = result_dict("icr", ccmb, icr_preds)
    raw["predictions_sha256"] = None
    result = write_json(tmp_path / "r.json", raw)
    outcome = submit(result, None, root=lb)
    assert outcome.stored[0].status == "reported"
    assert outcome.stored[0].source.startswith("submitted Result JSON without predictions")
    # The same model, task and status again: only with --replace.
    assert "task: 'Tiny Test Model' already has a reported zero-shot entry for icr/val; pass --replace" in _run(
        lb, result, None
    )
    again = submit(result, None, root=lb, replace=True)
    assert len(again.replaced) == 1
    # A re-scored entry for the same task lives beside the reported one.
    raw2 = result_dict("icr", ccmb, icr_preds)
    submit(write_json(tmp_path / "r2.json", raw2), icr_preds, root=lb, data_dir=ccmb)
    assert sorted(e.status for e in read_model_file(lb / "submissions" / "tiny-test-model.json").entries) == [
        "re-scored",
        "reported",
    ]
    # A changed card needs --replace too.
    raw["model"]["link"] = "https://example.org/other"
    raw["task"]["name"] = "icr"
    message = _run(lb, write_json(tmp_path / "r3.json", raw), None, replace=False)
    assert "model.link: differs from the stored card of 'Tiny Test Model'" in message


def test_slug_clash_with_another_model(tmp_path, lb, ccmb, icr_preds):
    submit(write_json(tmp_path / "a.json", result_dict("icr", ccmb, icr_preds)), icr_preds, root=lb, data_dir=ccmb)
    other = dict(CARD, name="tiny test-model")  # same slug, another model
    raw = result_dict("icr", ccmb, icr_preds, card=other)
    message = _run(lb, write_json(tmp_path / "b.json", raw), icr_preds, data_dir=ccmb, replace=True)
    assert (
        "model.name: 'tiny test-model' maps to the file tiny-test-model.json, which belongs to another model" in message
    )


@pytest.mark.parametrize(
    "name,slug",
    [
        ("<img src=x onerror=alert(1)>", "img-src-x-onerror-alert-1"),
        ("../../etc/passwd", "etc-passwd"),
    ],
)
def test_hostile_names_stored_safely_and_rendered_as_text(tmp_path, lb, ccmb, icr_preds, name, slug):
    raw = result_dict("icr", ccmb, icr_preds, card=dict(CARD, name=name, organisation="<b>org</b> | x"))
    outcome = submit(write_json(tmp_path / "r.json", raw), icr_preds, root=lb, data_dir=ccmb)
    assert outcome.path == lb / "submissions" / f"{slug}.json"
    assert outcome.path.resolve().parent == (lb / "submissions").resolve()
    assert read_model_file(outcome.path).model.name == name  # the name itself is kept verbatim
    build(lb, data_dir=ccmb)
    readme = (lb / "README.md").read_text()
    html = (lb / "index.html").read_text()
    assert "<img" not in readme and "<b>" not in readme
    if name.startswith("<img"):
        assert "&lt;img src=x onerror=alert\\(1\\)&gt;" in readme
    else:
        assert "\\.\\./\\.\\./etc/passwd" in readme
    assert "<img" not in html and "<b>" not in html  # submitted text only inside escaped JSON
    assert "\\u003cb\\u003eorg\\u003c/b\\u003e | x" in html
    if name.startswith("<img"):
        assert "\\u003cimg src=x onerror=alert(1)\\u003e" in html
    else:
        assert '"name":"../../etc/passwd"' in html


@pytest.mark.parametrize(
    "name",
    ["..", "../..", "a/b\\c", "\x00", "CON", "nul", "README", "名字", "R2D2 ViT-L/14", "-x-", "." * 300, "a" * 200],
)
def test_slugify_is_safe(name):
    slug = slugify(name)
    assert slug not in ("con", "nul", "readme")
    assert slug and len(slug) <= 80
    assert set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert ".." not in slug and "/" not in slug and not slug.startswith("-")


def test_bundle(tmp_path, lb, ccmb, icr_preds, icm_preds):
    (tmp_path / "preds").mkdir()
    (tmp_path / "preds" / "icr.jsonl").write_bytes(icr_preds.read_bytes())
    (tmp_path / "preds" / "icm.jsonl").write_bytes(icm_preds.read_bytes())
    icm_raw = result_dict("icm", ccmb, icm_preds)
    bundle = {
        "format": "zero-bench-bundle/1",
        "entries": [
            {"result": result_dict("icr", ccmb, icr_preds), "predictions": "preds/icr.jsonl"},
            {"result": icm_raw, "predictions": "preds/icm.jsonl"},
        ],
    }
    path = write_json(tmp_path / "bundle.json", bundle)
    # Rejections first, each naming the entry.
    bad = copy.deepcopy(bundle)
    bad["entries"][1]["predictions"] = "../icm.jsonl"
    assert "entries[1].predictions: must be a relative path" in _run(lb, write_json(tmp_path / "b1.json", bad), None)
    bad = copy.deepcopy(bundle)
    bad["entries"][1]["result"]["model"]["name"] = "Another"
    assert "entries[1].result.model.name: a bundle holds one model" in _run(
        lb, write_json(tmp_path / "b2.json", bad), None, data_dir=ccmb
    )
    bad = copy.deepcopy(bundle)
    bad["entries"][1]["result"]["metrics"]["auc"] = 99.0
    assert "entries[1].result.metrics.auc: reported 99.0 but the predictions score" in _run(
        lb, write_json(tmp_path / "b3.json", bad), None, data_dir=ccmb
    )
    bad = copy.deepcopy(bundle)
    bad["entries"].append(bad["entries"][0])
    assert "entries[2].result.task.name: the bundle has two re-scored zero-shot entries for icr/val" in _run(
        lb, write_json(tmp_path / "b4.json", bad), None, data_dir=ccmb
    )
    assert "--predictions: not used with a bundle" in _run(lb, path, icr_preds, data_dir=ccmb)
    outcome = submit(path, None, root=lb, data_dir=ccmb)
    assert sorted(e.task for e in outcome.stored) == ["icm", "icr"]
    stored = read_model_file(outcome.path)
    assert {e.task: e.status for e in stored.entries} == {"icm": "re-scored", "icr": "re-scored"}
    assert 0 < stored.entries[0].metrics["auc"] < 100


def test_cli_one_line_error_and_success(tmp_path, lb, ccmb, icr_preds):
    raw = result_dict("icr", ccmb, icr_preds)
    raw["metrics"]["img_r1"] = 61.2
    bad = write_json(tmp_path / "bad.json", raw)
    env = dict(os.environ)
    cmd = [sys.executable, "-m", "zero_bench.cli.app", "submit", "--root", str(lb), "--data-dir", str(ccmb)]
    before = snapshot(lb)
    proc = subprocess.run(
        [*cmd, str(bad), "--predictions", str(icr_preds)], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert "metrics.img_r1: reported 61.2 but the predictions score 41.2000" in proc.stderr
    assert snapshot(lb) == before
    # The rest in-process (each CLI process pays for importing torch).
    from typer.testing import CliRunner

    from zero_bench.cli.app import app
    from zero_bench.errors import ZeroBenchError

    runner = CliRunner()
    good = write_json(tmp_path / "good.json", result_dict("icr", ccmb, icr_preds))
    out = runner.invoke(
        app, ["submit", str(good), "--predictions", str(icr_preds), "--root", str(lb), "--data-dir", str(ccmb)]
    )
    assert out.exit_code == 0, out.output
    assert "stored re-scored zero-shot entry for icr/val" in out.output
    out = runner.invoke(app, ["leaderboard", "build", "--root", str(lb), "--data-dir", str(ccmb), "--check"])
    assert isinstance(out.exception, ZeroBenchError) and "leaderboard files are stale: README.md" in str(out.exception)
    out = runner.invoke(app, ["leaderboard", "build", "--root", str(lb), "--data-dir", str(ccmb)])
    assert out.exit_code == 0 and "index.html" in out.output
    out = runner.invoke(app, ["leaderboard", "build", "--root", str(lb), "--data-dir", str(ccmb), "--check"])
    assert out.exit_code == 0 and "leaderboard is up to date" in out.output
