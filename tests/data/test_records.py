from __future__ import annotations

import gzip
import json

import pyarrow.parquet as pq

from zero_bench.data import records as R


def _rec(i, **kw):
    return {
        "ImageKey": f"k{i}",
        "ImageUrl": f"http://h.invalid/{i}.jpg",
        "Title": f"标题{i}",
        "Content": "c",
        "Keywords": ["猫", "狗"],
        "Url": "http://p.invalid/",
        "ImageQuery": "q",
    } | kw


def test_json_array_stream_recovers_from_a_broken_element(tmp_path, monkeypatch):
    monkeypatch.setattr(R, "_WINDOW", 600)  # records are ~150-200 chars: many buffer refills
    good = [json.dumps(_rec(i), ensure_ascii=False) for i in range(50)]
    text = "[\n" + ",\n".join(good[:20] + ['{"ImageKey": "broken", "ImageUrl": }'] + good[20:]) + "\n]"
    path = tmp_path / "a.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(text)
    items = list(R.iter_raw(path))
    assert sum(isinstance(x, json.JSONDecodeError) for x in items) == 1
    assert [x["ImageKey"] for x in items if isinstance(x, dict)] == [f"k{i}" for i in range(50)]


def test_malformed_records_are_skipped_and_counted(tmp_path):
    lines = [
        json.dumps(_rec(0)),
        "not json",
        json.dumps([1]),
        json.dumps(_rec(1, ImageUrl=None)),
        json.dumps(_rec(2, ImageKey="")),
        json.dumps(_rec(3, ImageUrl="file:///etc/passwd")),
        json.dumps(_rec(4, Title={"a": 1})),
        json.dumps(_rec(0)),
        "",
        json.dumps(_rec(5, ImageKey=77)),
    ]
    (tmp_path / "r.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with gzip.open(tmp_path / "t.jsonl.gz", "wb") as f:  # a truncated gzip member: counted, not fatal
        f.write((json.dumps(_rec(9)) + "\n").encode())
    blob = (tmp_path / "t.jsonl.gz").read_bytes()
    (tmp_path / "t.jsonl.gz").write_bytes(blob[: len(blob) - 6])
    stats = R.build_input_table(R.record_files(tmp_path), tmp_path / "in.parquet")
    assert stats.malformed == {
        "invalid_json": 1,
        "not_an_object": 1,
        "missing_ImageUrl": 1,
        "missing_ImageKey": 1,
        "bad_ImageUrl": 1,
        "bad_type_Title": 1,
        "duplicate_ImageKey": 1,
        "unreadable_file": 1,
    }
    table = pq.read_table(tmp_path / "in.parquet").to_pylist()
    assert [r["image_key"] for r in table] == ["k0", "77", "k9"]
    assert table[0]["keywords"] == "猫 狗" and [r["row"] for r in table] == [0, 1, 2]
