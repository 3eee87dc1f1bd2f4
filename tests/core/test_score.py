"""``zero-bench score``: scoring predictions without a model, and every rejection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zero_bench.errors import DataFormatError
from zero_bench.formats import load_split
from zero_bench.predictions import score_predictions
from zero_bench.taskspec import get_task
from zero_bench.testing import make_cn_clip_folder, make_itm_folder, make_itr_folder


def _perfect_lines(n_images: int, per_image: int) -> list[dict]:
    lines = []
    for t in range(n_images * per_image):
        gold = t % n_images
        lines.append({"text_id": t, "image_ids": [gold] + [i for i in range(n_images) if i != gold][:9]})
    for i in range(n_images):
        golds = [t for t in range(n_images * per_image) if t % n_images == i]
        rest = [t for t in range(n_images * per_image) if t % n_images != i]
        lines.append({"image_id": i, "text_ids": (golds + rest)[:10]})
    return lines


def _write(path: Path, lines: list) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    return path


@pytest.fixture()
def icr(tmp_path: Path):
    make_itr_folder(tmp_path / "data", n_images=12, per_image=2)
    return load_split(get_task("icr"), tmp_path / "data")


def test_perfect_predictions_score_100(icr, tmp_path: Path) -> None:
    metrics = score_predictions(get_task("icr"), icr, _write(tmp_path / "p.jsonl", _perfect_lines(12, 2)))
    assert metrics["r_mean"] == 100.0 and len(metrics) == 9


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda L: L[1:], r"missing 1 text_id queries, e.g. text_id 0"),
        (lambda L: L[:-1], r"missing 1 image_id queries"),
        (lambda L: L + [L[0]], r":37: duplicate query text_id 0"),
        (
            lambda L: [{"text_id": 0, "image_ids": [99] + L[0]["image_ids"][1:]}] + L[1:],
            r":1: image_ids has 99, which is not an id",
        ),
        (
            lambda L: [{"text_id": 0, "image_ids": [0, 0] + L[0]["image_ids"][2:]}] + L[1:],
            r":1: image_ids repeats an id",
        ),
        (
            lambda L: [{"text_id": 0, "image_ids": L[0]["image_ids"][:9]}] + L[1:],
            r":1: image_ids must list exactly 10 ids, got 9",
        ),
        (lambda L: [{"text_id": 0, "image_ids": L[0]["image_ids"] + [11]}] + L[1:], r"exactly 10 ids, got 11"),
        (lambda L: [{"text_id": 77, "image_ids": L[0]["image_ids"]}] + L[1:], r":1: text_id 77 is not an id"),
        (lambda L: [{"text_id": 0, "image_ids": L[0]["image_ids"], "x": 1}] + L[1:], r":1: expected keys"),
        (lambda L: ["{not json"] + L[1:], r":1: bad JSON"),
        (lambda L: [{"text_id": 0, "image_ids": [0.5] + L[0]["image_ids"][1:]}] + L[1:], r"image_ids has 0.5"),
    ],
)
def test_retrieval_rejections(icr, tmp_path: Path, mutate, message: str) -> None:
    path = _write(tmp_path / "p.jsonl", mutate(_perfect_lines(12, 2)))
    with pytest.raises(DataFormatError, match=message) as info:
        score_predictions(get_task("icr"), icr, path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_image_queries_rejected_for_text_to_image_only_task(tmp_path: Path) -> None:
    folder = make_cn_clip_folder(tmp_path / "MUGE", n_images=4, distractors=8)
    data = load_split(get_task("muge"), folder)
    lines = [{"text_id": 500 + t, "image_ids": list(range(1000, 1010))} for t in range(4)]
    assert score_predictions(get_task("muge"), data, _write(tmp_path / "ok.jsonl", lines))["img_r1"] == 25.0
    bad = _write(tmp_path / "bad.jsonl", lines + [{"image_id": 1000, "text_ids": [500, 501, 502, 503]}])
    with pytest.raises(DataFormatError, match="does not evaluate image_to_text"):
        score_predictions(get_task("muge"), data, bad)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([{"pair_id": p, "score": 0.5} for p in range(23)], r"missing 1 pairs, e.g. pair_id 23"),
        ([{"pair_id": 0, "score": float("nan")}], r":1: score nan is not a finite number"),
        (['{"pair_id": 0, "score": NaN}'], r":1: score nan is not a finite number"),
        ([{"pair_id": 0, "score": 0.1}, {"pair_id": 0, "score": 0.2}], r":2: duplicate pair_id 0"),
        ([{"pair_id": 24, "score": 0.1}], r":1: pair_id 24 is not a pair"),
        ([{"pair_id": 0, "score": "high"}], r"score 'high' is not a finite number"),
    ],
)
def test_matching_rejections(tmp_path: Path, lines: list, message: str) -> None:
    make_itm_folder(tmp_path / "data", n_pairs=24)
    data = load_split(get_task("icm"), tmp_path / "data")
    path = tmp_path / "m.jsonl"
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines), encoding="utf-8")
    with pytest.raises(DataFormatError, match=message):
        score_predictions(get_task("icm"), data, path)


def test_score_cli_one_line_error_and_json_output(icr, tmp_path: Path) -> None:
    good = _write(tmp_path / "good.jsonl", _perfect_lines(12, 2))
    cmd = [sys.executable, "-m", "zero_bench.cli.app", "score", "--task", "icr", "--data-dir", str(tmp_path / "data")]
    ok = subprocess.run([*cmd, "--predictions", str(good), "--json"], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["r_mean"] == 100.0
    bad = _write(tmp_path / "bad.jsonl", _perfect_lines(12, 2)[1:])
    out = subprocess.run([*cmd, "--predictions", str(bad)], capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "missing 1 text_id queries" in out.stderr
    assert "Traceback" not in out.stderr
