"""The static page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright's Python package).

Skipped when Chromium or Playwright is missing, except under CI=true where that is a failure.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.leaderboard.lb_helpers import copy_leaderboard
from zero_bench.leaderboard.build import build
from zero_bench.leaderboard.schema import Entry, ModelCard, ModelFile, dump_model_file, slugify
from zero_bench.taskspec import get_task
from zero_bench.testing import skip_or_fail

CHROMIUM = Path(os.environ.get("ZERO_BENCH_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

HOSTILE = [
    # (name, organisation, training data, link, flickr30k-cn img_r1, r_mean)
    (
        '<img src=x onerror="window.__xss=1">',
        "</script><script>window.__xss=2</script>",
        '"><svg onload="window.__xss=3">',
        'https://example.org/"><script>window.__xss=4</script>',
        30.0,
        50.0,
    ),
    ("../../etc/passwd", "<b onmouseover=window.__xss=5>org</b>", "data & more", "https://example.org/p", 70.0, 60.0),
    ("<img src=x onerror=alert(1)>", "ACME", "x", "https://example.org/a", 50.0, 70.0),
]


def _need_browser():
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (install Debian's chromium: apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright Python package is not installed"
    if reason:
        skip_or_fail(f"the browser test needs {reason}")


def _hostile_leaderboard(root: Path) -> None:
    spec = get_task("flickr30k-cn")
    for name, org, data, link, r1, mr in HOSTILE:
        entry = Entry(
            task=spec.name,
            task_version=spec.version,
            split=spec.default_split,
            setting="zero-shot",
            status="reported",
            source=f"<i>source of {name}</i>",
            # the last one reports MR only, so a column has missing values
            metrics={"r_mean": mr} if name == HOSTILE[-1][0] else {"img_r1": r1, "r_mean": mr},
            mean_recall=spec.mean_recall,
        )
        card = ModelCard(name=name, organisation=org, link=link, parameters=10, training_data=data)
        (root / "submissions" / f"{slugify(name)}.json").write_text(
            dump_model_file(ModelFile(model=card, entries=[entry])), encoding="utf-8"
        )
    build(root)


def _column(page, table_id: str, index: int) -> list[str]:
    return page.eval_on_selector_all(f"#{table_id} tbody tr", f"rows => rows.map(r => r.cells[{index}].textContent)")


@pytest.mark.slow
def test_page_sort_filter_card_and_no_injected_script(tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright

    root = copy_leaderboard(tmp_path / "lb")
    _hostile_leaderboard(root)
    url = (root / "index.html").resolve().as_uri()
    dialogs, requests, errors = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=10000)
            table = "table-flickr30k-cn--zero-shot--reported"
            headers = page.eval_on_selector_all(f"#{table} thead th", "ths => ths.map(t => t.dataset.key)")
            col_r1, col_model = headers.index("img_r1"), headers.index("model")
            # Default order: primary metric (MR) descending.
            mr = [float(v) for v in _column(page, table, headers.index("r_mean"))]
            assert mr == sorted(mr, reverse=True)
            # Click T2I R@1: descending first, missing values last; click again: ascending.
            page.click(f"#{table} thead th[data-key='img_r1']")
            values = _column(page, table, col_r1)
            numbers = [float(v) for v in values if v != "\u2013"]
            # 2 hostile + the 7 published rows (R2D2, Wukong, 5 Chinese-CLIP sizes)
            assert numbers == sorted(numbers, reverse=True) and len(numbers) == 9
            assert values[-1] == "\u2013"  # the last hostile entry reports MR only: missing values last
            assert values[: len(numbers)] == [f"{v:.2f}" for v in numbers]
            assert page.get_attribute(f"#{table} thead th[data-key='img_r1']", "aria-sort") == "descending"
            page.click(f"#{table} thead th[data-key='img_r1']")
            numbers = [float(v) for v in _column(page, table, col_r1) if v != "\u2013"]
            assert numbers == sorted(numbers)
            # Sort by model name: the hostile names are plain text in the cells.
            page.click(f"#{table} thead th[data-key='model']")
            names = _column(page, table, col_model)
            assert names == sorted(names, key=str.lower)
            for hostile in HOSTILE:
                assert hostile[0] in names
            # Filter by task: only MUGE is left.
            page.select_option("#filter-task", "muge")
            sections = page.eval_on_selector_all("#content section", "s => s.map(x => x.id)")
            assert sections == ["task-muge"]
            page.select_option("#filter-task", "")
            page.select_option("#filter-status", "re-scored")
            assert page.eval_on_selector_all("#content tbody tr", "r => r.length") == 0
            page.select_option("#filter-status", "")
            # The model card shows the hostile strings literally.
            page.click(f"#{table} button.model[data-slug='{slugify(HOSTILE[0][0])}']")
            assert page.text_content("#card-title") == HOSTILE[0][0]
            card_text = page.text_content("#card-fields")
            assert HOSTILE[0][1] in card_text and HOSTILE[0][2] in card_text
            assert page.get_attribute("#card-fields a", "href") == HOSTILE[0][3]
            assert page.is_visible("#card")
            # No submitted script ran, no element was injected, nothing was fetched.
            assert page.evaluate("typeof window.__xss") == "undefined"
            assert page.evaluate("document.querySelectorAll('img, b, i, svg script, iframe').length") == 0
            assert page.evaluate("document.scripts.length") == 2
            body = page.text_content("body")
            assert "<img src=x onerror=alert(1)>" in body and "../../etc/passwd" in body
        finally:
            browser.close()
    assert dialogs == [] and errors == []
    assert requests == [url]


def test_missing_browser_skips_locally_and_fails_under_ci(monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run under CI: the browser test needs"):
        _need_browser()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        _need_browser()


def _classification_leaderboard(root: Path) -> None:
    """The committed entries plus two models with reported entries on every ELEVATER-CN set (one hostile name)."""
    from zero_bench.taskspec import suite_tasks

    for name, base in ((HOSTILE[0][0], 40.0), ("Second Complete", 45.0)):
        entries = []
        for k, task in enumerate(suite_tasks("elevater-cn")):
            spec = get_task(task)
            entries.append(
                Entry(
                    task=task,
                    task_version=spec.version,
                    split=spec.default_split,
                    setting="zero-shot",
                    status="reported",
                    source="test",
                    metrics={"acc1": base + k},
                    protocol="clip_benchmark",
                )
            )
        card = ModelCard(name=name, organisation="org", link="https://example.org/c", parameters=10, training_data="d")
        (root / "submissions" / f"{slugify(name)}.json").write_text(
            dump_model_file(ModelFile(model=card, entries=entries)), encoding="utf-8"
        )
    build(root)


@pytest.mark.slow
def test_page_classification_suites_and_protocol_column(tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright

    root = copy_leaderboard(tmp_path / "lb")
    _classification_leaderboard(root)
    url = (root / "index.html").resolve().as_uri()
    errors, requests = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=10000)
            table = "table-suite-elevater-cn--zero-shot--reported"
            headers = page.eval_on_selector_all(f"#{table} thead th", "ths => ths.map(t => t.dataset.key)")
            assert headers == ["model", "acc1", "acc5", "mean_per_class_recall", "gap", "covered", "protocol"]
            # Default order: suite Top-1 descending; the five Chinese-CLIP sizes (8 of 20 sets: no score) last.
            names = _column(page, table, 0)
            top1 = _column(page, table, 1)
            assert names[:2] == ["Second Complete", HOSTILE[0][0]] and top1[:2] == ["54.50", "49.50"]
            assert top1[2:] == ["\u2013"] * 5 and _column(page, table, 5)[2:] == ["8"] * 5
            assert set(_column(page, table, 6)) == {"clip_benchmark", "cn_clip"}
            page.click(f"#{table} thead th[data-key='covered']")
            assert [int(v) for v in _column(page, table, 5)] == [20, 20, 8, 8, 8, 8, 8]
            # A classification task table has a Protocol column; a retrieval one has none.
            task_table = "table-imagenet-cn--zero-shot--reported"
            keys = page.eval_on_selector_all(f"#{task_table} thead th", "ths => ths.map(t => t.dataset.key)")
            assert keys == ["model", "acc1", "acc5", "mean_per_class_recall", "gap", "protocol", "source"]
            protocols = _column(page, task_table, keys.index("protocol"))
            assert sorted(set(protocols)) == ["cn_clip", "not stated"] and len(protocols) == 8
            retrieval = page.eval_on_selector_all(
                "#table-flickr30k-cn--zero-shot--reported thead th", "ths => ths.map(t => t.dataset.key)"
            )
            assert "protocol" not in retrieval
            # Filtering by a task hides the overall ranking and the suites.
            page.select_option("#filter-task", "imagenet-cn")
            assert page.eval_on_selector_all("#content section", "s => s.map(x => x.id)") == ["task-imagenet-cn"]
            page.select_option("#filter-task", "")
            page.fill("#filter-model", "second")
            assert _column(page, table, 0) == ["Second Complete"]
            assert page.evaluate("typeof window.__xss") == "undefined"
        finally:
            browser.close()
    assert errors == [] and requests == [url]


def _audited_leaderboard(root: Path) -> float:
    """The committed entries and an audit of zero-250m (declared by the R2D2 entry) finding 3 of 8 MUGE valid
    images; returns the share in percent."""
    import json

    from zero_bench.contamination.report import FORMAT

    matched = ["11", "12", "13"]
    images = {
        "total": 8,
        "count": len(matched),
        "rate": len(matched) / 8,
        "corpus_rows": len(matched),
        "matches": [{"eval_id": i, "corpus_key": f"row-{i}", "kind": "exact", "distance": 0} for i in matched],
    }
    empty = {"total": 8, "count": 0, "rate": 0.0, "corpus_rows": 0, "matches": []}
    report = {
        "format": FORMAT,
        "corpus": {"name": "zero-250m", "fingerprint": "f" * 64},
        "thresholds": {"image_radius": 6, "image_thumb_diff": 0.1, "text_ngram": 3, "text_jaccard": 0.8},
        "rows_scanned": 100,
        "seconds": 1.0,
        "tasks": {"muge": {"valid": {"annotation_sha256": "a" * 64, "images": images, "texts": empty, "pairs": empty}}},
        "corpus_rows": {"images": [], "texts": []},
    }
    (root / "contamination").mkdir()
    (root / "contamination" / "zero-250m.json").write_text(json.dumps(report), encoding="utf-8")
    build(root)
    return 100 * len(matched) / 8


@pytest.mark.slow
def test_page_shows_the_contamination_column_linked_to_the_report(tmp_path):
    _need_browser()
    from playwright.sync_api import sync_playwright

    from zero_bench.contamination.leaderboard import LABEL, report_page

    root = copy_leaderboard(tmp_path / "lb")
    percent = _audited_leaderboard(root)
    url = (root / "index.html").resolve().as_uri()
    errors, requests = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=10000)
            table = "table-muge--zero-shot--reported"
            keys = page.eval_on_selector_all(f"#{table} thead th", "ths => ths.map(t => t.dataset.key)")
            assert keys[-2:] == ["contamination", "source"] and keys.index("contamination") > keys.index("gap")
            header = page.locator(f"#{table} thead th[data-key='contamination']")
            assert header.text_content() == LABEL and header.is_visible()
            names, cells = _column(page, table, 0), _column(page, table, keys.index("contamination"))
            by_model = dict(zip(names, cells, strict=True))
            r2d2 = "R2D2 ViT-L/14 (Zero-250M)"
            assert by_model.pop(r2d2) == f"{percent:.2f} (zero-250m)"
            assert by_model and set(by_model.values()) == {"\u2013"}  # no declared audited corpus: no number
            link = page.locator(f"#{table} tbody tr[data-slug='r2d2-vit-l-14-zero-250m'] a.report")
            assert link.text_content() == "zero-250m" and link.get_attribute("href") == report_page("zero-250m")
            assert (root / report_page("zero-250m")).is_file()  # the link leads to the generated summary
            # The screenshot of the table shows the column: it lies inside the captured table, not clipped.
            shot = tmp_path / "muge-table.png"
            page.locator(f"#{table}").screenshot(path=str(shot))
            box, table_box = header.bounding_box(), page.locator(f"#{table}").bounding_box()
            assert box is not None and table_box is not None and box["width"] > 0
            assert table_box["x"] <= box["x"] and box["x"] + box["width"] <= table_box["x"] + table_box["width"]
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            # Sorting by the column puts the audited entry first (descending), missing values last.
            page.click(f"#{table} thead th[data-key='contamination']")
            assert _column(page, table, 0)[0] == r2d2
            # A table without any audited entry has no such column; the model card lists the declared corpora.
            coco = page.eval_on_selector_all(
                "#table-coco-cn--zero-shot--reported thead th", "ths => ths.map(t => t.dataset.key)"
            )
            assert "contamination" not in coco
            page.click(f"#{table} button.model[data-slug='r2d2-vit-l-14-zero-250m']")
            assert "zero-250m (declared by: the CCMB paper" in page.text_content("#card-fields")
        finally:
            browser.close()
    assert errors == [] and requests == [url]
