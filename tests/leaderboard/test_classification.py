"""Classification on the leaderboard: submissions re-scored from predictions, the protocol required and recorded,
tampering refused, suite scores only for complete suites, the section in README.md and index.html, and the
published numbers as their sources give them."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest

from tests.leaderboard.lb_helpers import (
    CARD,
    REPO,
    classification_result,
    protocol_record,
    result_dict,
    snapshot,
    write_json,
)
from zero_bench.leaderboard import classification as cls
from zero_bench.leaderboard.build import build, entries_frame, load_submissions, render, stale_files
from zero_bench.leaderboard.schema import Entry, ModelCard, ModelFile, Rejected, dump_model_file, slugify
from zero_bench.leaderboard.submit import read_model_file, submit
from zero_bench.taskspec import all_tasks, get_task, suite_tasks

# tests/leaderboard/lb_helpers.cifar_predictions: 19 images; classes 0-4 (9 images) right at rank 1, classes 5-8
# (9 images) at rank 2, class 9 (1 image) outside the top 5; 5 of 10 classes fully right.
ACC1, ACC5, MPCR = 100 * 9 / 19, 100 * 18 / 19, 50.0
ELEVATER = suite_tasks("elevater-cn")


def _rejected(lb: Path, result: Path, predictions: Path | None, **kw) -> str:
    before = snapshot(lb)
    with pytest.raises(Rejected) as info:
        submit(result, predictions, root=lb, **kw)
    assert snapshot(lb) == before, "the leaderboard changed on a rejection"
    return str(info.value)


def _page_data(html: str) -> dict:
    start = html.index('id="leaderboard-data">') + len('id="leaderboard-data">')
    return json.loads(html[start : html.index("</script>", start)])


def test_classification_submission_is_rescored_stored_and_shown(tmp_path, lb, elevater, cifar_preds):
    result = write_json(tmp_path / "result.json", classification_result(elevater, cifar_preds))
    outcome = submit(result, cifar_preds, root=lb, data_dir=elevater)
    (entry,) = read_model_file(outcome.path).entries
    assert entry.status == "re-scored" and entry.task == "cifar-10-cn" and entry.split == "test"
    assert entry.metrics == pytest.approx({"acc1": ACC1, "acc5": ACC5, "mean_per_class_recall": MPCR})
    assert entry.protocol == "cn_clip" and entry.classification is not None
    assert entry.classification.model_dump() == protocol_record()
    assert entry.num_queries == {"images": 19, "classes": 10}
    assert (lb / "submissions" / entry.predictions_file).read_bytes() == cifar_preds.read_bytes()

    build(lb, data_dir=elevater)
    assert stale_files(lb, elevater) == []
    readme = (lb / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Classification") : readme.index("## Model cards")]
    table = section[section.index("(`cifar-10-cn`, split `test`)") :]
    assert "| Model | Top-1 | Top-5 | Mean per-class recall | Δ R2D2 | Protocol |" in table
    assert f"| Tiny Test Model | {ACC1:.2f} | {ACC5:.2f} | {MPCR:.2f} | – | cn\\_clip |" in table
    assert "| Tiny Test Model | – (1 of 20 tasks) | – | – | – | 1/20 | cn\\_clip |" in section
    assert "![cifar-10-cn chart](charts/cifar-10-cn.png)" in section
    assert "Classification is ranked by suite" in readme
    overall = readme[readme.index("## Overall ranking") : readme.index("## Retrieval")]
    assert "Tiny Test Model" not in overall  # classification is not mixed into the image-text ranking

    data = _page_data((lb / "index.html").read_text(encoding="utf-8"))
    mine = [e for e in data["entries"] if e["slug"] == "tiny-test-model"]
    assert [(e["task"], e["status"], e["protocol"]) for e in mine] == [("cifar-10-cn", "re-scored", "cn_clip")]
    assert mine[0]["metrics"]["acc1"] == pytest.approx(round(ACC1, 4))
    suites = {s["name"]: s for s in data["suites"]}
    assert set(suites) == {"elevater-cn", "classification"} and suites["elevater-cn"]["tasks"] == ELEVATER
    (row,) = [r for r in suites["elevater-cn"]["rows"] if r["slug"] == "tiny-test-model"]
    assert row["covered"] == 1 and row["metrics"]["acc1"] is None and row["protocol"] == "cn_clip"
    assert data["n_tasks"] == sum(1 for s in all_tasks().values() if not cls.is_classification(s))


def test_tampered_classification_submissions_are_refused(tmp_path, lb, elevater, cifar_preds):
    raw = classification_result(elevater, cifar_preds)
    # the predictions changed after evaluate recorded their checksum
    edited = tmp_path / "edited.jsonl"
    lines = cifar_preds.read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["class_ids"] = first["class_ids"][::-1]
    edited.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", encoding="utf-8")
    message = _rejected(lb, write_json(tmp_path / "r.json", raw), edited, data_dir=elevater)
    assert "predictions_sha256: " in message and "does not match the predictions file edited.jsonl" in message
    # a number edited in the Result
    bad = copy.deepcopy(raw)
    bad["metrics"]["acc1"] = 57.0
    message = _rejected(lb, write_json(tmp_path / "r1.json", bad), cifar_preds, data_dir=elevater)
    assert message.endswith(f"metrics.acc1: reported 57.0 but the predictions score {ACC1:.4f} (tolerance 0.01)")
    # a ranking naming a class the set does not have, a repeated class, a short ranking, a missing image
    no_sum = {**raw, "predictions_sha256": None}
    for name, change, expected in (
        ("unknown", lambda r: [*r[:4], 10], "class_ids has 10, which is not a class id (0..9)"),
        ("repeated", lambda r: [r[0], *r[:4]], "class_ids repeats a class id"),
        ("short", lambda r: r[:4], "class_ids must list exactly 5 class ids, got 4"),
    ):
        broken = tmp_path / f"{name}.jsonl"
        record = json.loads(lines[3])
        record["class_ids"] = change(record["class_ids"])
        broken.write_text("\n".join([*lines[:3], json.dumps(record), *lines[4:]]) + "\n", encoding="utf-8")
        message = _rejected(lb, write_json(tmp_path / f"{name}.json", no_sum), broken, data_dir=elevater)
        assert message.startswith(f"{tmp_path / (name + '.json')}: --predictions: ") and expected in message
    missing = tmp_path / "missing.jsonl"
    missing.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    message = _rejected(lb, write_json(tmp_path / "m.json", no_sum), missing, data_dir=elevater)
    assert "--predictions: " in message and "missing 1 images, e.g. image_id 0" in message


def test_stored_classification_entry_edited_after_submission_is_refused(tmp_path, lb, elevater, cifar_preds):
    result = write_json(tmp_path / "result.json", classification_result(elevater, cifar_preds))
    path = submit(result, cifar_preds, root=lb, data_dir=elevater).path
    stored = json.loads(path.read_text(encoding="utf-8"))
    stored["entries"][0]["metrics"]["acc1"] = 90.0
    path.write_text(json.dumps(stored), encoding="utf-8")
    with pytest.raises(Rejected, match=r"entries\[0\]\.metrics\.acc1: stored 90\.0 but the stored predictions score"):
        load_submissions(lb, elevater)
    stored["entries"][0]["metrics"]["acc1"] = ACC1
    stored["entries"][0]["classification"] = None  # the record of how the number was made is part of the entry
    path.write_text(json.dumps(stored), encoding="utf-8")
    with pytest.raises(Rejected, match=r"entries\[0\]\.protocol: a re-scored classification entry keeps"):
        load_submissions(lb, elevater)


def test_protocol_is_required_for_classification_and_refused_elsewhere(
    tmp_path, lb, elevater, cifar_preds, ccmb, icr_preds
):
    raw = classification_result(elevater, cifar_preds)
    del raw["classification"]
    message = _rejected(lb, write_json(tmp_path / "r.json", raw), cifar_preds, data_dir=elevater)
    assert "classification: cifar-10-cn is a classification task: its entries name the protocol" in message
    raw["classification"] = protocol_record("sklearn")
    message = _rejected(lb, write_json(tmp_path / "r2.json", raw), cifar_preds, data_dir=elevater)
    assert "classification.protocol: Input should be 'cn_clip' or 'clip_benchmark'" in message
    icr = result_dict("icr", ccmb, icr_preds)
    icr["classification"] = protocol_record()
    message = _rejected(lb, write_json(tmp_path / "icr.json", icr), icr_preds, data_dir=ccmb)
    assert "classification: icr is a retrieval task: it has no classification protocol" in message
    # without predictions the Result is stored as reported, its protocol kept
    raw["classification"] = protocol_record("clip_benchmark")
    (entry,) = read_model_file(submit(write_json(tmp_path / "r3.json", raw), None, root=lb).path).entries
    assert (entry.status, entry.protocol, entry.source) == (
        "reported",
        "clip_benchmark",
        "submitted Result JSON without predictions (not re-scored)",
    )


def _reported(task: str, metrics: dict[str, float], protocol: str | None = "cn_clip", **kw) -> Entry:
    spec = get_task(task)
    return Entry(
        task=task,
        task_version=spec.version,
        split=spec.default_split,
        setting="zero-shot",
        status="reported",
        source=f"test source for {task}",
        metrics=metrics,
        protocol=protocol,
        **kw,
    )


def _store(root: Path, name: str, entries: list[Entry]) -> Path:
    card = ModelCard(name=name, organisation="tests", link="https://example.org/m", parameters=5, training_data="x")
    path = root / "submissions" / f"{slugify(name)}.json"
    path.write_text(dump_model_file(ModelFile(model=card, entries=entries)), encoding="utf-8")
    return path


def test_reported_classification_entry_needs_task_metric_protocol_and_source(tmp_path, lb):
    path = _store(lb, "Published Model", [_reported("imagenet-cn", {"acc1": 40.0}, protocol=None)])
    with pytest.raises(Rejected, match=r"entries\[0\]\.protocol: imagenet-cn is a classification task"):
        load_submissions(lb)
    _store(lb, "Published Model", [_reported("imagenet-cn", {"acc5": 70.0}, protocol="not stated")])
    with pytest.raises(Rejected, match=r"entries\[0\]\.metrics\.acc1: the primary metric of imagenet-cn is missing"):
        load_submissions(lb)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["entries"][0]["source"] = ""
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(Rejected, match=r"entries\.0\.source: String should have at least 1 character"):
        load_submissions(lb)
    _store(lb, "Published Model", [_reported("icr", {"r_mean": 40.0}, protocol="not stated", mean_recall="mean_of_6")])
    with pytest.raises(Rejected, match=r"entries\[0\]\.protocol: icr is a retrieval task: it has no classification"):
        load_submissions(lb)
    with pytest.raises(ValueError, match="protocol 'not stated' is for published numbers only"):
        Entry(
            **{
                **_reported("imagenet-cn", {"acc1": 1.0}).model_dump(),
                "protocol": "not stated",
                "status": "re-scored",
                "annotation_sha256": "a" * 64,
                "predictions_sha256": "b" * 64,
                "predictions_file": "x/y.jsonl",
            }
        )
    _store(lb, "Published Model", [_reported("imagenet-cn", {"acc1": 40.0, "acc5": 70.0}, protocol="not stated")])
    (item,) = [i for i in load_submissions(lb) if i.slug == "published-model"]
    assert item.file.entries[0].protocol == "not stated"
    assert "| Published Model | 40.00 | 70.00 | – | – | not stated |" in render(lb)["README.md"].decode()


def test_suite_score_only_for_a_complete_suite(tmp_path, lb):
    """The elevater-cn score is the mean over all 20 sets; with 19 the row says so; Top-5 skips sets with fewer
    than 5 classes; Δ R2D2 is against R2D2's own complete suite."""

    def entries(value: float, skip: str | None = None) -> list[Entry]:
        out = []
        for k, task in enumerate(ELEVATER):
            if task == skip:
                continue
            few = task == "kitti-distance-cn"  # 4 classes: no Top-5
            metrics = {"acc1": value + k} if few else {"acc1": value + k, "acc5": value + k + 10}
            out.append(_reported(task, metrics, num_queries={"images": 9, "classes": 4 if few else 10}))
        return out

    _store(lb, "Complete Model", entries(40.0))
    _store(lb, "Partial Model", entries(60.0, skip="mnist-cn"))
    reference = read_model_file(lb / "submissions" / "r2d2-vit-l-14-zero-250m.json")
    reference.entries += entries(30.0)
    (lb / "submissions" / "r2d2-vit-l-14-zero-250m.json").write_text(dump_model_file(reference), encoding="utf-8")

    loaded = load_submissions(lb)
    suites = cls.suite_frame(entries_frame(loaded, all_tasks()), all_tasks())
    rows = suites[(suites["suite"] == "elevater-cn")].set_index("model")
    mean1 = 40.0 + sum(range(20)) / 20
    kitti = ELEVATER.index("kitti-distance-cn")
    mean5 = sum(40.0 + k + 10 for k in range(20) if k != kitti) / 19
    assert rows.loc["Complete Model", "acc1"] == pytest.approx(mean1)
    assert rows.loc["Complete Model", "acc5"] == pytest.approx(mean5)
    assert math.isnan(rows.loc["Complete Model", "mean_per_class_recall"])
    assert rows.loc["Complete Model", "gap"] == pytest.approx(10.0)
    assert rows.loc["Partial Model", "covered"] == 19 and math.isnan(rows.loc["Partial Model", "acc1"])
    assert rows.loc["Partial Model", "missing"] == "mnist-cn"
    assert list(rows.index[:2]) == ["Complete Model", "R2D2 ViT-L/14 (Zero-250M)"]  # complete first, by Top-1

    readme = render(lb)["README.md"].decode()
    section = readme[readme.index("### Suite `elevater-cn`") : readme.index("### Suite `classification`")]
    assert f"| Complete Model | {mean1:.2f} | {mean5:.2f} | – | +10.00 | 20/20 | cn\\_clip |" in section
    assert "| Partial Model | – (19 of 20 tasks) | – | – | – | 19/20 | cn\\_clip |" in section
    # per task, Δ R2D2 is against R2D2's entry for that set
    cifar = readme[readme.index("(`cifar-10-cn`, split `test`)") :]
    assert "| Complete Model | 41.00 | 51.00 | – | +10.00 | cn\\_clip |" in cifar


def test_mixed_protocols_are_named(lb):
    entries = [_reported(t, {"acc1": 50.0}, protocol="cn_clip") for t in ELEVATER[:10]]
    entries += [_reported(t, {"acc1": 50.0}, protocol="clip_benchmark") for t in ELEVATER[10:]]
    _store(lb, "Mixed Model", entries)
    readme = render(lb)["README.md"].decode()
    assert "| Mixed Model | 50.00 | – | – | – | 20/20 | mixed\\: clip\\_benchmark, cn\\_clip |" in readme


# The published numbers as their sources give them (Results.md of OFA-Sys/Chinese-CLIP, table "Zero-shot Image
# Classification"; the three Taiyi-CLIP model cards, "Zero-Shot Classification").
CHINESE_CLIP = {
    "chinese-clip-rn50": [72.7, 40.6, 36.9, 27.0, 21.9, 30.2, 50.2, 47.7, 33.5],
    "chinese-clip-vit-b-16": [92.0, 64.4, 43.6, 46.9, 47.2, 33.5, 67.6, 54.0, 48.3],
    "chinese-clip-vit-l-14": [94.9, 75.1, 44.2, 56.9, 54.6, 49.9, 69.8, 63.5, 54.7],
    "chinese-clip-vit-l-14-336px": [94.1, 73.5, 43.8, 50.7, 55.1, 49.8, 65.0, 62.9, 56.7],
    "chinese-clip-vit-h-14": [96.0, 79.7, 51.2, 52.0, 49.2, 39.1, 79.4, 52.4, 59.6],
}
CHINESE_CLIP_TASKS = [
    "cifar-10-cn",
    "cifar-100-cn",
    "dtd-cn",
    "eurosat-clip-cn",
    "fer-2013-cn",
    "kitti-distance-cn",
    "mnist-cn",
    "patch-camelyon-cn",
    "imagenet-cn",
]
TAIYI = {
    "taiyi-clip-roberta-102m-chinese": (42.85, 71.48),
    "taiyi-clip-roberta-large-326m-chinese": (53.05, 79.55),
    "taiyi-clip-roberta-326m-vit-h-chinese": (54.35, 80.64),
}


def test_published_classification_entries_match_their_sources():
    folder = REPO / "leaderboard" / "submissions"
    for slug, values in CHINESE_CLIP.items():
        entries = [e for e in read_model_file(folder / f"{slug}.json").entries if e.protocol is not None]
        assert {e.task: e.metrics for e in entries} == {
            t: {"acc1": v} for t, v in zip(CHINESE_CLIP_TASKS, values, strict=True)
        }
        for e in entries:
            assert (e.status, e.setting, e.protocol, e.annotation_sha256) == ("reported", "zero-shot", "cn_clip", None)
            assert "Results.md#zeroshot_results" in e.source and "not re-scored" in e.source
    for slug, (top1, top5) in TAIYI.items():
        (e,) = [e for e in read_model_file(folder / f"{slug}.json").entries if e.task == "imagenet-cn"]
        assert (e.task, e.metrics, e.protocol) == ("imagenet-cn", {"acc1": top1, "acc5": top5}, "not stated")
        assert e.source.startswith("Taiyi-CLIP-") and "huggingface.co/IDEA-CCNL/" in e.source


def test_retrieval_files_keep_their_format():
    """Entries without a protocol are written without the two classification keys (older files stay as they are)."""
    path = REPO / "leaderboard" / "submissions" / "r2d2-vit-l-14-zero-250m.json"
    assert dump_model_file(read_model_file(path)) == path.read_text(encoding="utf-8")
    card = ModelCard(**{k: v for k, v in CARD.items() if k in ModelCard.model_fields})
    text = dump_model_file(ModelFile(model=card, entries=[_reported("imagenet-cn", {"acc1": 1.0})]))
    assert '"protocol": "cn_clip"' in text and '"classification": null' in text
