"""Hostile submissions and leaderboard folders: re-scoring, links, names, default root, modes, XSS, concurrency."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile.hostile import cli, one_line, refused
from tests.leaderboard.lb_helpers import CARD, REPO, copy_leaderboard, result_dict, write_json
from zero_bench.leaderboard.build import build
from zero_bench.leaderboard.schema import slugify
from zero_bench.leaderboard.submit import read_model_file, submit
from zero_bench.testing import skip_or_fail


def _submit_icr(world: Path, lb: Path, ccmb: Path, preds: Path, card: dict | None = None) -> Path:
    raw = write_json(world / "r.json", result_dict("icr", ccmb, preds, card=card))
    return submit(raw, preds, root=lb, data_dir=ccmb).path


# ---- defect 1: the build re-scores what it shows ------------------------------------------------------------------


def test_build_refuses_hand_edited_rescored_numbers(world, lb, ccmb, icr_preds):
    path = _submit_icr(world, lb, ccmb, icr_preds)
    assert cli("leaderboard", "build", "--root", lb, "--data-dir", ccmb).code == 0
    data = json.loads(path.read_text(encoding="utf-8"))
    data["entries"][0]["metrics"]["img_r1"] = 99.0  # the predictions score 41.2
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    names = (path.name, "entries[0].metrics.img_r1", "41.2")
    refused(world, "leaderboard", "build", "--root", lb, "--data-dir", ccmb, names=names)
    refused(world, "leaderboard", "build", "--root", lb, "--data-dir", ccmb, "--check", names=names)


def test_build_refuses_a_rescored_entry_it_cannot_rescore(world, lb, ccmb, icr_preds):
    path = _submit_icr(world, lb, ccmb, icr_preds)
    refused(world, "leaderboard", "build", "--root", lb, names=(path.name, "cannot re-score icr/val"))


def test_build_shows_the_computed_numbers(world, lb, ccmb, icr_preds):
    path = _submit_icr(world, lb, ccmb, icr_preds)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["entries"][0]["metrics"]["img_r1"] = 41.205  # within the tolerance: shown as computed (41.20)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    build(lb, data_dir=ccmb)
    page = (lb / "index.html").read_text(encoding="utf-8")
    assert '"img_r1":41.2,' in page and "41.205" not in page


# ---- defect 2: no write, rename or delete through a link out of the leaderboard -------------------------------------


def test_build_refuses_a_symlinked_charts_folder(world, lb):
    outside = world / "outside"
    outside.mkdir()
    (outside / "precious.png").write_bytes(b"not a chart")
    shutil.rmtree(lb / "charts")
    (lb / "charts").symlink_to(outside, target_is_directory=True)
    refused(world, "leaderboard", "build", "--root", lb, names=(str(lb / "charts"), "symbolic link"))
    assert (outside / "precious.png").read_bytes() == b"not a chart"


def test_submit_refuses_a_symlinked_predictions_folder(world, lb, ccmb, icr_preds):
    outside = world / "outside"
    outside.mkdir()
    (lb / "submissions" / "tiny-test-model").symlink_to(outside, target_is_directory=True)
    raw = write_json(world / "r.json", result_dict("icr", ccmb, icr_preds))
    args = ("submit", raw, "--predictions", icr_preds, "--root", lb, "--data-dir", ccmb)
    refused(world, *args, names=("submissions/tiny-test-model", "symbolic link"))
    assert list(outside.iterdir()) == []


def test_submit_refuses_a_symlinked_model_file(world, lb, ccmb, icr_preds):
    outside = world / "outside.json"
    outside.write_text("{}", encoding="utf-8")
    (lb / "submissions" / "tiny-test-model.json").symlink_to(outside)
    raw = write_json(world / "r.json", result_dict("icr", ccmb, icr_preds))
    args = ("submit", raw, "--predictions", icr_preds, "--root", lb, "--data-dir", ccmb)
    refused(world, *args, names=("tiny-test-model.json", "symbolic link"))


# ---- defect 10: submit writes into the working tree's leaderboard ----------------------------------------------------


def test_submit_defaults_to_the_working_trees_leaderboard(world, ccmb, icr_preds):
    repo = world / "my-checkout"
    copy_leaderboard(repo / "leaderboard")
    (repo / "src").mkdir()
    raw = write_json(world / "r.json", result_dict("icr", ccmb, icr_preds))
    package_board = REPO / "leaderboard" / "submissions"
    before = sorted(p.name for p in package_board.iterdir())
    out = cli("submit", raw, "--predictions", icr_preds, "--data-dir", ccmb, cwd=repo / "src")
    assert out.code == 0, out.err
    assert (repo / "leaderboard" / "submissions" / "tiny-test-model.json").is_file()
    assert sorted(p.name for p in package_board.iterdir()) == before
    bare = world / "elsewhere"
    bare.mkdir()
    refused(world, "submit", raw, "--predictions", icr_preds, "--data-dir", ccmb, cwd=bare, names=(str(bare), "--root"))


# ---- defect 11: generated files follow the umask --------------------------------------------------------------------


def test_leaderboard_files_follow_the_umask(world, lb, ccmb, icr_preds):
    old = os.umask(0o022)
    try:
        path = _submit_icr(world, lb, ccmb, icr_preds)
        build(lb, data_dir=ccmb)
    finally:
        os.umask(old)
    stored = lb / "submissions" / read_model_file(path).entries[0].predictions_file
    files = [path, stored, lb / "README.md", lb / "index.html", *sorted((lb / "charts").glob("*.png"))]
    assert {f.name: oct(f.stat().st_mode & 0o777) for f in files} == {f.name: "0o644" for f in files}
    assert oct(stored.parent.stat().st_mode & 0o777) == "0o755"


# ---- defect 12: names -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lookalike",
    ["Tiny Test M\u043edel", "Tiny Test Mode\u04cf", "TINY TEST MODEL"],
    ids=["cyrillic-o", "cyrillic-palochka", "case"],
)
def test_lookalike_of_an_existing_name_is_refused(world, lb, ccmb, icr_preds, lookalike):
    _submit_icr(world, lb, ccmb, icr_preds)
    raw = write_json(world / "b.json", result_dict("icr", ccmb, icr_preds, card=dict(CARD, name=lookalike)))
    args = ("submit", raw, "--predictions", icr_preds, "--root", lb, "--data-dir", ccmb)
    refused(world, *args, names=("b.json", "model.name", "can be mistaken for the existing model 'Tiny Test Model'"))


def test_nfkc_name_is_the_same_model(world, lb, ccmb, icr_preds):
    _submit_icr(world, lb, ccmb, icr_preds)
    wide = "\uff34\uff49\uff4e\uff59 Test Model"  # full-width "Tiny"
    raw = write_json(world / "b.json", result_dict("icr", ccmb, icr_preds, card=dict(CARD, name=wide)))
    args = ("submit", raw, "--predictions", icr_preds, "--root", lb, "--data-dir", ccmb)
    refused(world, *args, names=("b.json", "'Tiny Test Model' already has a re-scored zero-shot entry"))


def test_chinese_only_names_get_distinct_slugs(world, lb, ccmb, icr_preds):
    first = _submit_icr(world, lb, ccmb, icr_preds, card=dict(CARD, name="悟空模型"))
    second = _submit_icr(world, lb, ccmb, icr_preds, card=dict(CARD, name="吴空模型"))  # same pinyin
    assert first != second and first.name.startswith("wukongmoxing-") and second.name.startswith("wukongmoxing-")
    assert slugify("悟空模型") != slugify("吴空模型")
    build(lb, data_dir=ccmb)
    assert "悟空模型" in (lb / "README.md").read_text(encoding="utf-8")


# ---- defect 5: concurrent submits lose nothing ----------------------------------------------------------------------


def test_concurrent_submits_to_one_model_file_keep_every_entry(world, lb, ccmb, icr_preds, icm_preds):
    icr = write_json(world / "icr.json", result_dict("icr", ccmb, icr_preds))
    icm = write_json(world / "icm.json", result_dict("icm", ccmb, icm_preds))
    procs: list[subprocess.Popen[str]] = []
    for result, preds in ((icr, icr_preds), (icm, icm_preds)) * 2:
        args = ["submit", str(result), "--predictions", str(preds), "--root", str(lb), "--data-dir", str(ccmb)]
        if procs:
            args.append("--replace")  # the second copy of each replaces the first: still one entry per task
        program = "from zero_bench.cli.app import main; main()"
        procs.append(subprocess.Popen([sys.executable, "-c", program, *args], stderr=subprocess.PIPE, text=True))
    outcomes = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    for code, err in outcomes:
        # the first icr submit may come after the --replace one: then it is refused (one line), nothing lost
        assert code == 0 or (code == 2 and "already has a re-scored" in err and err.count("\n") == 1), err
    entries = read_model_file(lb / "submissions" / "tiny-test-model.json").entries
    assert sorted(e.task for e in entries) == ["icm", "icr"]


def test_submit_waits_for_the_lock_another_submit_holds(world, lb, ccmb, icr_preds):
    import threading
    import time

    from filelock import FileLock

    from zero_bench.leaderboard.submit import LOCK_NAME

    lock = FileLock(str(lb / "submissions" / LOCK_NAME), thread_local=False)  # released by the timer thread
    lock.acquire()
    releaser = threading.Timer(1.5, lock.release)
    releaser.start()
    start = time.perf_counter()
    path = _submit_icr(world, lb, ccmb, icr_preds)  # re-scoring runs meanwhile; the merge and write wait
    waited = time.perf_counter() - start
    releaser.join()
    assert waited >= 1.4 and read_model_file(path).entries[0].task == "icr"


# ---- XSS payloads in every text field of a submission, in headless Chromium ----------------------------------------

CHROMIUM = Path(os.environ.get("ZERO_BENCH_CHROMIUM", "/usr/bin/chromium"))
PAYLOADS = {
    "name": '<img src=x onerror="window.__xss=1">',
    "organisation": "</script><script>window.__xss=2</script>",
    "training_data": '"><svg onload="window.__xss=3">',
    "link": 'https://example.org/"><script>window.__xss=4</script>',
    "checkpoint": "<iframe src=javascript:window.__xss=5></iframe>",
    "checkpoint_sha256": "<b onmouseover=window.__xss=6>x</b>",
}


def test_xss_in_every_text_field_stays_text(world, lb, ccmb, icr_preds):
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found")
    from playwright.sync_api import Dialog, sync_playwright

    raw = result_dict("icr", ccmb, icr_preds, card=dict(CARD, **PAYLOADS))
    raw["run"]["device"] = "<script>window.__xss=7</script>"
    raw["run"]["torch_version"] = "javascript:window.__xss=8"
    submit(write_json(world / "r.json", raw), icr_preds, root=lb, data_dir=ccmb)
    build(lb, data_dir=ccmb)
    assert "<script>window" not in (lb / "README.md").read_text(encoding="utf-8")
    url = (lb / "index.html").resolve().as_uri()
    dialogs: list[str] = []
    requests: list[str] = []
    errors: list[str] = []
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        try:
            page = browser.new_page()

            def on_dialog(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=10000)
            page.click(f"button.model[data-slug='{slugify(PAYLOADS['name'])}']")
            page.hover("#card-fields")
            assert page.text_content("#card-title") == PAYLOADS["name"]
            fields = page.text_content("#card-fields") or ""
            for key in ("organisation", "training_data", "checkpoint"):
                assert PAYLOADS[key] in fields, key
            assert page.get_attribute("#card-fields a", "href") == PAYLOADS["link"]
            assert page.evaluate("typeof window.__xss") == "undefined"
            injected = "document.querySelectorAll('img, b, i, svg script, iframe').length"
            assert page.evaluate(injected) == 0
            assert page.evaluate("document.scripts.length") == 2
        finally:
            browser.close()
    assert dialogs == [] and errors == [] and requests == [url]


def test_results_table_names_what_it_searched(world):
    (world / "empty").mkdir()
    (world / "empty" / "notes.txt").write_text("no results here", encoding="utf-8")
    refused(world, "results", "table", world / "empty", names=(str(world / "empty"), "*.json"))
    refused(world, "results", "table", world / "missing", names=(str(world / "missing"), "no such file"))


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (
            ("evaluate", "-m", "r2d2", "-t", "icr", "--confg", "x"),
            ("No such option: --confg", "zero-bench evaluate --help"),
        ),
        (("evaluate", "-m", "r2d2", "-t", "icr", "--top-k", "abc"), ("'--top-k'", "zero-bench evaluate --help")),
        (("tasks", "show"), ("Missing argument", "zero-bench tasks show --help")),
        (("no-such-command",), ("no-such-command", "zero-bench --help")),
    ],
)
def test_usage_errors_are_one_line_exit_2_with_where_to_look(world, args, names):
    """Typer ships its own copy of click, whose errors are not click's classes: each usage error is still one line
    (no traceback, no exception class name) and exit 2, as click's own convention."""
    outcome = cli(*args, cwd=world)
    line = one_line(outcome, *names)
    assert outcome.code == 2 and "Error:" not in line and "NoSuchOption" not in line
