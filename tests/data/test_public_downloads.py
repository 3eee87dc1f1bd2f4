"""The public retrieval sets' downloads, offline: Flickr30k-CN and MUGE from a loopback stand-in for the Hugging Face
Hub (HEAD with the commit / sha256 / size headers huggingface_hub reads, GET with Range), COCO-CN from a stand-in of
AIMClab-RUC/COCO-CN plus a stand-in of images.cocodataset.org, or from a local folder.  Exact files, lock pins, a
download killed with SIGKILL and run again, a cut transfer, a wrong published checksum, a changed re-download."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from tests.data.imageserver import make_jpeg
from tests.data.loopback import Loopback
from zero_bench.data.lock import LOCK_NAME, LockFile
from zero_bench.data.public_sets import install_cnclip_archive, install_coco_cn, installer, select_coco_splits
from zero_bench.data.registry import REGISTRY
from zero_bench.data.tasks import verify_dataset
from zero_bench.errors import ZeroBenchError
from zero_bench.formats import load_split
from zero_bench.taskspec import get_task

CNCLIP = "OFA-Sys/chinese-clip-eval"
COCOCN = "AIMClab-RUC/COCO-CN"
COMMIT = "fedcba9876543210fedcba9876543210fedcba98"
LAYOUT = [f"{s}_{k}" for s in ("train", "valid", "test") for k in ("texts.jsonl", "imgs.tsv")]


# ---- data built in the tests -----------------------------------------------------------------------------------


def cnclip_zip(folder: str, seed: int = 0, filler: int = 0, caption: str = "一只狗") -> bytes:
    """Chinese-CLIP's archive: <folder>/{split}_texts.jsonl + {split}_imgs.tsv, plus an lmdb/ folder (``filler``
    random bytes) that is not installed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for k, split in enumerate(("train", "valid", "test")):
            ids = [1000 + 10 * k + i for i in range(3)]
            tsv = "".join(f"{i}\t{base64.b64encode(make_jpeg(seed + i)).decode()}\n" for i in ids)
            texts = "".join(
                json.dumps({"text_id": t, "text": f"{caption}{t}", "image_ids": [ids[t % 3]]}, ensure_ascii=False)
                + "\n"
                for t in range(4)
            )
            zf.writestr(f"{folder}/{split}_imgs.tsv", tsv)
            zf.writestr(f"{folder}/{split}_texts.jsonl", texts)
        zf.writestr(f"{folder}/lmdb/valid/imgs/data.mdb", os.urandom(filler or 1000))
    return buf.getvalue()


def coco_name(subset: str, image_id: int) -> str:
    return f"COCO_{subset}_{image_id:012d}"


SPLITS = {
    "train": [coco_name("train2014", 9), coco_name("train2014", 10)],
    "val": [coco_name("val2014", 21), coco_name("train2014", 22)],
    "test": [coco_name("val2014", 42), coco_name("train2014", 7), coco_name("val2014", 5)],
}
# (image, sentence) in caption-file order; image 5 has two sentences, image 22 none
SENTENCES = [
    (coco_name("train2014", 9), "草地上的狗"),
    (coco_name("val2014", 42), "一个人在骑自行车"),
    (coco_name("val2014", 5), "桌上有两个苹果"),
    (coco_name("train2014", 7), "海边的日落"),
    (coco_name("val2014", 5), "红色的苹果放在桌子上"),
    (coco_name("train2014", 10), "街上的公共汽车"),
    (coco_name("val2014", 21), "一只猫睡在沙发上"),
]
ALL_IMAGES = sorted({n for names in SPLITS.values() for n in names})


def image_bytes(name: str) -> bytes:
    return make_jpeg(int(name.rsplit("_", 1)[1]))


def coco_cn_tar() -> bytes:
    root = "coco-cn-version1805v1.1"
    files = {f"coco-cn_{s}.txt": "".join(f"{n}\n" for n in names) for s, names in SPLITS.items()}
    counts: dict[str, int] = {}
    lines = []
    for name, text in SENTENCES:
        lines.append(f"{name}#{counts.get(name, 0)}\t{text}\n")
        counts[name] = counts.get(name, 0) + 1
    files["imageid.human-written-caption.txt"] = "".join(lines)
    files["imageid.manually-translated-caption.txt"] = f"{SENTENCES[1][0]}#0\t有人骑车\n"
    files["imageid.human-written-tags.txt"] = f"{SENTENCES[0][0]} 狗 草地\n"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ---- the loopback stand-ins ------------------------------------------------------------------------------------


class Server(Loopback):
    """127.0.0.1 only.  Hub: HEAD/GET /datasets/<org>/<name>/resolve/<rev>/<file> (``hub[(repo, file)]``) with
    X-Repo-Commit, X-Linked-Etag (the sha256, or ``published_sha``), X-Linked-Size and Range; COCO images: GET
    /coco/<subset>/<name>.jpg (``coco``; ``missing`` answers 404).  ``stall``: path part -> bytes after which a GET
    of a path containing it stops sending until ``release`` is set; ``cut_once``: the next GET stops halfway."""

    def __init__(self) -> None:
        self.hub: dict[tuple[str, str], bytes] = {}
        self.coco: dict[str, bytes] = {}
        self.missing: set[str] = set()
        self.published_sha: str | None = None
        self.stall: dict[str, int] = {}
        self.release = threading.Event()
        self.cut_once = False
        self.ranges: list[str] = []
        self.gets: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _body(self) -> tuple[bytes | None, dict[str, str]]:
                parts = self.path.split("?")[0].strip("/").split("/")
                if parts[:1] == ["coco"] and len(parts) == 3:
                    name = parts[2].removesuffix(".jpg")
                    return (None if name in server.missing else server.coco.get(name)), {}
                if parts[:1] == ["datasets"] and parts[3:4] == ["resolve"] and parts[5:]:
                    data = server.hub.get((f"{parts[1]}/{parts[2]}", "/".join(parts[5:])))
                    if data is None or parts[4] not in ("main", COMMIT):
                        return None, {"X-Error-Code": "EntryNotFound"}
                    sha = server.published_sha or hashlib.sha256(data).hexdigest()
                    return data, {"X-Repo-Commit": COMMIT, "X-Linked-Etag": f'"{sha}"', "ETag": f'"{sha}"'}
                return None, {}

            def _answer(self, head: bool) -> None:
                data, headers = self._body()
                if not head:
                    server.gets.append(self.path)
                if data is None:
                    self.send_response(404)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start, rng = 0, self.headers.get("Range")
                if rng:
                    server.ranges.append(rng)
                    start = int(rng.split("=")[1].split("-")[0])
                body = data[start:]
                self.send_response(206 if rng else 200)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "X-Repo-Commit" in headers:
                    self.send_header("X-Linked-Size", str(len(data)))
                if rng:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if head:
                    return
                stall = next((n for key, n in server.stall.items() if key in self.path), None)
                cut = server.cut_once
                server.cut_once = False
                try:
                    if cut:
                        self.wfile.write(body[: len(body) // 2])
                        self.close_connection = True
                    elif stall is not None:
                        self.wfile.write(body[:stall])
                        self.wfile.flush()
                        server.release.wait(30)
                        self.close_connection = True
                    else:
                        self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_HEAD(self) -> None:
                self._answer(head=True)

            def do_GET(self) -> None:
                self._answer(head=False)

        self.serve(Handler)

    def stop(self) -> None:
        self.release.set()
        super().stop()


MUGE_ZIP = cnclip_zip("MUGE")
FLICKR_ZIP = cnclip_zip("Flickr30k-CN", seed=20)


@pytest.fixture()
def server() -> Iterator[Server]:
    srv = Server()
    srv.hub[(CNCLIP, "MUGE.zip")] = MUGE_ZIP
    srv.hub[(CNCLIP, "Flickr30k-CN.zip")] = FLICKR_ZIP
    srv.hub[(COCOCN, "coco-cn-version1805v1.1.tar.gz")] = coco_cn_tar()
    srv.coco.update({name: image_bytes(name) for name in ALL_IMAGES})
    yield srv
    srv.stop()


def quiet(*args: object) -> None:
    pass


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _without_times(lock: bytes) -> object:
    """A lock file's content with every "recorded" time left out."""

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "recorded"}
        return [strip(v) for v in node] if isinstance(node, list) else node

    return strip(json.loads(lock))


def _zip_files(data: bytes, folder: str) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {rel: zf.read(f"{folder}/{rel}") for rel in LAYOUT}


def _env(server: Server) -> dict[str, str]:
    return {
        **os.environ,
        "HF_ENDPOINT": server.base,
        "HF_HUB_OFFLINE": "0",
        "ZERO_BENCH_COCO_IMAGES_URL": f"{server.base}/coco",
    }


def _download_process(server: Server, name: str, root: Path) -> subprocess.Popen:
    """``zero-bench download NAME`` in a process of its own (the installer without the CLI's start-up time)."""
    code = (
        "import sys\n"
        "from zero_bench.data.tasks import install_task_dataset\n"
        "install_task_dataset(sys.argv[1], None, root=sys.argv[2], echo=lambda *a: None)\n"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, name, str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=_env(server),
    )


def _cli(server: Server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zero_bench.cli.app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(server),
    )


# ---- registry --------------------------------------------------------------------------------------------------


def test_registry_entries_name_their_sources():
    for name, archive in (("flickr30k-cn", "Flickr30k-CN.zip"), ("muge", "MUGE.zip")):
        entry = REGISTRY[name]
        assert entry.scripted and entry.extra == {"hub": f"hf://datasets/{CNCLIP}", "archive": archive}
        assert f"zero-bench download {name}" in entry.manual_text() and "links in" not in entry.manual_text()
        assert installer(name, None) is not None and installer(name, "/some/folder") is None
    coco = REGISTRY["coco-cn"]
    assert coco.scripted and coco.extra["hub"] == f"hf://datasets/{COCOCN}" and "e-mail" not in coco.manual_text()
    assert installer("coco-cn", str(Path(__file__).parent)) is not None and installer("icr", None) is None
    assert select_coco_splits(None) == ["valid", "test"]
    assert select_coco_splits(["test,val", "train"]) == ["test", "valid", "train"]
    assert select_coco_splits(["all"]) == ["train", "valid", "test"]
    with pytest.raises(ZeroBenchError, match="not a COCO-CN split"):
        select_coco_splits(["dev"])


# ---- Flickr30k-CN, MUGE ----------------------------------------------------------------------------------------


def test_muge_from_the_hub_exact_files_and_pins(server, online, tmp_path):
    report = install_cnclip_archive("muge", None, tmp_path, endpoint=server.base, echo=quiet)
    target = tmp_path / "MUGE"
    assert _files(target) == {**_zip_files(MUGE_ZIP, "MUGE"), LOCK_NAME: (target / LOCK_NAME).read_bytes()}
    assert sorted(report.installed) == sorted(LAYOUT) and not report.missing
    lock = LockFile.load(target)
    pins = lock.files("muge")
    assert set(pins) == set(LAYOUT)
    assert pins["valid_imgs.tsv"].sha256 == hashlib.sha256((target / "valid_imgs.tsv").read_bytes()).hexdigest()
    source = lock.entries["muge"].source or ""
    assert (
        source.startswith(f"hf://datasets/{CNCLIP}@{COMMIT}/MUGE.zip")
        and hashlib.sha256(MUGE_ZIP).hexdigest() in source
    )
    assert not (tmp_path / ".muge.work").exists()  # the archive is not kept
    assert verify_dataset("muge", tmp_path).clean
    data = load_split(get_task("muge"), target, "valid")
    assert data.texts[0] == "一只狗0" and len(data.images) == 3

    before = len(server.gets)  # a second run finds it installed and fetches nothing
    install_cnclip_archive("muge", None, tmp_path, endpoint=server.base, echo=quiet)
    assert len(server.gets) == before


def test_flickr30k_cn_then_a_changed_archive_is_refused_in_one_line(server, online, tmp_path):
    install_cnclip_archive("flickr30k-cn", None, tmp_path, endpoint=server.base, echo=quiet)
    target = tmp_path / "Flickr30k-CN"
    before = _files(target)
    assert {k: v for k, v in before.items() if k != LOCK_NAME} == _zip_files(FLICKR_ZIP, "Flickr30k-CN")

    # the Hub now serves different bytes (with their own, correct sha256): the pins refuse them
    server.hub[(CNCLIP, "Flickr30k-CN.zip")] = cnclip_zip("Flickr30k-CN", seed=20, caption="两只猫")
    out = _cli(server, "download", "flickr30k-cn", "--from", f"hf://datasets/{CNCLIP}", "--root", str(tmp_path))
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "texts.jsonl: checksum" in lines[0] and "first download" in lines[0], out.stderr
    assert _files(target) == before
    assert not (tmp_path / ".flickr30k-cn.work").exists()


def test_archive_differing_from_the_published_sha256_installs_nothing(server, online, tmp_path):
    server.published_sha = "0" * 64
    with pytest.raises(ZeroBenchError, match="does not match") as info:
        install_cnclip_archive("muge", None, tmp_path, endpoint=server.base, echo=quiet)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "MUGE").exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".zero-bench.busy"]


def test_a_cut_transfer_continues_from_the_byte_reached(server, online, tmp_path):
    server.cut_once = True
    install_cnclip_archive("muge", None, tmp_path, endpoint=server.base, echo=quiet)
    assert server.ranges == [f"bytes={len(MUGE_ZIP) // 2}-"]
    assert verify_dataset("muge", tmp_path).clean


def test_a_killed_download_resumes_where_it_stopped(server, online, tmp_path):
    big = cnclip_zip("MUGE", filler=3 << 20)
    server.hub[(CNCLIP, "MUGE.zip")] = big
    server.stall["MUGE.zip"] = 2 << 20  # 2 MB sent, then the server holds the connection
    proc = _download_process(server, "muge", tmp_path)
    try:
        deadline = time.monotonic() + 60
        parts: list[Path] = []
        while time.monotonic() < deadline and not any(p.stat().st_size >= 1 << 20 for p in parts):
            time.sleep(0.05)
            parts = list((tmp_path / ".muge.work").rglob(".MUGE.zip.part"))
        assert parts, "the download never started"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    kept = parts[0].stat().st_size
    assert 1 << 20 <= kept < len(big)
    server.stall.clear()
    server.release.set()
    install_cnclip_archive("muge", None, tmp_path, endpoint=server.base, echo=quiet)
    assert server.ranges[-1] == f"bytes={kept}-"  # continued, not started over
    assert _files(tmp_path / "MUGE").keys() == {*LAYOUT, LOCK_NAME}
    assert not (tmp_path / ".muge.work").exists()


# ---- COCO-CN ---------------------------------------------------------------------------------------------------


def _expected_split(split: str) -> tuple[str, str]:
    names = SPLITS[split]
    tsv = "".join(f"{int(n.rsplit('_', 1)[1])}\t{base64.b64encode(image_bytes(n)).decode()}\n" for n in names)
    texts = "".join(
        json.dumps({"text_id": line, "text": text, "image_ids": [int(name.rsplit("_", 1)[1])]}, ensure_ascii=False)
        + "\n"
        for line, (name, text) in enumerate(SENTENCES)
        if name in names
    )
    return tsv, texts


def test_coco_cn_built_from_the_hub_and_the_image_server(server, online, tmp_path):
    lines: list[str] = []
    install_coco_cn(None, tmp_path, endpoint=server.base, images_url=f"{server.base}/coco", echo=lines.append)
    target = tmp_path / "COCO-CN"
    files = _files(target)
    assert set(files) == {"test_imgs.tsv", "test_texts.jsonl", "valid_imgs.tsv", "valid_texts.jsonl", LOCK_NAME}
    for split, ours in (("test", "test"), ("val", "valid")):
        tsv, texts = _expected_split(split)
        assert files[f"{ours}_imgs.tsv"].decode() == tsv and files[f"{ours}_texts.jsonl"].decode() == texts
    assert any("test: 3 images, 4 human-written texts; Chinese-CLIP evaluates 1000 images / 1053" in x for x in lines)
    lock = LockFile.load(target)
    assert set(lock.files("coco-cn")) == {"test_imgs.tsv", "test_texts.jsonl", "valid_imgs.tsv", "valid_texts.jsonl"}
    source = lock.entries["coco-cn"].source or ""
    assert f"hf://datasets/{COCOCN}@{COMMIT}/coco-cn-version1805v1.1.tar.gz" in source and "/coco" in source
    assert not (tmp_path / ".coco-cn.work").exists()
    data = load_split(get_task("coco-cn"), target, "test")
    assert data.image_ids.tolist() == [42, 7, 5] and data.texts[1] == "桌上有两个苹果"
    assert data.gold.tolist() == [[0, 0], [1, 2], [2, 1], [3, 2]]
    assert len(server.gets) == 1 + 5  # the annotations and the five images, once each

    install_coco_cn(None, tmp_path, only=["train"], endpoint=server.base, images_url=f"{server.base}/coco", echo=quiet)
    tsv, texts = _expected_split("train")
    assert (target / "train_imgs.tsv").read_text() == tsv and (target / "train_texts.jsonl").read_text() == texts
    assert _files(target)["test_imgs.tsv"] == files["test_imgs.tsv"] and verify_dataset("coco-cn", tmp_path).clean
    before = len(server.gets)
    install_coco_cn(None, tmp_path, only=["all"], endpoint=server.base, images_url=f"{server.base}/coco", echo=quiet)
    assert len(server.gets) == before  # every split installed: nothing fetched


def test_coco_cn_a_failed_image_keeps_the_others_for_the_next_run(server, online, tmp_path):
    server.missing.add(coco_name("val2014", 5))
    with pytest.raises(ZeroBenchError, match="404") as info:
        install_coco_cn(None, tmp_path, endpoint=server.base, images_url=f"{server.base}/coco", echo=quiet, workers=1)
    assert "\n" not in str(info.value) and not (tmp_path / "COCO-CN").exists()
    kept = sorted(p.stem for p in (tmp_path / ".coco-cn.work" / "images").glob("*.jpg"))
    assert len(kept) == 4 and coco_name("val2014", 5) not in kept
    server.missing.clear()
    server.gets.clear()
    install_coco_cn(None, tmp_path, endpoint=server.base, images_url=f"{server.base}/coco", echo=quiet)
    assert [g for g in server.gets if g.startswith("/coco/")] == [f"/coco/val2014/{coco_name('val2014', 5)}.jpg"]
    assert (tmp_path / "COCO-CN" / "test_imgs.tsv").read_text() == _expected_split("test")[0]


def test_coco_cn_killed_while_fetching_images_resumes(server, online, tmp_path):
    slow = coco_name("val2014", 5)
    server.stall[slow] = 100  # that image never finishes while the first run lives
    proc = _download_process(server, "coco-cn", tmp_path)
    images = tmp_path / ".coco-cn.work" / "images"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list(images.glob("*.jpg"))) < 4:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert len(list(images.glob("*.jpg"))) == 4
    server.stall.clear()
    server.release.set()
    server.gets.clear()
    install_coco_cn(None, tmp_path, endpoint=server.base, images_url=f"{server.base}/coco", echo=quiet)
    fetched = [g for g in server.gets if g.startswith("/coco/")]
    assert fetched == [f"/coco/val2014/{slow}.jpg"]  # only the image the killed run did not finish
    assert (tmp_path / "COCO-CN" / "test_imgs.tsv").read_text() == _expected_split("test")[0]


def _local_source(tmp_path: Path, changed: str | None = None) -> Path:
    """A --from folder: the annotation tarball, val2014.zip, and train2014/ as loose files."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "coco-cn-version1805v1.1.tar.gz").write_bytes(coco_cn_tar())
    with zipfile.ZipFile(src / "val2014.zip", "w") as zf:
        for name in (n for n in ALL_IMAGES if "val2014" in n):
            zf.writestr(f"val2014/{name}.jpg", image_bytes(name) if name != changed else make_jpeg(999))
    (src / "train2014").mkdir(exist_ok=True)
    for name in (n for n in ALL_IMAGES if "train2014" in n):
        (src / "train2014" / f"{name}.jpg").write_bytes(image_bytes(name))
    return src


def test_coco_cn_from_a_local_folder_then_a_changed_image_is_refused(server, tmp_path):
    root = tmp_path / "root"
    install_coco_cn(str(_local_source(tmp_path)), root, only=["test"], echo=quiet)
    assert server.gets == []  # nothing fetched
    target = root / "COCO-CN"
    assert (target / "test_imgs.tsv").read_text() == _expected_split("test")[0]
    assert (target / "test_texts.jsonl").read_text() == _expected_split("test")[1]
    before = _files(target)

    src = _local_source(tmp_path, changed=coco_name("val2014", 42))
    out = _cli(server, "download", "coco-cn", "--from", str(src), "--only", "test", "--root", str(root))
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "test_imgs.tsv: checksum" in lines[0], out.stderr
    assert _files(target) == before and server.gets == []


def test_a_local_archive_takes_the_generic_route(tmp_path):
    from zero_bench.data.tasks import install_task_dataset

    archive = tmp_path / "MUGE.zip"
    archive.write_bytes(MUGE_ZIP)
    install_task_dataset("muge", str(archive), root=tmp_path / "root", echo=quiet)
    target = tmp_path / "root" / "MUGE"
    assert {k: v for k, v in _files(target).items() if k in LAYOUT} == _zip_files(MUGE_ZIP, "MUGE")
    assert set(LockFile.load(target).files("muge")) == set(LAYOUT)

    archive = tmp_path / "COCO-CN.zip"  # a copy in the Chinese-CLIP layout, not a folder to build from
    archive.write_bytes(cnclip_zip("COCO-CN"))
    assert installer("coco-cn", str(archive)) is None
    install_task_dataset("coco-cn", str(archive), root=tmp_path / "root", echo=quiet)
    assert set(LockFile.load(tmp_path / "root" / "COCO-CN").files("coco-cn")) == set(LAYOUT)


def test_a_killed_elevater_download_resumes_and_installs_the_same_files(server, online, tmp_path):
    """ELEVATER_all.zip through the same stand-in: a process killed mid-archive, then a run that continues from the
    byte kept and installs exactly what a clean run installs, pinned."""
    from tests.data.test_classification_downloads import outer_zip_bytes, set_zip_bytes
    from zero_bench.data.classification import install_elevater

    archive = outer_zip_bytes({"cifar-10": set_zip_bytes("cifar-10"), "mnist": set_zip_bytes("mnist")})
    with zipfile.ZipFile(io.BytesIO(archive)) as small, io.BytesIO() as buffer:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as big:  # 3 MB of filler between the two sets
            big.writestr("cifar-10.zip", small.read("cifar-10.zip"))
            big.writestr("filler.bin", os.urandom(3 << 20))
            big.writestr("mnist.zip", small.read("mnist.zip"))
        archive = buffer.getvalue()
    server.hub[(CNCLIP, "ELEVATER_all.zip")] = archive
    server.stall["ELEVATER_all.zip"] = 2 << 20
    proc = _download_process(server, "elevater-cn", tmp_path / "killed")
    try:
        deadline = time.monotonic() + 60
        parts: list[Path] = []
        while time.monotonic() < deadline and not any(p.stat().st_size >= 1 << 20 for p in parts):
            time.sleep(0.05)
            parts = list((tmp_path / "killed").rglob(".ELEVATER_all.zip.part"))
        assert parts, "the download never started"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    kept = parts[0].stat().st_size
    assert 1 << 20 <= kept < len(archive)
    server.stall.clear()
    server.release.set()
    install_elevater(None, tmp_path / "killed", endpoint=server.base, echo=quiet)
    assert server.ranges[-1] == f"bytes={kept}-"  # continued, not started over
    install_elevater(None, tmp_path / "clean", endpoint=server.base, echo=quiet)
    for name in ("cifar-10", "mnist"):
        resumed = _files(tmp_path / "killed" / "elevater-cn" / name)
        clean = _files(tmp_path / "clean" / "elevater-cn" / name)
        assert LOCK_NAME in resumed
        # the lock's "recorded" times differ when the two installs straddle a second; the rest must be the same
        assert _without_times(resumed.pop(LOCK_NAME)) == _without_times(clean.pop(LOCK_NAME))
        assert resumed == clean
