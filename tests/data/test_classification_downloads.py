"""The classification downloads, offline: ELEVATER-CN from a loopback stand-in for the Hugging Face Hub (the resolve
endpoint huggingface_hub talks to, with range requests) or a local zip / folder, and ImageNet-CN's pinned
label_cn.txt from a loopback HTTP server (cut, resumed, wrong checksum) plus the val folder / tar + devkit routes."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.data.imageserver import make_jpeg
from tests.data.loopback import Loopback
from zero_bench.data.classification import install_elevater, install_imagenet, select_sets, verify_elevater
from zero_bench.data.lock import LOCK_NAME, LockFile
from zero_bench.data.registry import (
    IMAGENET_LABELS_SHA256,
    REGISTRY,
    MissingDataError,
    elevater_sets,
    get_entry,
    task_files,
)
from zero_bench.errors import ZeroBenchError

REPO_ID = "OFA-Sys/chinese-clip-eval"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SETS = [
    "cifar-10",
    "cifar-100",
    "caltech-101",
    "country211",
    "dtd",
    "eurosat_clip",
    "fer-2013",
    "fgvc-aircraft-2013b-variants102",
    "food-101",
    "gtsrb",
    "hateful-memes",
    "kitti-distance",
    "mnist",
    "oxford-flower-102",
    "oxford-iiit-pets",
    "patch-camelyon",
    "rendered-sst2",
    "resisc45_clip",
    "stanford-cars",
    "voc-2007-classification",
]
LABELS = "".join(f"类别{i}\n" for i in range(40)).encode()  # a stand-in for Chinese-CLIP's label_cn.txt


# ---- data built in the tests -----------------------------------------------------------------------------------


def set_zip_bytes(name: str, label_cn: str = "飞机\n汽车\n", seed: int = 0) -> bytes:
    """One set in Chinese-CLIP's layout: <name>/label_cn.txt, label.txt, test/0,1 and train/0,1 (two images each)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{name}/label_cn.txt", label_cn)
        zf.writestr(f"{name}/label.txt", "airplane\nautomobile\n")
        for split in ("test", "train"):
            for cls in (0, 1):
                for k in (0, 1):
                    zf.writestr(f"{name}/{split}/{cls}/{k:05d}.jpg", make_jpeg(seed + cls * 10 + k))
    return buf.getvalue()


def outer_zip_bytes(sets: dict[str, bytes]) -> bytes:
    """ELEVATER_all.zip: one <set>.zip per set (stored, as zips of jpegs barely compress)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("README.txt", "ELEVATER-CN test archive\n")
        for name, data in sets.items():
            zf.writestr(f"{name}.zip", data)
    return buf.getvalue()


ARCHIVE = outer_zip_bytes({"cifar-10": set_zip_bytes("cifar-10"), "dtd": set_zip_bytes("dtd", seed=50)})
# with a set of 400 KB of incompressible filler in the middle: what a remote read skips
BIG = outer_zip_bytes(
    {
        "cifar-10": set_zip_bytes("cifar-10"),
        "mnist": set_zip_bytes("mnist") + os.urandom(400_000),
        "dtd": set_zip_bytes("dtd", seed=50),
    }
)


# ---- the loopback servers --------------------------------------------------------------------------------------


class Server(Loopback):
    """127.0.0.1 only.  Hub stand-in: HEAD/GET /datasets/<repo>/resolve/<rev>/<file> with the headers
    huggingface_hub reads (X-Repo-Commit, X-Linked-Etag = the LFS sha256, X-Linked-Size) and Range support;
    ``published_sha`` overrides the sha256 it announces, ``short_by`` makes every answer that many bytes short.
    Plain files: GET /raw/<name>.  ``cut``: 'once' (the next answer stops halfway) or 'always' (every answer stops
    halfway and Range is ignored)."""

    def __init__(self) -> None:
        self.hub: dict[str, bytes] = {}
        self.raw: dict[str, bytes] = {}
        self.published_sha: str | None = None
        self.short_by = 0
        self.cut = ""
        self.ranges: list[str] = []
        self.bytes_sent = 0
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _body(self) -> tuple[bytes | None, dict[str, str]]:
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:1] == ["raw"] and parts[-1] in server.raw:
                    return server.raw[parts[-1]], {}
                if parts[:4] == ["datasets", *REPO_ID.split("/"), "resolve"] and parts[5:]:
                    data = server.hub.get("/".join(parts[5:]))
                    if data is None or parts[4] not in ("main", COMMIT):
                        return None, {"X-Error-Code": "EntryNotFound"}
                    sha = server.published_sha or hashlib.sha256(data).hexdigest()
                    return data, {"X-Repo-Commit": COMMIT, "X-Linked-Etag": f'"{sha}"', "ETag": f'"{sha}"'}
                return None, {}

            def _answer(self, head: bool) -> None:
                server.requests += 1
                data, headers = self._body()
                if data is None:
                    self.send_response(404)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                rng = self.headers.get("Range")
                start, end = 0, len(data) - 1
                if rng and server.cut != "always":
                    server.ranges.append(rng)
                    first, last = rng.split("=")[1].split("-")
                    start, end = int(first), min(int(last or end), end)
                body = data[start : end + 1]
                partial = bool(rng) and server.cut != "always"
                self.send_response(206 if partial else 200)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "X-Repo-Commit" in headers:
                    self.send_header("X-Linked-Size", str(len(data)))
                if partial:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                self.send_header("Accept-Ranges", "bytes")
                cut_now = server.cut in ("always", "once")
                if server.cut == "once":
                    server.cut = ""
                send = body[: len(body) // 2] if cut_now else body[: len(body) - server.short_by]
                length = len(body) if cut_now else len(send)
                self.send_header("Content-Length", str(length))
                self.end_headers()
                if head:
                    return
                try:
                    self.wfile.write(send)
                    self.wfile.flush()
                    server.bytes_sent += len(send)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if cut_now:
                    self.close_connection = True

            def do_HEAD(self) -> None:
                self._answer(head=True)

            def do_GET(self) -> None:
                self._answer(head=False)

        self.serve(Handler)


@pytest.fixture()
def server() -> Iterator[Server]:
    srv = Server()
    srv.hub["ELEVATER_all.zip"] = ARCHIVE
    srv.raw["label_cn.txt"] = LABELS
    yield srv
    srv.stop()


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zero_bench.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


# ---- ELEVATER-CN -----------------------------------------------------------------------------------------------


def test_the_twenty_sets_and_their_registry_entry():
    assert sorted(elevater_sets()) == sorted(SETS)
    entry = REGISTRY["elevater-cn"]
    assert entry.scripted and entry.folder == "elevater-cn" and len(entry.tasks) == 20
    assert {f.path for f in entry.files} == set(SETS) and all(f.folder for f in entry.files)
    assert select_sets(["cifar-10-cn,eurosat-clip", "resisc45_clip", "cifar-10"]) == [
        "cifar-10",
        "eurosat_clip",
        "resisc45_clip",
    ]
    with pytest.raises(ZeroBenchError, match="not an ELEVATER-CN set"):
        select_sets(["imagenet"])
    files = {f.path: f.folder for f in task_files("cifar-10-cn")}  # a classification task's files
    assert files == {"cifar-10/label_cn.txt": False, "cifar-10/train": True, "cifar-10/test": True}
    with pytest.raises(ZeroBenchError, match="zero-bench download elevater-cn --only cifar-10-cn"):
        get_entry("cifar-10-cn")


def test_hub_full_download_installs_pins_and_reads(server, online, tmp_path):
    report = install_elevater(None, tmp_path, endpoint=server.base, echo=lambda *a: None)
    target = tmp_path / "elevater-cn"
    assert report.installed == ["cifar-10/", "dtd/"]
    assert len(report.missing) == 18 and "mnist/" in report.missing  # not in the stand-in's archive
    for name in ("cifar-10", "dtd"):
        lock = LockFile.load(target / name)
        pins = lock.files("elevater-cn")
        assert set(pins) == set(_files(target / name)) - {LOCK_NAME}
        assert len(pins) == 10 and "test/1/00001.jpg" in pins
        source = lock.entries["elevater-cn"].source or ""
        assert COMMIT in source and hashlib.sha256(ARCHIVE).hexdigest() in source and f"#{name}.zip" in source
    assert (target / "cifar-10" / "label_cn.txt").read_text(encoding="utf-8") == "飞机\n汽车\n"
    assert not (tmp_path / ".elevater-cn.work").exists()  # the 37 GB archive is not kept
    assert verify_elevater(tmp_path).clean

    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task

    data = load_split(get_task("cifar-10-cn"), target, "test")
    assert data.class_names == ["飞机", "汽车"] and data.labels.tolist() == [0, 0, 1, 1]

    before = server.requests  # a second run finds both sets installed and asks the Hub nothing
    install_elevater(None, tmp_path, only=["cifar-10", "dtd"], endpoint=server.base, echo=lambda *a: None)
    assert server.requests == before


@pytest.fixture()
def small_windows(monkeypatch):
    """Remote reads in 16 KB requests, so that what travels is what is read (not the tail the socket buffers)."""
    from zero_bench.data.sources import RemoteFile

    monkeypatch.setattr(RemoteFile, "window", 16 << 10)


def test_hub_subset_is_read_with_range_requests(server, online, small_windows, tmp_path):
    server.hub["ELEVATER_all.zip"] = BIG
    install_elevater(None, tmp_path, only=["dtd-cn", "cifar-10"], endpoint=server.base, echo=lambda *a: None)
    assert sorted(p.name for p in (tmp_path / "elevater-cn").iterdir()) == ["cifar-10", "dtd"]
    assert server.ranges and server.bytes_sent < 100_000 < len(BIG)  # the mnist member never travelled
    assert not (tmp_path / ".elevater-cn.work").exists()


def test_from_an_http_url_reads_only_what_it_needs_and_survives_a_cut(server, small_windows, tmp_path):
    server.raw["ELEVATER_all.zip"] = BIG
    server.raw["dtd.zip"] = set_zip_bytes("dtd", seed=50)
    server.cut = "once"  # the first answer (the archive's end) stops halfway: retried from the byte reached
    install_elevater(f"{server.base}/raw/ELEVATER_all.zip", tmp_path, only=["cifar-10"], echo=lambda *a: None)
    assert server.cut == "" and server.bytes_sent < 100_000 < len(BIG)
    install_elevater(f"{server.base}/raw/dtd.zip", tmp_path, echo=lambda *a: None)  # one set's zip, member by member
    assert sorted(p.name for p in (tmp_path / "elevater-cn").iterdir()) == ["cifar-10", "dtd"]
    assert verify_elevater(tmp_path).clean


def test_hub_truncated_download_installs_nothing(server, online, tmp_path):
    server.short_by = 1000
    with pytest.raises(ZeroBenchError, match="does not match the pinned") as info:
        install_elevater(None, tmp_path, endpoint=server.base, echo=lambda *a: None)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "elevater-cn").exists()
    assert not list(tmp_path.rglob("*.zip")) and not list(tmp_path.rglob("*.incomplete"))


def test_hub_archive_differing_from_the_published_sha256_is_removed(server, online, tmp_path):
    server.published_sha = "0" * 64
    with pytest.raises(ZeroBenchError, match="does not match the pinned 000000000000") as info:
        install_elevater(None, tmp_path, endpoint=server.base, echo=lambda *a: None)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "elevater-cn").exists() and not (tmp_path / ".elevater-cn.work").exists()


def test_from_local_zip_single_set_zip_and_folder(tmp_path):
    archive = tmp_path / "ELEVATER_all.zip"
    archive.write_bytes(ARCHIVE)
    root = tmp_path / "root"
    report = install_elevater(str(archive), root, only=["cifar-10"], echo=lambda *a: None)
    assert report.installed == ["cifar-10/"] and not (root / "elevater-cn" / "dtd").exists()
    assert archive.read_bytes() == ARCHIVE  # the source is never touched

    single = tmp_path / "dtd.zip"  # one set's zip, as the Hub also serves some
    single.write_bytes(set_zip_bytes("dtd", seed=50))
    install_elevater(str(single), root, echo=lambda *a: None)
    assert _files(root / "elevater-cn" / "dtd")["test/0/00000.jpg"] == make_jpeg(50)

    unpacked = tmp_path / "unpacked"  # an unpacked copy: re-installing the same bytes passes the pins
    with zipfile.ZipFile(io.BytesIO(set_zip_bytes("cifar-10"))) as zf:
        zf.extractall(unpacked)
    install_elevater(str(unpacked), root, echo=lambda *a: None)
    assert verify_elevater(root).clean and verify_elevater(root).checked == 20


def test_changed_set_on_redownload_is_refused_in_one_line(tmp_path):
    root = tmp_path / "root"
    first = tmp_path / "first" / "ELEVATER_all.zip"
    first.parent.mkdir()
    first.write_bytes(ARCHIVE)
    install_elevater(str(first), root, echo=lambda *a: None)
    before = _files(root / "elevater-cn")

    changed = tmp_path / "changed" / "ELEVATER_all.zip"
    changed.parent.mkdir()
    changed.write_bytes(outer_zip_bytes({"cifar-10": set_zip_bytes("cifar-10", label_cn="飞机\n卡车\n")}))
    out = _cli("download", "elevater-cn", "--from", str(changed), "--root", str(root))
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "label_cn.txt: checksum" in lines[0] and "nothing was changed" in lines[0]
    assert _files(root / "elevater-cn") == before
    assert not (root / ".elevater-cn.work").exists()


# ---- ImageNet-CN -----------------------------------------------------------------------------------------------


def _labels_sha() -> str:
    return hashlib.sha256(LABELS).hexdigest()


def test_imagenet_labels_fetched_and_pinned_then_manual_steps(server, tmp_path):
    url = f"{server.base}/raw/label_cn.txt"
    with pytest.raises(MissingDataError) as info:
        install_imagenet(None, tmp_path, labels_url=url, labels_sha256=_labels_sha(), echo=lambda *a: None)
    assert "image-net.org" in info.value.manual and "ILSVRC2012_img_val.tar" in info.value.manual
    label = tmp_path / "imagenet-cn" / "label_cn.txt"
    assert label.read_bytes() == LABELS
    assert LockFile.load(label.parent).files("imagenet-cn")["label_cn.txt"].sha256 == _labels_sha()
    assert not (tmp_path / ".imagenet-cn.work").exists()
    assert REGISTRY["imagenet-cn"].files[0].sha256 == IMAGENET_LABELS_SHA256


def test_imagenet_wrong_checksum_is_one_line_and_leaves_nothing(server, tmp_path):
    env = {"ZERO_BENCH_IMAGENET_LABELS_URL": f"{server.base}/raw/label_cn.txt"}  # the registry's pin stays
    out = _cli("download", "imagenet-cn", "--root", str(tmp_path), env=env)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "does not match the pinned f7b6f4bb0dde" in lines[0], out.stderr
    assert list(tmp_path.rglob("*")) == [] or {p.name for p in tmp_path.rglob("*")} <= {".zero-bench.busy"}


def test_imagenet_label_download_resumes_after_a_cut(server, tmp_path):
    server.cut = "once"
    url = f"{server.base}/raw/label_cn.txt"
    with pytest.raises(MissingDataError):
        install_imagenet(None, tmp_path, labels_url=url, labels_sha256=_labels_sha(), echo=lambda *a: None)
    assert (tmp_path / "imagenet-cn" / "label_cn.txt").read_bytes() == LABELS
    assert server.ranges == [f"bytes={len(LABELS) // 2}-"]  # the retry continued where the cut left off


def test_imagenet_label_download_continues_a_partial_file_of_an_earlier_run(server, tmp_path):
    part = tmp_path / ".imagenet-cn.work" / ".label_cn.txt.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(LABELS[:100])  # what a killed run left
    url = f"{server.base}/raw/label_cn.txt"
    with pytest.raises(MissingDataError):
        install_imagenet(None, tmp_path, labels_url=url, labels_sha256=_labels_sha(), echo=lambda *a: None)
    assert server.ranges == ["bytes=100-"]
    assert (tmp_path / "imagenet-cn" / "label_cn.txt").read_bytes() == LABELS
    assert not part.exists()


def test_imagenet_truncated_label_download_installs_nothing(server, tmp_path):
    server.cut = "always"
    url = f"{server.base}/raw/label_cn.txt"
    with pytest.raises(ZeroBenchError, match="truncated") as info:
        install_imagenet(None, tmp_path, labels_url=url, labels_sha256=_labels_sha(), echo=lambda *a: None)
    assert "\n" not in str(info.value) and "run again to resume" in str(info.value)
    assert not (tmp_path / "imagenet-cn" / "label_cn.txt").exists()


WNIDS = ("n01440764", "n01443537", "n01484850")


def test_imagenet_val_from_a_folder(server, tmp_path):
    src = tmp_path / "src" / "val"
    for c, wnid in enumerate(WNIDS):
        for k in range(2):
            (src / wnid).mkdir(parents=True, exist_ok=True)
            (src / wnid / f"ILSVRC2012_val_{c * 2 + k + 1:08d}.JPEG").write_bytes(make_jpeg(c * 2 + k))
    (src / WNIDS[0] / ".DS_Store").write_bytes(b"x")  # not an image: not installed
    url = f"{server.base}/raw/label_cn.txt"
    kwargs = dict(labels_url=url, labels_sha256=_labels_sha(), echo=lambda *a: None)
    with pytest.raises(ZeroBenchError, match="6 images in 3 wnid folders"):
        install_imagenet(str(src.parent), tmp_path / "root", classes=1000, images=50_000, **kwargs)
    report = install_imagenet(str(src.parent), tmp_path / "root", classes=3, images=6, **kwargs)
    val = tmp_path / "root" / "imagenet-cn" / "val"
    assert report.checked_images == 6 and sorted(p.name for p in val.iterdir()) == list(WNIDS)
    pins = LockFile.load(val.parent).files("imagenet-cn")
    assert len(pins) == 7 and f"val/{WNIDS[2]}/ILSVRC2012_val_00000006.JPEG" in pins


def test_imagenet_val_from_the_tar_and_devkit(server, tmp_path):
    import numpy as np

    scipy_io = pytest.importorskip("scipy.io")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    # meta.mat: ILSVRC2012 class ids 1-3 are the leaves (in a non-sorted wnid order), id 4 a parent synset
    synsets = np.zeros(4, dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O"), ("num_children", "O")])
    for i, (cid, wnid, kids) in enumerate([(1, WNIDS[2], 0), (2, WNIDS[0], 0), (3, WNIDS[1], 0), (4, "n00001740", 3)]):
        synsets[i] = (cid, wnid, kids)
    meta = io.BytesIO()
    scipy_io.savemat(meta, {"synsets": synsets})
    truth = [1, 2, 3, 1, 2, 3]  # image i -> ILSVRC2012 class id
    with tarfile.open(downloads / "ILSVRC2012_devkit_t12.tar.gz", "w:gz") as tf:
        for name, data in (("meta.mat", meta.getvalue()), ("ILSVRC2012_validation_ground_truth.txt", b"")):
            data = data or "".join(f"{t}\n" for t in truth).encode()
            info = tarfile.TarInfo(f"ILSVRC2012_devkit_t12/data/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    with tarfile.open(downloads / "ILSVRC2012_img_val.tar", "w") as tf:
        for i in range(6):
            data = make_jpeg(i)
            info = tarfile.TarInfo(f"ILSVRC2012_val_{i + 1:08d}.JPEG")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    url = f"{server.base}/raw/label_cn.txt"
    kwargs = dict(labels_url=url, labels_sha256=_labels_sha(), echo=lambda *a: None, classes=3, images=6)
    with pytest.raises(ZeroBenchError, match="MD5 differs"):  # the tiny stand-ins are not the published files
        install_imagenet(str(downloads), tmp_path / "root", **kwargs)
    install_imagenet(str(downloads), tmp_path / "root", archive_md5={}, **kwargs)
    val = tmp_path / "root" / "imagenet-cn" / "val"
    assert sorted(p.name for p in (val / WNIDS[2]).iterdir()) == [
        "ILSVRC2012_val_00000001.JPEG",
        "ILSVRC2012_val_00000004.JPEG",
    ]
    assert (val / WNIDS[0] / "ILSVRC2012_val_00000002.JPEG").read_bytes() == make_jpeg(1)
    assert json.loads((val.parent / LOCK_NAME).read_text())["entries"]["imagenet-cn"]["source"] == str(downloads)
