"""The committed leaderboard: valid submissions, generated files up to date, deterministic output."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.leaderboard.lb_helpers import REPO, copy_leaderboard, snapshot
from zero_bench.leaderboard.build import build, load_submissions, render, stale_files
from zero_bench.leaderboard.schema import Rejected
from zero_bench.leaderboard.submit import read_model_file
from zero_bench.taskspec import get_task

LEADERBOARD = REPO / "leaderboard"


def test_every_submission_is_valid():
    loaded = load_submissions(LEADERBOARD)
    assert loaded, "leaderboard/submissions/ is empty"
    for item in loaded:
        assert item.file.entries


def test_generated_files_are_up_to_date():
    stale = stale_files(LEADERBOARD)
    assert not stale, f"stale generated files {stale}: run 'zero-bench leaderboard build'"


def test_stale_check_fails_when_a_submission_changes(tmp_path):
    lb = copy_leaderboard(tmp_path / "lb")
    path = lb / "submissions" / "wukong-vit-l.json"
    data = json.loads(path.read_text())
    data["entries"][0]["source"] = "another source"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert "README.md" in stale_files(lb) and "index.html" in stale_files(lb)
    (lb / "charts" / "old-task.png").write_bytes(b"x")
    build(lb)
    assert stale_files(lb) == [] and not (lb / "charts" / "old-task.png").exists()


def test_build_is_deterministic(tmp_path):
    lb = copy_leaderboard(tmp_path / "lb")
    build(lb, tmp_path / "one")
    build(lb, tmp_path / "two")
    one, two = snapshot(tmp_path / "one"), snapshot(tmp_path / "two")
    assert one == two and any(k.endswith(".png") for k in one)
    assert one == {k: v for k, v in render(lb).items()}


def test_invalid_stored_file_is_reported(tmp_path):
    lb = copy_leaderboard(tmp_path / "lb")
    path = lb / "submissions" / "wukong-vit-l.json"
    data = json.loads(path.read_text())
    data["entries"][0]["metrics"]["bleu"] = 1.0
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(Rejected, match=r"entries\[0\]\.metrics\.bleu: not a metric"):
        load_submissions(lb)
    shutil.copy(LEADERBOARD / "submissions" / "wukong-vit-l.json", path)
    shutil.copy(path, lb / "submissions" / "renamed.json")
    with pytest.raises(Rejected, match=r"must be named wukong-vit-l\.json"):
        load_submissions(lb)


def _facts_rows(text: str) -> dict[tuple[str, str], dict[str, float]]:
    names = {"Flickr30k-CN": "flickr30k-cn", "COCO-CN": "coco-cn", "MUGE (T2I)": "muge"}
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in names:
            t2i = [float(x) for x in cells[2].split("/")]
            metrics = dict(zip(("img_r1", "img_r5", "img_r10"), t2i, strict=False))
            if cells[3] != "-":
                metrics.update(
                    zip(("txt_r1", "txt_r5", "txt_r10"), [float(x) for x in cells[3].split("/")], strict=False)
                )
                metrics["r_mean"] = float(cells[4])
            else:
                metrics["img_r_mean"] = float(cells[4])
            rows[(names[cells[0]], cells[1])] = metrics
    return rows


def test_seeded_reported_entries_match_the_facts(reference_data):
    text = (reference_data / "benchmark_facts.md").read_text(encoding="utf-8")
    facts = _facts_rows(text)
    assert len(facts) == 6
    r2d2 = read_model_file(LEADERBOARD / "submissions" / "r2d2-vit-l-14-zero-250m.json")
    got = {(e.task, e.setting): e.metrics for e in r2d2.entries}
    assert got == facts
    assert all(e.status == "reported" and "not re-scored" in e.source for e in r2d2.entries)
    wukong = read_model_file(LEADERBOARD / "submissions" / "wukong-vit-l.json")
    mr = {(e.task, e.setting): e.metrics[get_task(e.task).primary_metric] for e in wukong.entries}
    zs = re.search(r"zero-shot MR ([\d.]+) \(Flickr30k-CN\), ([\d.]+) \(COCO-CN\),\s+([\d.]+) \(MUGE\)", text)
    ft = re.search(r"fine-tuned ([\d.]+), ([\d.]+), ([\d.]+)\.", text)
    for match, setting in ((zs, "zero-shot"), (ft, "fine-tuned")):
        for task, value in zip(("flickr30k-cn", "coco-cn", "muge"), match.groups(), strict=False):
            assert mr[(task, setting)] == float(value)
    clip = read_model_file(LEADERBOARD / "submissions" / "chinese-clip-vit-b-16.json")
    muge = next(e for e in clip.entries if (e.task, e.setting) == ("muge", "zero-shot"))
    assert muge.metrics == {"img_r1": 52.1, "img_r5": 76.7, "img_r10": 84.4, "img_r_mean": 71.1}


def test_symlinks_and_stray_files_are_refused(tmp_path):
    lb = copy_leaderboard(tmp_path / "lb")
    (lb / "submissions" / "evil.json").symlink_to("/etc/hostname")
    with pytest.raises(Rejected, match="symbolic links are not allowed"):
        load_submissions(lb)
    (lb / "submissions" / "evil.json").unlink()
    (lb / "submissions" / "notes.txt").write_text("x")
    with pytest.raises(Rejected, match="unexpected file in submissions/"):
        load_submissions(lb)
    (lb / "submissions" / "notes.txt").unlink()
    (lb / "submissions" / "wukong-vit-l").mkdir()
    (lb / "submissions" / "wukong-vit-l" / "orphan.jsonl").write_text("x")
    with pytest.raises(Rejected, match="stored predictions that no entry references"):
        load_submissions(lb)
