"""The leaderboard shows, next to a score, the share of the task's evaluation images in the model's declared training
corpora (``training_corpora``, matched by name only), linked to each audit's summary."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from zero_bench.contamination.leaderboard import LABEL, image_share, load_reports, report_page
from zero_bench.contamination.report import FORMAT, summary
from zero_bench.errors import DataFormatError
from zero_bench.leaderboard.build import build, render, stale_files
from zero_bench.leaderboard.schema import dump_model_file
from zero_bench.leaderboard.submit import read_model_file
from zero_bench.models.info import TrainingCorpus

REPO = Path(__file__).resolve().parents[2]
TOTAL = 8  # evaluation images of the split in the reports below


def _report(name: str, task: str, split: str, matched: list[str], sha: str | None = None) -> dict:
    images = {
        "total": TOTAL,
        "count": len(matched),
        "rate": round(len(matched) / TOTAL, 6),
        "corpus_rows": len(matched),
        "matches": [{"eval_id": i, "corpus_key": f"row-{i}", "kind": "exact", "distance": 0} for i in matched],
    }
    empty = {"total": TOTAL, "count": 0, "rate": 0.0, "corpus_rows": 0, "matches": []}
    return {
        "format": FORMAT,
        "corpus": {"name": name, "fingerprint": "f" * 64},
        "thresholds": {"image_radius": 6, "image_thumb_diff": 0.1, "text_ngram": 3, "text_jaccard": 0.8},
        "rows_scanned": 100,
        "seconds": 1.0,
        "tasks": {
            task: {split: {"annotation_sha256": sha or "a" * 64, "images": images, "texts": empty, "pairs": empty}}
        },
        "corpus_rows": {"images": [], "texts": []},
    }


def _board(tmp_path: Path, reports: list[dict]) -> Path:
    lb = tmp_path / "lb"
    shutil.copytree(REPO / "leaderboard", lb)
    (lb / "contamination").mkdir()
    for k, report in enumerate(reports):
        (lb / "contamination" / f"report-{k}.json").write_text(json.dumps(report), encoding="utf-8")
    return lb


def _section(readme: str, task: str) -> str:
    return readme.split(f"(`{task}`")[1].split("\n### ")[0]


def _rows(section: str) -> list[str]:
    return [
        line for line in section.splitlines() if line.startswith("| ") and "---" not in line and "Model" not in line
    ]


def test_task_table_shows_the_share_linked_to_the_report(tmp_path) -> None:
    before = render(REPO / "leaderboard")["README.md"].decode()
    assert f"| {LABEL} |" not in before  # no report committed: no column
    lb = _board(tmp_path, [_report("zero-250m", "muge", "valid", ["1", "2", "3"])])
    files = render(lb)
    muge = _section(files["README.md"].decode(), "muge")
    assert LABEL in muge
    percent = 100 * 3 / TOTAL
    cell = f"| {percent:.2f} ([zero-250m]({report_page('zero-250m')})) |"
    r2d2 = [line for line in _rows(muge) if "R2D2" in line]
    others = [line for line in _rows(muge) if "R2D2" not in line]
    assert r2d2 and all(cell in line for line in r2d2)  # R2D2 declares zero-250m in training_corpora
    assert others and all(cell not in line and line.rstrip().endswith("|") for line in others)
    # the linked summary is part of the generated site, and the build keeps it up to date
    report = load_reports(lb)["zero-250m"]
    assert files[report_page("zero-250m")] == summary(report).encode()
    build(lb)
    assert (lb / report_page("zero-250m")).read_text(encoding="utf-8") == summary(report)
    assert stale_files(lb) == []
    # a task the report does not cover gets no column
    assert LABEL not in _section(files["README.md"].decode(), "coco-cn")


def test_free_text_is_never_searched(tmp_path) -> None:
    """Wukong's training_data text names Zero-250M here, but it declares no corpus: no number; once it declares
    zero-250m in training_corpora, it gets one."""
    lb = _board(tmp_path, [_report("zero-250m", "muge", "valid", ["1"])])
    path = lb / "submissions" / "wukong-vit-l.json"
    model_file = read_model_file(path)
    model_file.model.training_data = "Zero-250M and Wukong"
    path.write_text(dump_model_file(model_file), encoding="utf-8")
    wukong = [line for line in _rows(_section(render(lb)["README.md"].decode(), "muge")) if "Wukong" in line]
    assert wukong and all("zero-250m" not in line for line in wukong)
    model_file.model.training_corpora = [TrainingCorpus(name="zero-250m", source="test")]
    path.write_text(dump_model_file(model_file), encoding="utf-8")
    wukong = [line for line in _rows(_section(render(lb)["README.md"].decode(), "muge")) if "Wukong" in line]
    assert wukong and all(f"{100 / TOTAL:.2f} ([zero-250m]" in line for line in wukong)


def test_several_corpora_give_the_union_of_the_matched_images() -> None:
    reports = {
        "zero-23m": _report("zero-23m", "muge", "valid", ["1", "2", "3"]),
        "zero-250m": _report("zero-250m", "muge", "valid", ["3", "4"]),
        "zero-toy": _report("zero-toy", "icr", "test", ["1"]),
    }
    union = {"1", "2", "3"} | {"3", "4"}
    share = image_share(["zero-250m", "zero-23m", "zero-toy"], reports, "muge", "valid", None)
    assert share is not None and share.corpora == ("zero-23m", "zero-250m")
    assert share.percent == pytest.approx(100 * len(union) / TOTAL)  # not the sum (5) and not the max (3)
    one = image_share(["zero-250m"], reports, "muge", "valid", "a" * 64)
    assert one is not None and one.percent == pytest.approx(100 * 2 / TOTAL) and one.corpora == ("zero-250m",)
    # another annotation checksum, an uncovered split, an undeclared corpus: nothing
    assert image_share(["zero-250m"], reports, "muge", "valid", "b" * 64) is None
    assert image_share(["zero-250m"], reports, "icr", "test", None) is None
    assert image_share(["zero-2.3m"], reports, "muge", "valid", None) is None


def test_several_corpora_are_shown_with_both_links(tmp_path) -> None:
    lb = _board(
        tmp_path,
        [_report("zero-23m", "muge", "valid", ["1", "2"]), _report("zero-250m", "muge", "valid", ["2", "5", "6"])],
    )
    path = lb / "submissions" / "r2d2-vit-l-14-zero-250m.json"
    model_file = read_model_file(path)
    model_file.model.training_corpora.append(TrainingCorpus(name="zero-23m", source="test"))
    path.write_text(dump_model_file(model_file), encoding="utf-8")
    files = render(lb)
    union = len({"1", "2"} | {"2", "5", "6"})
    links = f"[zero-23m]({report_page('zero-23m')}), [zero-250m]({report_page('zero-250m')})"
    r2d2 = [line for line in _rows(_section(files["README.md"].decode(), "muge")) if "R2D2" in line]
    assert r2d2 and all(f"| {100 * union / TOTAL:.2f} ({links}) |" in line for line in r2d2)
    assert {report_page("zero-23m"), report_page("zero-250m")} <= set(files)
    cards = files["README.md"].decode().split("## Model cards")[1]
    assert "`zero-23m` (declared by: test)" in cards and "`zero-250m` (declared by: the CCMB paper" in cards


def test_inconsistent_or_duplicate_reports_are_refused_in_one_line(tmp_path) -> None:
    bad = _report("zero-250m", "muge", "valid", ["1", "2"])
    bad["tasks"]["muge"]["valid"]["images"]["count"] = 3  # counts an image it does not list
    lb = _board(tmp_path, [bad])
    with pytest.raises(DataFormatError, match=r"report-0\.json: tasks\.muge\.valid\.images: 2 matched images listed"):
        render(lb)
    shutil.rmtree(lb)
    lb = _board(tmp_path, [_report("zero-250m", "muge", "valid", []), _report("Zero-250M", "muge", "valid", [])])
    with pytest.raises(DataFormatError, match=r"report-1\.json: a second report of corpus 'zero-250m'") as err:
        render(lb)
    assert "\n" not in str(err.value)
