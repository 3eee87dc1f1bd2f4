"""Property tests: every reader and the predictions parser, fed generated malformed input, raise nothing but the
toolkit's own error type (``ZeroBenchError``: one line naming the file) or succeed."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from zero_bench.errors import ZeroBenchError

SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
KEYS = ["text", "image_path", "label", "text_id", "image_ids", "image_id", "text_ids", "pair_id", "score", "entries"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["img0.jpg", "../x.jpg", "/abs.jpg", "a\\b.jpg", "\ud800", "0", ""]),
    lambda children: (
        st.lists(children, max_size=12)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=20,
)


def _json_line(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=bool(hash(str(value)) % 2), allow_nan=True).encode("utf-8", "surrogatepass")


# Records of the right shape with wrong values: they get past the first checks into the deeper ones.
shaped_records = st.one_of(
    st.fixed_dictionaries(
        {
            "text": json_values | st.text(max_size=8),
            "image_path": json_values | st.sampled_from(["img0.jpg", "img1.jpg", "img9.jpg", "x/img2.jpg"]),
        },
        optional={"label": json_values | st.sampled_from([0, 1])},
    ),
    st.fixed_dictionaries(
        {
            "text_id": json_values | st.integers(-(2**70), 2**70),
            "text": json_values | st.text(max_size=8),
            "image_ids": st.lists(json_values | st.integers(-1, 3), max_size=3) | json_values,
        }
    ),
)
lines = st.one_of(
    shaped_records.map(_json_line),
    shaped_records.map(_json_line),
    json_values.map(_json_line),
    st.binary(max_size=60),
    st.text(max_size=40).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.tuples(json_values.map(_json_line), st.integers(0, 40)).map(lambda v: v[0][: v[1]]),  # cut short
    st.sampled_from([b"[" * 5000, b"1" * 5000, b'{"text_id": ' + b"9" * 400 + b"}", b"\xff\xfe", b"\r", b""]),
)
files = st.lists(lines, max_size=12).map(lambda ls: b"\n".join(ls)) | st.binary(max_size=300)


def _only_ours(call) -> None:
    try:
        call()
    except ZeroBenchError as exc:
        assert "\n" not in str(exc), str(exc)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A data folder with three images for the readers to find."""
    base = tmp_path_factory.mktemp("props")
    images = base / "images"
    images.mkdir()
    for i in range(3):
        Image.new("RGB", (4, 4), (i * 80, 0, 0)).save(images / f"img{i}.jpg")
    return base


@SETTINGS
@given(data=files | st.lists(shaped_records.map(_json_line), min_size=1, max_size=5).map(lambda ls: b"\n".join(ls)))
def test_official_readers(folder, data):
    from zero_bench.formats.official import read_flickr30k_cna, read_itm_jsonl, read_itr_jsonl

    path = folder / "annotation.json"
    path.write_bytes(data)
    for reader in (read_itr_jsonl, read_itm_jsonl, read_flickr30k_cna):
        _only_ours(lambda r=reader: r(path, folder / "images", task="t", split="s", sha256="0" * 64))


@SETTINGS
@given(
    texts=files, tsv=st.lists(st.binary(max_size=30) | st.sampled_from([b"0\taGVsbG8=", b"1\t!!", b"x\ty"]), max_size=5)
)
def test_cn_clip_reader(folder, texts, tsv):
    from zero_bench.formats.cn_clip import read_cn_clip

    (folder / "texts.jsonl").write_bytes(texts)
    (folder / "imgs.tsv").write_bytes(b"\n".join(tsv))
    _only_ours(lambda: read_cn_clip(folder / "texts.jsonl", folder / "imgs.tsv", task="t", split="s", sha256="0"))


@SETTINGS
@given(texts=st.lists(shaped_records.map(_json_line), min_size=1, max_size=5).map(lambda ls: b"\n".join(ls)))
def test_cn_clip_texts_against_a_valid_gallery(folder, texts):
    from zero_bench.formats.cn_clip import read_cn_clip

    (folder / "texts2.jsonl").write_bytes(texts)
    (folder / "imgs2.tsv").write_bytes(b"0\taGVsbG8=\n1\taGVsbG8=\n")
    _only_ours(lambda: read_cn_clip(folder / "texts2.jsonl", folder / "imgs2.tsv", task="t", split="s", sha256="0"))


@SETTINGS
@given(data=files)
def test_line_readers(folder, data):
    from zero_bench.formats.jsonl import read_json_lines, read_lines

    path = folder / "lines.txt"
    path.write_bytes(data)
    _only_ours(lambda: list(read_lines(path)))
    _only_ours(lambda: list(read_json_lines(path, ("text",))))


@SETTINGS
@given(data=files | json_values.map(lambda v: json.dumps({"entries": v}).encode()))
def test_lock_file_reader(folder, data):
    from zero_bench.data.lock import LOCK_NAME, LockFile

    (folder / LOCK_NAME).write_bytes(data)
    _only_ours(lambda: LockFile.load(folder))


@SETTINGS
@given(data=files | json_values.map(lambda v: json.dumps(v, allow_nan=True).encode()))
def test_submission_readers(folder, data):
    from zero_bench.leaderboard.submit import _parse, read_model_file

    path = folder / "submission.json"
    path.write_bytes(data)
    _only_ours(lambda: read_model_file(path))
    _only_ours(lambda: _parse(path, None))


@SETTINGS
@given(data=files)
def test_stats_reader_never_raises(folder, data):
    from zero_bench.data.fetch import read_stats_file

    path = folder / "00000_stats.json"
    path.write_bytes(data)
    read_stats_file(path)


@SETTINGS
@given(data=st.binary(max_size=400), kind=st.sampled_from([".zip", ".tar", ".tar.gz", ".tar.xz"]))
def test_archive_reader(folder, data, kind):
    from zero_bench.data.sources import safe_unpack

    archive = folder / f"random{kind}"
    archive.write_bytes(data)
    _only_ours(lambda: safe_unpack(archive, folder / "unpacked"))


@SETTINGS
@given(members=st.lists(st.tuples(st.text(min_size=1, max_size=12), st.binary(max_size=20)), max_size=4))
def test_archive_member_names(folder, members):
    from zero_bench.data.sources import safe_unpack

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, payload in members:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    archive = folder / "members.tar.gz"
    archive.write_bytes(buffer.getvalue())
    target = folder / "members-out"
    _only_ours(lambda: safe_unpack(archive, target))
    for path in target.rglob("*") if target.exists() else []:
        assert path.resolve().is_relative_to(target.resolve())
    zip_buffer = io.BytesIO()
    with zipfile.ZipFile(zip_buffer, "w") as zf:
        for name, payload in members:
            if "\x00" not in name:  # zipfile itself cannot write such a name
                zf.writestr(name, payload)
    (folder / "members.zip").write_bytes(zip_buffer.getvalue())
    _only_ours(lambda: safe_unpack(folder / "members.zip", folder / "zip-out"))


@pytest.fixture(scope="module")
def split_data():
    from zero_bench.formats.canonical import ImageItem, MatchingData, RetrievalData

    images = [ImageItem(key=f"img{i}", path=Path(f"img{i}.jpg")) for i in range(3)]
    retrieval = RetrievalData(
        task="icr",
        split="val",
        annotation_sha256="0" * 64,
        images=images,
        image_ids=np.arange(3),
        texts=["a", "b", "c", "d"],
        text_ids=np.arange(4),
        gold=np.array([[0, 0], [1, 1], [2, 2], [3, 0]]),
    )
    matching = MatchingData(
        task="icm",
        split="val",
        annotation_sha256="0" * 64,
        images=images,
        image_ids=np.arange(3),
        texts=["a", "b", "c"],
        pair_image=np.array([0, 1, 2]),
        labels=np.array([0, 1, 0]),
        pair_ids=np.arange(3),
    )
    return retrieval, matching


prediction_records = st.one_of(
    st.fixed_dictionaries(
        {
            "text_id": json_values | st.integers(-2, 5),
            "image_ids": st.lists(st.integers(-1, 4), max_size=4) | json_values,
        }
    ),
    st.fixed_dictionaries(
        {
            "image_id": json_values | st.integers(-2, 4),
            "text_ids": st.lists(st.integers(-1, 5), max_size=4) | json_values,
        }
    ),
    st.fixed_dictionaries({"pair_id": json_values | st.integers(-2, 4), "score": json_values | st.floats()}),
    json_values,
)
prediction_files = st.lists(prediction_records.map(_json_line) | lines, max_size=10).map(lambda ls: b"\n".join(ls))


@SETTINGS
@given(data=prediction_files)
def test_predictions_parser(folder, split_data, data):
    from zero_bench.predictions import read_matching_predictions, read_retrieval_predictions
    from zero_bench.taskspec import get_task

    retrieval, matching = split_data
    path = folder / "predictions.jsonl"
    path.write_bytes(data)
    _only_ours(lambda: read_retrieval_predictions(path, retrieval, get_task("icr")))
    _only_ours(lambda: read_retrieval_predictions(path, retrieval, get_task("muge")))
    _only_ours(lambda: read_matching_predictions(path, matching))
