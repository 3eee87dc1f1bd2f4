"""Published rows of issue 22: Taiyi-CLIP's text-to-image retrieval numbers (one direction only), AltCLIP's row
whose source states no setting; the schema rules that let them in and keep everything else out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.leaderboard.lb_helpers import REPO
from zero_bench.leaderboard.build import build, entries_frame, load_submissions, overall_frame
from zero_bench.leaderboard.schema import Entry, ModelCard, ModelFile, Rejected, dump_model_file, slugify
from zero_bench.leaderboard.submit import read_model_file
from zero_bench.taskspec import all_tasks, get_task

SUBMISSIONS = REPO / "leaderboard" / "submissions"
# slug -> task -> text-to-image R@1/5/10 as the model cards print them
TAIYI = {
    "taiyi-clip-roberta-102m-chinese": {"flickr30k-cna": (46.32, 74.58, 83.44), "coco-cn": (47.10, 78.53, 87.84)},
    "taiyi-clip-roberta-large-326m-chinese": {"flickr30k-cna": (54.36, 80.56, 87.90), "coco-cn": (51.47, 81.00, 90.40)},
    "taiyi-clip-roberta-326m-vit-h-chinese": {"flickr30k-cna": (60.82, 85.00, 91.04), "coco-cn": (60.02, 83.95, 93.26)},
}


def _entry(task: str, metrics: dict[str, float], status: str = "reported", setting: str = "zero-shot") -> Entry:
    spec = get_task(task)
    return Entry(
        task=task,
        task_version=spec.version,
        split=spec.default_split,
        setting=setting,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        source=f"test source for {task}",
        metrics=metrics,
        mean_recall=spec.mean_recall,
        protocol="not stated" if task == "imagenet-cn" else None,
    )


def _store(root: Path, name: str, entries: list[Entry]) -> Path:
    card = ModelCard(name=name, organisation="tests", link="https://example.org/m", parameters=5, training_data="x")
    path = root / "submissions" / f"{slugify(name)}.json"
    path.write_text(dump_model_file(ModelFile(model=card, entries=entries)), encoding="utf-8")
    return path


def test_taiyi_retrieval_rows_match_the_cards() -> None:
    for slug, rows in TAIYI.items():
        entries = {e.task: e for e in read_model_file(SUBMISSIONS / f"{slug}.json").entries}
        assert set(entries) == {"imagenet-cn", *rows}
        for task, (r1, r5, r10) in rows.items():
            e = entries[task]
            assert e.metrics == {"img_r1": r1, "img_r5": r5, "img_r10": r10}
            assert (e.status, e.setting, e.split, e.annotation_sha256) == ("reported", "zero-shot", "test", None)
            assert "huggingface.co/IDEA-CCNL/" in e.source and "text-to-image only" in e.source
            assert f"Top1 {r1:.2f}%" in e.source and "not re-scored" in e.source


def test_altclip_row_states_no_setting() -> None:
    (e,) = read_model_file(SUBMISSIONS / "altclip.json").entries
    assert (e.task, e.setting, e.status) == ("flickr30k-cn", "setting not stated", "reported")
    assert e.metrics["r_mean"] == 87.2 and e.metrics["img_r1"] == 63.7 and e.metrics["txt_r1"] == 84.7
    assert "huggingface.co/BAAI/AltCLIP" in e.source and "names neither the set nor the setting" in e.source


def test_one_direction_rows_are_shown_but_not_ranked(lb: Path) -> None:
    _store(lb, "One Way", [_entry("coco-cn", {"img_r1": 10.0, "img_r5": 20.0, "img_r10": 30.0})])
    loaded = load_submissions(lb)
    frame = entries_frame(loaded, all_tasks())
    row = frame[frame["model"] == "One Way"].iloc[0]
    assert row["img_r1"] == 10.0 and row["primary"] != row["primary"]  # NaN primary
    assert "One Way" not in set(overall_frame(frame, 11)["model"])
    build(lb)
    readme = (lb / "README.md").read_text(encoding="utf-8")
    assert "One Way" in readme and "one retrieval direction only" in readme


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        # a direction must be complete
        (_entry("coco-cn", {"img_r1": 10.0, "img_r5": 20.0}), "the primary metric of coco-cn is missing"),
        # only published numbers may lack the primary metric; classification never
        (_entry("imagenet-cn", {"acc5": 70.0}), "the primary metric of imagenet-cn is missing"),
    ],
)
def test_incomplete_rows_are_refused(lb: Path, entry: Entry, message: str) -> None:
    _store(lb, "Partial", [entry])
    with pytest.raises(Rejected, match=message):
        load_submissions(lb)


def test_setting_not_stated_is_for_published_numbers_only() -> None:
    ok = _entry("flickr30k-cn", {"r_mean": 50.0}, setting="setting not stated")
    assert ok.setting == "setting not stated"
    with pytest.raises(ValueError, match="setting 'setting not stated' is for published numbers only"):
        Entry(**{**ok.model_dump(), "status": "re-scored", "annotation_sha256": "a" * 64,
                 "predictions_sha256": "b" * 64, "predictions_file": "x/y.jsonl"})  # fmt: skip
