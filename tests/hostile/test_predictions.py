"""Hostile prediction files (``zero-bench score``) and outputs that would replace an input (``evaluate``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hostile.hostile import refused

BAD_RETRIEVAL = [
    # (id, lines replacing the first query line, message part)
    ("huge-int", ['{"text_id": ' + "7" * 5000 + ', "image_ids": [0,1,2,3,4,5,6,7,8,9]}'], "digits"),
    ("deep-nesting", ["[" * 100_000 + "]" * 100_000], "nested too deeply"),
    ("not-json", ["{text_id: 0}"], "bad JSON"),
    ("not-object", ["[0, 1]"], "expected a JSON object"),
    ("empty-line", [""], "empty line"),
    ("wrong-keys", ['{"text_id": 0, "images": [0,1,2,3,4,5,6,7,8,9]}'], "expected keys"),
    ("bool-id", ['{"text_id": true, "image_ids": [0,1,2,3,4,5,6,7,8,9]}'], "is not an id"),
    ("float-id", ['{"text_id": 0.0, "image_ids": [0,1,2,3,4,5,6,7,8,9]}'], "is not an id"),
    ("unknown-id", ['{"text_id": 100000, "image_ids": [0,1,2,3,4,5,6,7,8,9]}'], "is not an id"),
    ("short-list", ['{"text_id": 0, "image_ids": [0,1,2]}'], "exactly 10 ids"),
    ("list-not-list", ['{"text_id": 0, "image_ids": "0123456789"}'], "exactly 10 ids"),
    ("repeated", ['{"text_id": 0, "image_ids": [0,0,2,3,4,5,6,7,8,9]}'], "repeats an id"),
    ("unknown-target", ['{"text_id": 0, "image_ids": [0,1,2,3,4,5,6,7,8,99]}'], "which is not an id"),
    ("duplicate", ['{"text_id": 1, "image_ids": [0,1,2,3,4,5,6,7,8,9]}'], "duplicate query"),
    ("missing", [], "missing 1 text_id queries"),
    ("nan-in-list", ['{"text_id": 0, "image_ids": [NaN,1,2,3,4,5,6,7,8,9]}'], "which is not an id"),
    ("surrogate-key", ['{"text_id\\ud800": 0, "image_ids": [0,1,2,3,4,5,6,7,8,9]}'], "surrogate"),
]


@pytest.mark.parametrize("case,lines,message", BAD_RETRIEVAL, ids=[c[0] for c in BAD_RETRIEVAL])
def test_bad_retrieval_predictions(world, ccmb, icr_preds, case, lines, message):
    rows = icr_preds.read_text(encoding="utf-8").splitlines()
    rows[0:1] = lines
    icr_preds.write_text("\n".join(rows) + "\n", encoding="utf-8")
    # the duplicate is found on the line that repeats the query; a missing query names no line
    where = {"duplicate": f"{icr_preds}:2", "missing": str(icr_preds)}.get(case, f"{icr_preds}:1")
    refused(world, "score", "-t", "icr", "--data-dir", ccmb, "--predictions", icr_preds, names=(where, message))


BAD_MATCHING = [
    ("nan", '{"pair_id": 0, "score": NaN}', "not a finite number"),
    ("infinite", '{"pair_id": 0, "score": 1e400}', "not a finite number"),
    ("huge-int", '{"pair_id": 0, "score": ' + "9" * 400 + "}", "not a finite number"),
    ("string", '{"pair_id": 0, "score": "0.5"}', "not a finite number"),
    ("bool", '{"pair_id": 0, "score": true}', "not a finite number"),
    ("negative-id", '{"pair_id": -1, "score": 0.5}', "is not a pair"),
    ("extra-key", '{"pair_id": 0, "score": 0.5, "x": 1}', "expected keys"),
]


@pytest.mark.parametrize("case,line,message", BAD_MATCHING, ids=[c[0] for c in BAD_MATCHING])
def test_bad_matching_predictions(world, ccmb, icm_preds, case, line, message):
    rows = icm_preds.read_text(encoding="utf-8").splitlines()
    rows[0] = line
    icm_preds.write_text("\n".join(rows) + "\n", encoding="utf-8")
    names = (f"{icm_preds}:1", message)
    refused(world, "score", "-t", "icm", "--data-dir", ccmb, "--predictions", icm_preds, names=names)


def test_non_utf8_predictions(world, ccmb, icr_preds):
    icr_preds.write_bytes(icr_preds.read_bytes().replace(b"\n", b"\n\xc3\x28", 1))
    names = (f"{icr_preds}:2", "not UTF-8", "byte 1 of the line")
    refused(world, "score", "-t", "icr", "--data-dir", ccmb, "--predictions", icr_preds, names=names)


# ---- defect 9: no output replaces an input -------------------------------------------------------------------------


def test_evaluate_predictions_over_the_annotation_file_is_refused(world, ccmb):
    from tests.hostile.models import ColourModel
    from zero_bench.errors import ZeroBenchError
    from zero_bench.evaluation.evaluator import evaluate

    annotation = ccmb / "ICR/val/long_itr_val.json"
    before = annotation.read_bytes()
    with pytest.raises(ZeroBenchError, match=r"long_itr_val\.json: the predictions file would overwrite an input"):
        evaluate(ColourModel(), "icr", data_dir=ccmb, predictions=annotation, device="cpu", use_cache=False)
    assert annotation.read_bytes() == before
    link = world / "link.jsonl"
    link.symlink_to(annotation)
    with pytest.raises(ZeroBenchError, match="would overwrite an input"):
        evaluate(ColourModel(), "icr", data_dir=ccmb, predictions=link, device="cpu", use_cache=False)
    assert annotation.read_bytes() == before


def test_evaluate_output_equal_to_predictions_is_refused(world, ccmb):
    same = world / "out.json"
    same.write_text(json.dumps({"keep": True}), encoding="utf-8")
    args = ("evaluate", "--model", "no-such-model", "-t", "icr", "--data-dir", ccmb, "-o", same, "--predictions", same)
    refused(world, *args, names=(str(same), "name the same file"))
    refused(world, *args[:-1], Path(f"{world}/./out.json"), names=(str(same), "name the same file"))


@pytest.mark.parametrize(("make", "message"), [("folder", "is a folder"), ("missing", "predictions file not found")])
def test_predictions_that_are_not_a_file_are_named(world, ccmb, make, message):
    path = world / "preds.jsonl"
    if make == "folder":
        path.mkdir()
    refused(world, "score", "--task", "icr", "--predictions", path, "--data-dir", ccmb, names=(str(path), message))
