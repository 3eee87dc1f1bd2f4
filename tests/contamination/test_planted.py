"""Planted copies of evaluation images and captions in a zero-toy corpus: recall per transformation and false
positives on the other rows, measured through the command line, then used to clean a training corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest

from zero_bench.contamination.plant import IMAGE_EDITS, TEXT_EDITS

pytestmark = pytest.mark.slow

# What must be found (recall at least) and what may be found by chance (false-positive rate at most).  The toy
# images are 64-96 px renders of one to three shapes, so unrelated rows can genuinely look alike: these bounds
# are what the default thresholds measured on this data (see the printed table), with room for sampling noise.
MIN_IMAGE_RECALL = {
    "same_file": 1.0,
    "png_resave": 1.0,
    "jpeg_q20": 0.8,
    "resize_50": 0.3,
    "crop_2_5pc": 0.25,
}
MAX_IMAGE_FALSE_POSITIVE_ROWS = 0.03
MAX_NEAR_TEXT_FALSE_POSITIVE_ROWS = 0.01
EXACT_TEXT_EDITS = ("same_text", "punctuation", "spacing", "full_width")


@pytest.fixture(scope="module")
def audited(toy, tmp_path_factory):
    out = tmp_path_factory.mktemp("audit")
    cmd = [
        sys.executable,
        "-m",
        "zero_bench.cli.app",
        "contamination",
        str(toy["corpus"]),
        "-t",
        "ccmb",
        "--data-dir",
        str(toy["data_dir"]),
        "-o",
        str(out / "report.json"),
        "--clean-ids",
        str(out / "clean"),
        "--workers",
        "2",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads((out / "report.json").read_text(encoding="utf-8")), out, proc.stdout


def _found(report: dict, kind: str) -> dict[str, list[tuple[str, str, str, dict]]]:
    """corpus key -> [(task, split, eval id, match)]"""
    out: dict[str, list] = defaultdict(list)
    for task, splits in report["tasks"].items():
        for split, blocks in splits.items():
            for m in blocks[kind]["matches"]:
                out[m["corpus_key"]].append((task, split, m["eval_id"], m))
    return out


def _hit(found, planted, kind: str) -> bool:
    want = {"images": planted.image_id, "texts": planted.text_id, "pairs": planted.pair_id}[kind]
    return any((t, s) == planted.unit and eval_id == want for t, s, eval_id, _ in found.get(planted.key, ()))


def test_recall_on_planted_copies_and_false_positives_on_the_rest(audited, toy) -> None:
    report, _, _ = audited
    truth = toy["truth"]
    planted = {p.key for p in truth}
    images, texts, pairs = (_found(report, k) for k in ("images", "texts", "pairs"))
    image_recall = {e: _recall([p for p in truth if p.image_edit == e], images, "images") for e in IMAGE_EDITS}
    text_recall = {e: _recall([p for p in truth if p.text_edit == e], texts, "texts") for e in TEXT_EDITS}
    in_reach = [p for p in truth if p.image_edit in ("same_file", "png_resave") and p.text_edit in EXACT_TEXT_EDITS]
    pair_recall = _recall(in_reach, pairs, "pairs")
    rows = report["rows_scanned"] - len(truth)
    image_fp = len([k for k in images if k not in planted]) / rows
    near_text_fp = (
        len([k for k, hits in texts.items() if k not in planted and any(m["kind"] == "near" for *_, m in hits)]) / rows
    )
    natural = len([k for k in texts if k not in planted]) / rows
    print(f"\nimage recall {image_recall}\ntext recall {text_recall}\npair recall (exact edits) {pair_recall:.2f}")
    print(
        f"false-positive rows: images {image_fp:.4f}, near texts {near_text_fp:.4f}; rows sharing an exact text "
        f"(toy queries repeat) {natural:.4f}"
    )
    for edit, floor in MIN_IMAGE_RECALL.items():
        assert image_recall[edit] >= floor, (edit, image_recall[edit])
    for edit in EXACT_TEXT_EDITS:
        assert text_recall[edit] == 1.0, (edit, text_recall[edit])
    assert pair_recall == 1.0
    assert image_recall["hflip"] <= 0.2  # out of reach: the perceptual hash and the thumbnail are not mirror-invariant
    assert image_fp <= MAX_IMAGE_FALSE_POSITIVE_ROWS
    assert near_text_fp <= MAX_NEAR_TEXT_FALSE_POSITIVE_ROWS


def _recall(items, found, kind: str) -> float:
    assert items
    return sum(_hit(found, p, kind) for p in items) / len(items)


def test_report_layout_and_summary(audited, toy) -> None:
    report, out, stdout = audited
    assert report["rows_scanned"] == 1_500 + len(toy["truth"])
    assert set(report["tasks"]) == {"icr", "iqr", "icm", "iqm", "flickr30k-cna"}
    assert set(report["tasks"]["flickr30k-cna"]) == {"test"}
    block = report["tasks"]["icr"]["val"]
    assert len(block["annotation_sha256"]) == 64 and len(report["corpus"]["fingerprint"]) == 64
    assert report["thresholds"]["image_radius"] == 6
    for kind in ("images", "texts", "pairs"):
        b = block[kind]
        assert b["rate"] == pytest.approx(b["count"] / b["total"], abs=1e-6)
        assert len({m["eval_id"] for m in b["matches"]}) == b["count"]
        assert all(set(m) >= {"eval_id", "corpus_key", "kind", "distance"} for m in b["matches"])
    # image ids are file names without extension, text ids line numbers
    assert all(m["eval_id"].startswith("toy_icr_val_") for m in block["images"]["matches"])
    assert all(0 <= int(m["eval_id"]) < 100 for m in block["texts"]["matches"])
    summary = (out / "report.md").read_text(encoding="utf-8")
    assert "| icr | val |" in summary and "| icr | val |" in stdout
    clean = json.loads((out / "clean" / "icr.val.clean.json").read_text(encoding="utf-8"))
    dirty = {m["eval_id"] for m in block["images"]["matches"]}
    assert len(clean["images"]) == block["images"]["total"] - block["images"]["count"]
    assert not dirty & set(clean["images"])


def test_load_corpus_excludes_the_contaminated_rows(audited, toy) -> None:
    from zero_bench import load_corpus

    report, out, _ = audited
    full = load_corpus(str(toy["corpus"]))
    cleaned = load_corpus(str(toy["corpus"]), exclude=str(out / "report.json"))
    dropped = set(full["key"]) - set(cleaned["key"])
    assert dropped == set(report["corpus_rows"]["images"])
    planted_exact = {p.key for p in toy["truth"] if p.image_edit in ("same_file", "png_resave")}
    assert planted_exact <= dropped
    with_texts = load_corpus(str(toy["corpus"]), exclude=str(out / "report.json"), exclude_texts=True)
    assert len(with_texts) == len(full) - len(dropped) - len(report["corpus_rows"]["texts"])


def test_exclude_refuses_a_report_on_another_corpus(audited, toy, tmp_path) -> None:
    from zero_bench.contamination.clean import load_clean_corpus
    from zero_bench.errors import ZeroBenchError

    report, _, _ = audited
    other = dict(report, corpus=dict(report["corpus"], fingerprint="0" * 64))
    path = tmp_path / "other.json"
    path.write_text(json.dumps(other), encoding="utf-8")
    with pytest.raises(ZeroBenchError, match="another corpus"):
        load_clean_corpus(str(toy["corpus"]), path)
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ZeroBenchError, match="not a contamination report"):
        load_clean_corpus(str(toy["corpus"]), tmp_path / "bad.json")


def test_cli_errors_are_one_line(toy, tmp_path) -> None:
    base = [sys.executable, "-m", "zero_bench.cli.app", "contamination", str(toy["corpus"]), "--data-dir"]
    for extra, message in (
        ([str(toy["data_dir"]), "-t", "nope"], "unknown task 'nope'"),
        ([str(toy["data_dir"]), "-t", "icr", "--split", "test"], "task icr has none of the splits"),
        ([str(tmp_path / "missing"), "-t", "icr"], "does not exist"),
    ):
        proc = subprocess.run([*base, *extra, "-o", str(tmp_path / "r.json")], capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr
        assert not (tmp_path / "r.json").exists()
