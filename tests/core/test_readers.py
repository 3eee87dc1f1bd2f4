"""Readers of every official format, including malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zero_bench.errors import DataFormatError, ZeroBenchError
from zero_bench.formats import MatchingData, RetrievalData, load_split
from zero_bench.taskspec import all_tasks, get_task
from zero_bench.testing import colour_image, make_cn_clip_folder, make_itm_folder, make_itr_folder, write_jpeg


def test_every_shipped_task_definition_is_valid() -> None:
    tasks = all_tasks()
    assert set(tasks) >= {"icm", "iqm", "icr", "iqr", "flickr30k-cna", "flickr30k-cn", "coco-cn", "muge", "aic-icc"}
    assert get_task("icr").rerank_top_k == 64 and get_task("flickr30k-cna").rerank_top_k == 128
    assert get_task("muge").metrics == ["img_r1", "img_r5", "img_r10", "img_r_mean"]


def test_itr_ids_follow_the_official_rule(tmp_path: Path) -> None:
    path = tmp_path / "ICR" / "val" / "long_itr_val.json"
    for name in ("b", "a", "c"):
        write_jpeg(tmp_path / "IQR_IQM_ICR_ICM_images" / f"{name}.jpg", colour_image(0))
    rows = [("x/b.jpg", "t0"), ("a.jpg", "t1"), ("b.jpg", "t2"), ("c.jpg", "t3"), ("a.jpg", "t4")]
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps({"text": t, "image_path": p}) + "\n" for p, t in rows), encoding="utf-8")
    data = load_split(get_task("icr"), tmp_path, "val")
    assert isinstance(data, RetrievalData)
    assert [item.key for item in data.images] == ["b", "a", "c"]  # order of first appearance
    assert data.texts == ["t0", "t1", "t2", "t3", "t4"]
    assert data.text_to_image().tolist() == [0, 1, 0, 2, 1]
    assert len(data.annotation_sha256) == 64


def test_itm_reader(tmp_path: Path) -> None:
    make_itm_folder(tmp_path, n_pairs=10)
    data = load_split(get_task("icm"), tmp_path)
    assert isinstance(data, MatchingData)
    assert data.num_pairs == 10 and data.labels.tolist() == [0, 1] * 5
    assert data.pair_ids.tolist() == list(range(10))


def test_flickr30k_cna_reader(tmp_path: Path) -> None:
    for image_id in ("1000", "2000"):
        write_jpeg(tmp_path / "Flickr30k-images" / f"{image_id}.jpg", colour_image(1))
    path = tmp_path / "test" / "flickr30k_cna_test.txt"
    path.parent.mkdir()
    path.write_text("1000#0\t一只狗\n\n1000#1\t两只狗\nab\n2000#0\t一个人\n", encoding="utf-8")
    data = load_split(get_task("flickr30k-cna"), tmp_path)
    assert data.texts == ["一只狗", "两只狗", "一个人"]  # short lines skipped
    assert data.text_to_image().tolist() == [0, 0, 1]


def test_cn_clip_reader_keeps_file_ids_and_distractors(tmp_path: Path) -> None:
    make_cn_clip_folder(tmp_path / "MUGE", n_images=4, distractors=3)
    data = load_split(get_task("muge"), tmp_path / "MUGE")
    assert data.num_images == 7 and data.num_texts == 4
    assert data.image_ids.tolist() == list(range(1000, 1007))
    assert data.text_ids.tolist() == [500, 501, 502, 503]
    assert data.images[5].open().size == (24, 24)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            '{"text": "a", "image_path": "img0000.jpg"}\n{"text": "b", "image_path": \n',
            r"long_itr_val.json:2: bad JSON",
        ),
        ('{"text": "a"}\n', r":1: missing field 'image_path'"),
        ('{"text": 3, "image_path": "img0000.jpg"}\n', r":1: field 'text' must be a string"),
        (
            '{"text": "a", "image_path": "img0000.jpg"}\n{"text": "a", "image_path": "nope.jpg"}\n',
            r":2: image file not found: .*nope.jpg",
        ),
        ("", r"long_itr_val.json: empty split"),
        (
            '{"text": "a", "image_path": "img0000.jpg"}\n\n{"text": "a", "image_path": "img0000.jpg"}\n',
            r":2: empty line",
        ),
    ],
)
def test_malformed_itr_is_one_clear_line(tmp_path: Path, content: str, message: str) -> None:
    path = make_itr_folder(tmp_path, n_images=2, per_image=1)
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message) as info:
        load_split(get_task("icr"), tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("label", ["2", '"1"', "true", "0.5"])
def test_matching_label_must_be_0_or_1(tmp_path: Path, label: str) -> None:
    path = make_itm_folder(tmp_path, n_pairs=2)
    path.write_text(f'{{"image_path": "img0000.jpg", "text": "x", "label": {label}}}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"long_itm_val.json:1: label must be 0 or 1"):
        load_split(get_task("icm"), tmp_path)


def test_cn_clip_malformed(tmp_path: Path) -> None:
    folder = make_cn_clip_folder(tmp_path / "MUGE", n_images=2, distractors=0)
    texts = folder / "valid_texts.jsonl"
    texts.write_text('{"text_id": 1, "text": "x", "image_ids": [7]}\n', encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"valid_texts.jsonl:1: image id 7 is not in valid_imgs.tsv"):
        load_split(get_task("muge"), folder)
    texts.write_text(
        '{"text_id": 1, "text": "x", "image_ids": [1000]}\n{"text_id": 1, "text": "y", "image_ids": [1000]}\n',
        encoding="utf-8",
    )
    with pytest.raises(DataFormatError, match=r":2: duplicate text_id 1"):
        load_split(get_task("muge"), folder)
    (folder / "valid_imgs.tsv").write_text("abc\tZZZZ\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"valid_imgs.tsv:1: image id b'abc' is not an integer"):
        load_split(get_task("muge"), folder)


def test_missing_folder_and_split(tmp_path: Path) -> None:
    with pytest.raises(ZeroBenchError, match="does not exist; run 'zero-bench download icr'"):
        load_split(get_task("icr"), tmp_path / "nothing")
    with pytest.raises(ZeroBenchError, match="has no split 'test'"):
        load_split(get_task("icr"), tmp_path, "test")
    with pytest.raises(DataFormatError, match="annotation file for icr/val not found"):
        load_split(get_task("icr"), tmp_path)


def test_checksum_changes_with_the_annotation(tmp_path: Path) -> None:
    path = make_itr_folder(tmp_path, n_images=3, per_image=1)
    first = load_split(get_task("icr"), tmp_path).annotation_sha256
    path.write_text(path.read_text(encoding="utf-8").replace("第0种", "第9种"), encoding="utf-8")
    assert load_split(get_task("icr"), tmp_path).annotation_sha256 != first
    assert np.array_equal(load_split(get_task("icr"), tmp_path).gold[:, 1], [0, 1, 2])


def test_annotation_pinned_at_download_is_checked_on_every_use(tmp_path: Path) -> None:
    from zero_bench.data.tasks import install_task_dataset

    source = tmp_path / "download"
    make_itr_folder(source, n_images=4, per_image=1)
    install_task_dataset("icr", str(source), root=tmp_path / "root", echo=lambda *a: None)
    folder = tmp_path / "root" / "ccmb"
    assert load_split(get_task("icr"), folder).num_texts == 4
    annotation = folder / "ICR" / "val" / "long_itr_val.json"
    annotation.write_text(annotation.read_text(encoding="utf-8").replace("第0种", "第1种"), encoding="utf-8")
    with pytest.raises(ZeroBenchError, match=r"long_itr_val.json: checksum .* does not match .* recorded for icr"):
        load_split(get_task("icr"), folder)
