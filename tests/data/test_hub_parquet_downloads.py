"""Crossmodal-3600 and xFlickr&CO in Chinese, offline: ``zero-bench download xm3600-zh`` / ``xflickrco-zh`` against a
loopback stand-in for the Hugging Face Hub (the tree listing and the resolve endpoint huggingface_hub talks to),
serving tiny parquet files built here with pyarrow in the Hub's layout; then the tasks evaluate end to end."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.data.loopback import Loopback
from zero_bench.data.hub_parquet import install_hub_parquet, is_split_shard
from zero_bench.data.lock import LOCK_NAME, LockFile
from zero_bench.data.registry import REGISTRY, XFLICKRCO_HUB, XM3600_HUB
from zero_bench.data.stats import task_stats
from zero_bench.data.tasks import install_task_dataset, verify_dataset
from zero_bench.errors import DataFormatError, ZeroBenchError
from zero_bench.evaluation.evaluator import evaluate
from zero_bench.formats import RetrievalData, load_split
from zero_bench.taskspec import get_task, suite_tasks
from zero_bench.testing import NAMES, ColourModel, colour_image

XM_REV = XM3600_HUB.split("@")[1]
XF_REV = XFLICKRCO_HUB.split("@")[1]


# ---- parquet files in the Hub's layout --------------------------------------------------------------------------


def _jpeg(index: int) -> bytes:
    buf = io.BytesIO()
    colour_image(index).save(buf, format="JPEG")
    return buf.getvalue()


def xm3600_shard(first: int, count: int, lang: str = "zh") -> bytes:
    """Rows like mteb/xm3600's: image_id, image_locale, captions (+ tokenized copies), image {bytes, path}."""
    ids = [f"{i:016x}" for i in range(first, first + count)]
    captions = [[f"一张{NAMES[i]}的图片", f"{NAMES[i]}色的东西"][: 1 + i % 2] for i in range(first, first + count)]
    table = pa.table(
        {
            "image_id": ids,
            "image_locale": ["en"] * count,
            "captions": captions,
            "captions_tokenized": captions,
            "captions_tokenized_lowercase": captions,
            "image": [{"bytes": _jpeg(i), "path": None} for i in range(first, first + count)],
        }
    )
    return _parquet(table)


def xflickrco_shard(count: int, pad: int = 0) -> bytes:
    """Rows like mteb/xflickrco's: sentences (one caption), id, image {bytes, path}; ``pad``: bytes of noise per
    row in one more column (a file big enough to be cut in the middle)."""
    columns = {
        "sentences": [f"一张{NAMES[i]}的照片" for i in range(count)],
        "id": [str(1000 + i) for i in range(count)],
        "image": [{"bytes": _jpeg(i), "path": None} for i in range(count)],
    }
    if pad:
        columns["pad"] = [os.urandom(pad) for _ in range(count)]
    return _parquet(pa.table(columns))


def _parquet(table: pa.Table) -> bytes:
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=2)  # several row groups: images are found by (group, row)
    return buf.getvalue()


# ---- the Hub stand-in ----------------------------------------------------------------------------------------------


class Hub(Loopback):
    """127.0.0.1 only.  GET /api/datasets/<org>/<name>/tree/<rev>: the file list (with the LFS sha256);
    HEAD/GET /datasets/<org>/<name>/resolve/<rev>/<path>: the bytes with the headers huggingface_hub reads, Range
    answered.  ``published_sha`` overrides the announced sha256; ``short_by`` cuts every body short; ``stall``
    sends half a body then waits (a process to be killed)."""

    def __init__(self) -> None:
        self.repos: dict[str, dict[str, bytes]] = {}
        self.published_sha: str | None = None
        self.short_by = 0
        self.stall = False
        self.ranges: list[str] = []
        self.fetched: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _send(self, code: int, body: bytes, headers: dict[str, str], head: bool = False) -> None:
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _commit(self, rev: str) -> str:
                return rev if len(rev) == 40 else "f" * 40

            def _tree(self, parts: list[str]) -> None:
                files = hub.repos.get("/".join(parts[2:4]), {})
                listing = [
                    {
                        "type": "file",
                        "path": path,
                        "size": len(data),
                        "oid": hashlib.sha1(data).hexdigest(),
                        "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134},
                    }
                    for path, data in sorted(files.items())
                ]
                self._send(200, json.dumps(listing).encode(), {"Content-Type": "application/json"})

            def _answer(self, head: bool) -> None:
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:2] == ["api", "datasets"] and parts[4:5] == ["tree"]:
                    return self._tree(parts)
                files = hub.repos.get("/".join(parts[1:3]), {}) if parts[:1] == ["datasets"] else {}
                path = "/".join(parts[5:])
                if parts[3:4] != ["resolve"] or path not in files:
                    return self._send(404, b"", {"X-Error-Code": "EntryNotFound"}, head)
                data = files[path]
                sha = hub.published_sha or hashlib.sha256(data).hexdigest()
                headers = {
                    "X-Repo-Commit": self._commit(parts[4]),
                    "X-Linked-Etag": f'"{sha}"',
                    "ETag": f'"{sha}"',
                    "X-Linked-Size": str(len(data)),
                    "Accept-Ranges": "bytes",
                }
                start = 0
                rng = self.headers.get("Range")
                if rng and not head:
                    hub.ranges.append(rng)
                    start = int(rng.split("=")[1].split("-")[0])
                    headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
                if not head:
                    hub.fetched.append(path)
                body = data[start:]
                self.send_response(206 if start else 200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if head:
                    return
                send = body[: len(body) - hub.short_by]
                try:
                    if hub.stall:
                        self.wfile.write(send[: len(send) // 2])
                        self.wfile.flush()
                        time.sleep(30)
                    self.wfile.write(send)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if hub.short_by or hub.stall:
                    self.close_connection = True

            def do_HEAD(self) -> None:
                self._answer(head=True)

            def do_GET(self) -> None:
                self._answer(head=False)

        self.serve(Handler)


XM_FILES = {
    "README.md": b"---\nlicense: cc-by-4.0\n---\n",
    "data/en-00000-of-00001.parquet": xm3600_shard(0, 3, "en"),
    "data/zh-00000-of-00002.parquet": xm3600_shard(0, 3),
    "data/zh-00001-of-00002.parquet": xm3600_shard(3, 2),
}
XF_FILES = {"data/de-00000-of-00001.parquet": xflickrco_shard(2), "data/zh-00000-of-00001.parquet": xflickrco_shard(5)}


@pytest.fixture()
def hub(monkeypatch) -> Iterator[Hub]:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # the session runs offline; this is the loopback
    server = Hub()
    server.repos = {"mteb/xm3600": dict(XM_FILES), "mteb/xflickrco": dict(XF_FILES)}
    yield server
    server.stop()


def _quiet(*args: object) -> None:
    pass


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---- the tests -------------------------------------------------------------------------------------------------


def test_registry_tasks_and_suite() -> None:
    assert {"xm3600-zh", "xflickrco-zh"} <= set(suite_tasks("public"))
    for name, hub_url, folder in (("xm3600-zh", XM3600_HUB, "XM3600"), ("xflickrco-zh", XFLICKRCO_HUB, "xFlickrCO")):
        entry = REGISTRY[name]
        assert entry.scripted and entry.folder == folder and entry.tasks == (name,)
        assert entry.extra == {"hub": hub_url, "hub_split": "zh"}
        spec = get_task(name)
        assert spec.format == "hf-parquet-retrieval" and spec.splits["test"].annotation == "zh"
    # the revisions MTEB's own tasks pin (the data MIEB scores)
    assert XM_REV == "536cd45bbfe53de9b08c0483bb4a76a4bd3673fa" and XF_REV == "4da629e05455d757306174cdc72f2edfe00b9027"
    assert is_split_shard("data/zh-00000-of-00001.parquet", "zh") and is_split_shard("zh/test.parquet", "zh")
    assert not is_split_shard("data/zh_x-0.parquet", "zh") and not is_split_shard("data/en-0.parquet", "zh")


def test_xm3600_download_pins_reads_and_evaluates(hub: Hub, tmp_path: Path) -> None:
    report = install_hub_parquet("xm3600-zh", None, tmp_path, endpoint=hub.base, echo=_quiet)
    target = tmp_path / "XM3600"
    assert sorted(_tree(target)) == [LOCK_NAME, "zh/zh-00000-of-00002.parquet", "zh/zh-00001-of-00002.parquet"]
    assert _tree(target)["zh/zh-00001-of-00002.parquet"] == XM_FILES["data/zh-00001-of-00002.parquet"]
    assert sorted(hub.fetched) == ["data/zh-00000-of-00002.parquet", "data/zh-00001-of-00002.parquet"]  # no en
    assert report.split_sizes == {"zh/zh-00000-of-00002.parquet": 3, "zh/zh-00001-of-00002.parquet": 2}
    lock = LockFile.load(target)
    assert lock.entries["xm3600-zh"].source == f"hf://datasets/mteb/xm3600@{XM_REV}"
    pins = lock.files("xm3600-zh")
    assert (
        pins["zh/zh-00000-of-00002.parquet"].sha256
        == hashlib.sha256(XM_FILES["data/zh-00000-of-00002.parquet"]).hexdigest()
    )
    assert not (tmp_path / ".xm3600-zh.work").exists()

    data = load_split(get_task("xm3600-zh"), target)
    assert isinstance(data, RetrievalData)
    assert data.num_images == 5 and data.num_texts == 7  # images 1 and 3 have two captions
    assert data.image_ids.tolist() == [0, 1, 2, 3, 4] and data.text_ids.tolist() == list(range(7))
    assert [item.key for item in data.images][:2] == ["0000000000000000", "0000000000000001"]
    assert data.texts[:3] == [f"一张{NAMES[0]}的图片", f"一张{NAMES[1]}的图片", f"{NAMES[1]}色的东西"]
    assert data.text_to_image().tolist() == [0, 1, 1, 2, 3, 3, 4]
    assert data.images[4].read_bytes() == _jpeg(4)  # shard 2, row group 0, row 1

    result = evaluate(ColourModel(), "xm3600-zh", data_dir=target, use_cache=False, device="cpu")
    assert result.task.split == "test" and result.metrics["r_mean"] == pytest.approx(100.0)
    assert result.num_queries == {"image_queries": 5, "text_queries": 7}
    assert verify_dataset("xm3600-zh", tmp_path).clean
    assert task_stats("xm3600-zh", tmp_path).rows == 7  # the captions of every shard

    hub.fetched.clear()  # installed: a second run fetches nothing
    install_task_dataset("xm3600-zh", None, tmp_path, echo=_quiet)
    assert hub.fetched == []


def test_xflickrco_from_the_cli_then_evaluated(hub: Hub, tmp_path: Path) -> None:
    env = {**os.environ, "HF_ENDPOINT": hub.base, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "zero_bench.cli.app", "download", "xflickrco-zh", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    target = tmp_path / "xFlickrCO"
    assert sorted(_tree(target)) == [LOCK_NAME, "zh/zh-00000-of-00001.parquet"]
    assert LockFile.load(target).entries["xflickrco-zh"].source == f"hf://datasets/mteb/xflickrco@{XF_REV}"
    data = load_split(get_task("xflickrco-zh"), target)
    assert isinstance(data, RetrievalData) and data.num_images == data.num_texts == 5
    assert [item.key for item in data.images] == ["1000", "1001", "1002", "1003", "1004"]
    result = evaluate(ColourModel(), "xflickrco-zh", data_dir=target, use_cache=False, device="cpu")
    assert result.metrics["txt_r1"] == result.metrics["img_r1"] == pytest.approx(100.0)


def test_a_changed_redownload_is_refused_and_changes_nothing(hub: Hub, tmp_path: Path) -> None:
    install_hub_parquet("xflickrco-zh", None, tmp_path, endpoint=hub.base, echo=_quiet)
    target = tmp_path / "xFlickrCO"
    before = _tree(target)
    hub.repos["mteb/xflickrco"]["data/zh-00000-of-00001.parquet"] = xflickrco_shard(4)  # the Hub copy changed
    with pytest.raises(ZeroBenchError, match="does not match") as info:
        install_hub_parquet("xflickrco-zh", XFLICKRCO_HUB, tmp_path, endpoint=hub.base, echo=_quiet)
    assert "\n" not in str(info.value)
    assert _tree(target) == before
    # the data gone, the pin kept: a fresh download of other bytes is refused too, and installs nothing
    (target / "zh" / "zh-00000-of-00001.parquet").unlink()
    with pytest.raises(ZeroBenchError, match="does not match"):
        install_hub_parquet("xflickrco-zh", None, tmp_path, endpoint=hub.base, echo=_quiet)
    assert not (target / "zh" / "zh-00000-of-00001.parquet").exists()


def test_a_file_differing_from_the_published_sha256_is_refused(hub: Hub, tmp_path: Path) -> None:
    hub.published_sha = "0" * 64
    with pytest.raises(ZeroBenchError):
        install_hub_parquet("xflickrco-zh", None, tmp_path, endpoint=hub.base, echo=_quiet)
    assert not (tmp_path / "xFlickrCO" / "zh").exists()


def test_a_truncated_download_installs_nothing(hub: Hub, tmp_path: Path) -> None:
    hub.short_by = 100
    with pytest.raises(ZeroBenchError):
        install_hub_parquet("xflickrco-zh", None, tmp_path, endpoint=hub.base, echo=_quiet)
    assert not (tmp_path / "xFlickrCO" / "zh").exists()
    assert not (tmp_path / "xFlickrCO" / LOCK_NAME).exists()


def test_a_killed_download_resumes(hub: Hub, tmp_path: Path) -> None:
    env = {**os.environ, "HF_ENDPOINT": hub.base, "HF_HUB_OFFLINE": "0", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    big = xflickrco_shard(5, pad=1 << 20)  # about 5 MB: the first half reaches the disk before the stall
    hub.repos["mteb/xflickrco"]["data/zh-00000-of-00001.parquet"] = big
    hub.stall = True
    proc = subprocess.Popen(
        [sys.executable, "-m", "zero_bench.cli.app", "download", "xflickrco-zh", "--root", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    part = tmp_path / ".xflickrco-zh.work" / "hub" / ".zh-00000-of-00001.parquet.part"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (part.is_file() and part.stat().st_size > 0):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    had = part.stat().st_size
    assert 0 < had < len(big)
    hub.stall = False
    install_hub_parquet("xflickrco-zh", None, tmp_path, endpoint=hub.base, echo=_quiet)
    assert f"bytes={had}-" in hub.ranges  # continued from where the killed run stopped
    target = tmp_path / "xFlickrCO"
    assert _tree(target)["zh/zh-00000-of-00001.parquet"] == big
    assert not (tmp_path / ".xflickrco-zh.work").exists()


def test_from_a_local_folder_offline(tmp_path: Path) -> None:
    source = tmp_path / "download" / "data"
    source.mkdir(parents=True)
    for name in ("zh-00000-of-00001.parquet", "de-00000-of-00001.parquet"):
        (source / name).write_bytes(XF_FILES[f"data/{name}"])
    install_hub_parquet("xflickrco-zh", str(tmp_path / "download"), tmp_path / "root", echo=_quiet)
    target = tmp_path / "root" / "xFlickrCO"
    assert sorted(_tree(target)) == [LOCK_NAME, "zh/zh-00000-of-00001.parquet"]
    assert LockFile.load(target).entries["xflickrco-zh"].source == str(tmp_path / "download")


def test_a_shard_without_the_caption_column_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "zh-00000-of-00001.parquet"
    table = pa.table({"id": ["1"], "image": [{"bytes": _jpeg(0), "path": None}]})
    pq.write_table(table, bad)
    with pytest.raises(DataFormatError, match="missing column"):
        install_hub_parquet("xflickrco-zh", str(bad), tmp_path / "root", echo=_quiet)
    assert not (tmp_path / "root" / "xFlickrCO" / "zh").exists()


def test_a_changed_installed_shard_is_refused_at_evaluation(hub: Hub, tmp_path: Path) -> None:
    install_hub_parquet("xflickrco-zh", None, tmp_path, endpoint=hub.base, echo=_quiet)
    shard = tmp_path / "xFlickrCO" / "zh" / "zh-00000-of-00001.parquet"
    shard.write_bytes(xflickrco_shard(4))
    with pytest.raises(ZeroBenchError, match="does not match"):
        load_split(get_task("xflickrco-zh"), tmp_path / "xFlickrCO")
    assert not verify_dataset("xflickrco-zh", tmp_path).clean
