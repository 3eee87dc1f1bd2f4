"""The learned descriptor (``--descriptor MODEL``), on a tiny real CLIP saved with transformers' own call.

A random tiny model describes images poorly (every toy image lands near the same vector), so these tests check the
mechanism, not the quality: copies with the same pixels (or the same pixels mirrored) come out at cosine 1, the
matches join the report without doubling the classical ones, the threshold and its calibration are recorded, and
the calibration meets its false-positive bound."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ImageOps

from tests.adapters.tiny_models import save_clip
from zero_bench.contamination.calibrate import choose_threshold
from zero_bench.contamination.descriptor import embed_eval_side, eval_items, load_descriptor, near_images
from zero_bench.contamination.images import perceptual_hash
from zero_bench.contamination.plant import IMAGE_EDITS
from zero_bench.contamination.scan import match_image
from zero_bench.data.toy import ToySizes
from zero_bench.testing import one_torch_thread

SIZES = ToySizes(
    corpus=300, itr_train=8, itr_val=60, itm_train=8, itm_val=40, flickr_train=4, flickr_val=4, flickr_test=8
)
COPIES = 12  # evaluation images planted twice: as the same file, and mirrored (re-saved as PNG)
THRESHOLD = 0.99999


def _png(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A tiny CLIP folder, zero-toy's ICR val split, and a corpus of toy rows with copies of ICR images."""
    from zero_bench.contamination.audit import task_splits
    from zero_bench.contamination.evalside import build_index
    from zero_bench.contamination.plant import write_corpus
    from zero_bench.data.toy import corpus_rows, generate_zero_toy, toy_task_dir
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task

    root = tmp_path_factory.mktemp("descriptor")
    save_clip(root / "tiny-clip")
    generate_zero_toy(root=root, seed=0, sizes=SIZES, corpus=False)
    data_dir = toy_task_dir(root)
    data = load_split(get_task("icr"), data_dir, "val")
    planted = []
    for k in range(COPIES):
        item, text = data.images[k], data.texts[int(data.gold[data.gold[:, 1] == k][0, 0])]
        row = {"content": "", "query": "", "keywords": "", "url": "", "image_url": ""}
        planted.append(row | {"key": f"same-{k}", "image": item.read_bytes(), "title": text})
        planted.append(row | {"key": f"mirror-{k}", "image": _png(ImageOps.mirror(item.open())), "title": text})
    corpus = root / "corpus"
    write_corpus(corpus, [*corpus_rows(7, SIZES.corpus), *planted], "descriptor-toy", shard_rows=100)
    index = build_index(task_splits(["icr"]), data_dir)
    return {"model": f"hf:{root / 'tiny-clip'}", "data_dir": data_dir, "corpus": corpus, "index": index, "data": data}


def _cli(setup, out, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "zero_bench.cli.app", "contamination", str(setup["corpus"]), "-t", "icr"]
    cmd += ["--data-dir", str(setup["data_dir"]), "-o", str(out), "--workers", "1", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)


def _image_matches(report: dict) -> list[dict]:
    return report["tasks"]["icr"]["val"]["images"]["matches"]


def test_same_pixels_and_mirrors_come_out_at_cosine_one(setup) -> None:
    descriptor = load_descriptor(setup["model"], "cpu")
    items = eval_items(setup["index"], setup["data_dir"])
    side = embed_eval_side(descriptor, items)
    assert side.vectors.shape[0] == 2 * len(items)
    images = [items[k].open() for k in range(COPIES)]
    queries = descriptor.embed(images + [ImageOps.mirror(img) for img in images])
    hits = near_images(queries, side, THRESHOLD)
    for q in range(2 * COPIES):
        assert hits[q][q % COPIES] == pytest.approx(1.0, abs=1e-5)


def test_cli_adds_descriptor_matches_without_doubling_the_classical_ones(setup, tmp_path) -> None:
    plain, learned = tmp_path / "plain.json", tmp_path / "learned.json"
    assert _cli(setup, plain).returncode == 0
    proc = _cli(setup, learned, "--descriptor", setup["model"], "--descriptor-threshold", str(THRESHOLD))
    assert proc.returncode == 0, proc.stderr
    before, after = (json.loads(p.read_text(encoding="utf-8")) for p in (plain, learned))
    block = after["descriptor"]
    assert block["model"] == setup["model"] and block["threshold"] == THRESHOLD and block["mirrors"] is True
    assert block["calibration"] == {"method": "given by the user"} and block["checkpoint_sha256"]
    assert f"cosine at least {THRESHOLD}" in learned.with_suffix(".md").read_text(encoding="utf-8")
    matches = _image_matches(after)
    learned_only = [m for m in matches if "descriptor" in m]
    assert all(m["kind"] == "near" and m["cosine"] >= THRESHOLD - 1e-4 for m in learned_only)
    assert all(m["distance"] == pytest.approx(1 - m["cosine"], abs=2e-4) for m in learned_only)
    assert len({(m["eval_id"], m["corpus_key"]) for m in matches}) == len(matches)  # none counted twice
    old, new = before["tasks"]["icr"]["val"]["images"], after["tasks"]["icr"]["val"]["images"]
    assert new["corpus_rows"] == old["corpus_rows"] + block["near_image_matches"]  # each (image, row) counted once
    assert set(before["corpus_rows"]["images"]) <= set(after["corpus_rows"]["images"])
    # every planted copy is found, same files by the classical scan; the mirrors it misses, by the descriptor
    index, data = setup["index"], setup["data"]
    rows = set(after["corpus_rows"]["images"])
    assert {f"same-{k}" for k in range(COPIES)} | {f"mirror-{k}" for k in range(COPIES)} <= rows
    mirrors = [ImageOps.mirror(data.images[k].open()) for k in range(COPIES)]
    missed = [k for k, img in enumerate(mirrors) if not match_image(index, img, perceptual_hash(img))]
    keyed = {(m["eval_id"], m["corpus_key"]) for m in learned_only}
    assert all((data.images[k].key, f"mirror-{k}") in keyed for k in missed)
    pairs = {(m["eval_id"], m["corpus_key"]) for m in after["tasks"]["icr"]["val"]["pairs"]["matches"]}
    assert all((data.images[k].key, f"mirror-{k}") in pairs for k in missed[:5])  # the row holds its caption


def test_cli_calibrates_the_threshold_on_planted_copies(setup, tmp_path) -> None:
    out = tmp_path / "calibrated.json"
    proc = _cli(setup, out, "--descriptor", setup["model"])
    assert proc.returncode == 0, proc.stderr
    block = json.loads(out.read_text(encoding="utf-8"))["descriptor"]
    cal = block["calibration"]
    assert block["threshold"] == cal["threshold"]
    assert cal["false_positive_rate"] <= cal["false_positive_target"] == 0.01
    assert cal["unrelated_rows"] > 200 and cal["planted_images"] == 60
    assert set(cal["recall"]) == set(IMAGE_EDITS) and all(0.0 <= r <= 1.0 for r in cal["recall"].values())
    if cal["threshold"] <= 1.0 - 1e-6:  # a byte copy sits at cosine 1 (up to rounding)
        assert cal["recall"]["same_file"] == cal["recall"]["png_resave"] == 1.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1.0, 1.0, width=32), min_size=1, max_size=400),
    st.sampled_from([0.0, 0.001, 0.01, 0.05, 0.5]),
)
def test_threshold_is_the_lowest_meeting_the_false_positive_bound(scores, target) -> None:
    unrelated = np.asarray(scores, dtype=np.float32)
    threshold = np.float32(choose_threshold(unrelated, target))
    assert np.mean(unrelated >= threshold) <= target
    lower = np.nextafter(threshold, np.float32(-np.inf))
    assert np.mean(unrelated >= lower) > target  # one step lower breaks the bound


def test_bad_descriptor_is_one_line_and_writes_nothing(setup, tmp_path) -> None:
    out = tmp_path / "r.json"
    for name, message in (("no-such-model", "unknown model 'no-such-model'"),):
        proc = _cli(setup, out, "--descriptor", name)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip().count("\n") == 0 and message in proc.stderr
        assert not out.exists() and not out.with_suffix(".md").exists()


@pytest.mark.parametrize("threshold", [THRESHOLD, None])  # the scan alone; the calibration reads the corpus first
def test_a_shard_changed_after_the_classical_pass_is_refused(setup, tmp_path, threshold) -> None:
    """The descriptor pass checks every shard against the sha256 the classical pass computed (the report's
    fingerprint): a shard rewritten in between is one line naming it, and nothing joins the matches."""
    import shutil

    from zero_bench.contamination.descriptor_scan import run_descriptor
    from zero_bench.contamination.scan import Found
    from zero_bench.contamination.shards import corpus_shards, sha256_mapped
    from zero_bench.errors import ZeroBenchError

    corpus = tmp_path / "corpus"
    shutil.copytree(setup["corpus"], corpus)
    _, shards, _ = corpus_shards(corpus)
    digests = [sha256_mapped(p) for p in shards]  # what the classical pass read
    shutil.copyfile(shards[0], shards[-1])  # then the last shard is replaced by other rows
    found = Found(limit=100)
    with pytest.raises(ZeroBenchError, match=rf"{shards[-1].name}: shard sha256 .* differs"):
        run_descriptor(setup["model"], setup["index"], setup["data_dir"], shards, found, threshold, None, digests)
    assert not found.hits
