"""Chinese-CLIP image TSVs in either base64 alphabet decode to the same pixels (their loader uses
``urlsafe_b64decode``); a field in neither alphabet is rejected with file and line."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest

from zero_bench.errors import DataFormatError
from zero_bench.formats import load_split
from zero_bench.taskspec import get_task
from zero_bench.testing import make_cn_clip_folder


def _pixels(data) -> list[np.ndarray]:
    return [np.asarray(item.open()) for item in data.images]


def test_url_safe_and_standard_alphabets_give_the_same_images(tmp_path: Path) -> None:
    folder = make_cn_clip_folder(tmp_path / "MUGE", n_images=6, distractors=2)
    standard = load_split(get_task("muge"), folder)
    tsv = folder / "valid_imgs.tsv"
    lines = tsv.read_text().splitlines()
    converted = []
    for line in lines:
        image_id, field = line.split("\t")
        converted.append(f"{image_id}\t{base64.urlsafe_b64encode(base64.b64decode(field)).decode()}")
    text = "\n".join(converted) + "\n"
    assert "-" in text or "_" in text  # the URL-safe alphabet is really exercised
    tsv.write_text(text)
    url_safe = load_split(get_task("muge"), folder)
    assert [i.key for i in url_safe.images] == [i.key for i in standard.images]
    for a, b in zip(_pixels(url_safe), _pixels(standard), strict=True):
        np.testing.assert_array_equal(a, b)


def test_neither_alphabet_is_rejected(tmp_path: Path) -> None:
    folder = make_cn_clip_folder(tmp_path / "MUGE", n_images=2, distractors=0)
    tsv = folder / "valid_imgs.tsv"
    lines = tsv.read_text().splitlines()
    lines[1] = lines[1].split("\t")[0] + "\t" + "@@@@" + lines[1].split("\t")[1]
    tsv.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError, match=r"valid_imgs.tsv:2: image field is not base64"):
        load_split(get_task("muge"), folder)
