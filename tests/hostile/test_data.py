"""Hostile data: annotation files, lock files, archives and ``--from`` folders; downloads run concurrently."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.hostile.hostile import cli, refused
from zero_bench.data.lock import BUSY_NAME, LOCK_NAME

ICR_VAL = "ICR/val/long_itr_val.json"
ICM_VAL = "ICM/val/long_itm_val.json"
IMAGES = "IQR_IQM_ICR_ICM_images"


def _score(task: str, data: Path, preds: Path) -> tuple[str, ...]:
    return ("score", "--task", task, "--data-dir", str(data), "--predictions", str(preds))


def _release(ccmb: Path, dest: Path) -> Path:
    """An ICR release folder (annotations and images) to install from."""
    for rel in (ICR_VAL, IMAGES):
        src = ccmb / rel
        if src.is_dir():
            shutil.copytree(src, dest / rel)
        else:
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest / rel)
    return dest


def _root(world: Path) -> Path:
    """An existing data root (the target of a download: a refusal leaves it as it was)."""
    root = world / "root"
    root.mkdir(exist_ok=True)
    return root


def _zip(path: Path, members: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def _release_members(ccmb: Path) -> list[tuple[str, bytes]]:
    files = [ccmb / ICR_VAL, *sorted((ccmb / IMAGES).iterdir())]
    return [(f"release/{p.relative_to(ccmb).as_posix()}", p.read_bytes()) for p in files]


# ---- defect 3: Flickr30k-CNA image ids are plain names ---------------------------------------------------------------


@pytest.mark.parametrize("image_id", ["../../x", "/abs/x", "..\\..\\x", "sub/x"])
def test_flickr_image_id_that_is_a_path_is_refused(world, image_id):
    data = world / "ccmb"
    (data / "test").mkdir(parents=True)
    (data / "Flickr30k-images").mkdir()
    (world / "x.jpg").write_bytes(b"an image outside the data folder")  # what ../../x.jpg would open
    (data / "test" / "flickr30k_cna_test.txt").write_text(f"{image_id}#0\t一只猫\n", encoding="utf-8")
    preds = world / "p.jsonl"
    preds.write_text("", encoding="utf-8")
    refused(world, *_score("flickr30k-cna", data, preds), names=("flickr30k_cna_test.txt:1", "not a plain file name"))


# ---- defect 4: every evaluation checks the pins, zero-toy and any --data-dir included -------------------------------


def test_edited_zero_toy_annotation_is_refused_by_score(world):
    from zero_bench.data.toy import ToySizes, generate_zero_toy

    old = os.umask(0o022)
    try:
        toy = generate_zero_toy(world / "root", corpus=False, sizes=ToySizes(itr_train=5, itm_train=6, itm_val=6))
    finally:
        os.umask(old)
    assert oct((toy / "ccmb").stat().st_mode & 0o777) == "0o755"  # defect 11: folders follow the umask too
    annotation = toy / "ccmb" / ICR_VAL
    assert oct(annotation.stat().st_mode & 0o777) == "0o644"
    preds = world / "p.jsonl"
    preds.write_text("", encoding="utf-8")
    before = cli(*_score("icr", toy / "ccmb", preds))
    assert "checksum" not in before.err  # untouched: the predictions are what is wrong
    lines = annotation.read_text(encoding="utf-8").splitlines(keepends=True)
    annotation.write_text("".join(lines[1:] + lines[:1]), encoding="utf-8")  # reordered: other ids, other scores
    names = (str(annotation), "does not match", "recorded for zero-toy", LOCK_NAME)
    refused(world, *_score("icr", toy / "ccmb", preds), names=names)
    moved = world / "elsewhere"
    shutil.copytree(toy, moved / "zero-toy")  # the lock travels with the folder: still checked
    refused(world, *_score("icr", moved / "zero-toy" / "ccmb", preds), names=("does not match",))


# ---- defect 5: concurrent downloads into one root -----------------------------------------------------------------


def test_download_while_another_holds_the_root_is_refused(world, ccmb):
    from filelock import FileLock

    source = _release(ccmb, world / "release")
    root = world / "root"
    root.mkdir()
    with FileLock(str(root / BUSY_NAME)):
        refused(world, "download", "icr", "--from", source, "--root", root, names=(BUSY_NAME, "another zero-bench"))


def test_two_concurrent_downloads_leave_one_complete_install(world, ccmb):
    source = _release(ccmb, world / "release")
    root = world / "root"
    program = "from zero_bench.cli.app import main; main()"
    args = ["download", "icr", "--from", str(source), "--root", str(root)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", program, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outcomes = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in procs]
    assert any(code == 0 for code, _ in outcomes), outcomes
    for code, err in outcomes:
        assert code == 0 or (code == 2 and "another zero-bench process" in err and err.count("\n") == 1), err
    assert (root / "ccmb" / ICR_VAL).read_bytes() == (ccmb / ICR_VAL).read_bytes()
    assert not [p for p in root.rglob("*") if p.name.endswith((".tmp", ".work"))]
    assert cli("verify", "icr", "--root", root).code == 0


# ---- defect 7: one line naming the file for every malformed input ------------------------------------------------


def test_truncated_tar_gz_is_one_line_not_aborted(world, ccmb):
    archive = world / "release.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(_release(ccmb, world / "release"), arcname="release")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    refused(world, "download", "icr", "--from", archive, "--root", _root(world), names=(str(archive), "truncated"))


def test_lone_surrogate_in_annotation_text(world, ccmb, icr_preds):
    path = ccmb / ICR_VAL
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = json.dumps({"text": "bad \ud800 text", "image_path": "img0.jpg"})  # ensure_ascii: a \ud800 escape
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused(world, *_score("icr", ccmb, icr_preds), names=(f"{ICR_VAL}:3", "surrogate"))


def test_non_utf8_byte_names_line_and_column(world, ccmb, icr_preds):
    path = ccmb / ICR_VAL
    lines = path.read_bytes().split(b"\n")
    lines[299] = lines[299][:5] + b"\xff" + lines[299][5:]
    path.write_bytes(b"\n".join(lines))
    refused(world, *_score("icr", ccmb, icr_preds), names=(f"{ICR_VAL}:300", "not UTF-8", "byte 6 of the line"))


@pytest.mark.parametrize(
    "content,where",
    [
        ({"entries": []}, "entries"),
        ({"entries": {"icr": {"files": {ICR_VAL: {"sha256": 5}}}}}, "sha256"),
        ({"entries": {"icr": "x"}}, "entries.icr"),
        ([1, 2], "(top level)"),
    ],
    ids=["entries-list", "sha-int", "entry-str", "top-list"],
)
def test_lock_file_of_the_wrong_shape(world, ccmb, icr_preds, content, where):
    (ccmb / LOCK_NAME).write_text(json.dumps(content), encoding="utf-8")
    refused(world, *_score("icr", ccmb, icr_preds), names=(LOCK_NAME, "not a zero-bench lock file", where))


def test_matching_split_with_one_class(world, ccmb, icm_preds):
    path = ccmb / ICM_VAL
    rows = [json.loads(line) | {"label": 0} for line in path.read_text(encoding="utf-8").splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    refused(world, *_score("icm", ccmb, icm_preds), names=(ICM_VAL, "both labels"))


# ---- defect 8: resource guards ---------------------------------------------------------------------------------------


def test_zip_bomb_is_refused_before_writing(world, ccmb):
    members = [*_release_members(ccmb), (f"release/{IMAGES}/bomb.jpg", bytes(64 << 20))]
    archive = _zip(world / "bomb.zip", members)
    assert archive.stat().st_size < 1 << 20
    names = (str(archive), "bomb.jpg", "compression bomb")
    refused(world, "download", "icr", "--from", archive, "--root", _root(world), names=names)


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_zip_with_a_duplicate_member_is_refused(world, ccmb):
    members = _release_members(ccmb)
    members.append((f"release/{ICR_VAL}", b'{"text": "second copy", "image_path": "img0.jpg"}\n'))
    archive = _zip(world / "dup.zip", members)
    refused(world, "download", "icr", "--from", archive, "--root", _root(world), names=(str(archive), "twice"))


def test_from_folder_with_a_link_leaving_it_is_refused(world, ccmb):
    source = _release(ccmb, world / "release")
    secret = world / "secret.json"
    secret.write_text('{"text": "secret", "image_path": "img0.jpg"}\n', encoding="utf-8")
    (source / ICR_VAL).unlink()
    (source / ICR_VAL).symlink_to(secret)
    names = (str(source / ICR_VAL), "points outside")
    refused(world, "download", "icr", "--from", source, "--root", _root(world), names=names)


def test_a_huge_annotation_line_is_refused_by_its_length(world, ccmb, icr_preds):
    path = ccmb / ICR_VAL
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"text": "长" * (3 << 20), "image_path": "img0.jpg"}, ensure_ascii=False) + "\n")
    refused(world, *_score("icr", ccmb, icr_preds), names=(f"{ICR_VAL}:501", "longer than the limit"))


def test_score_refuses_a_predictions_file_over_the_cap(world, ccmb):
    from zero_bench.predictions import MAX_PREDICTIONS_BYTES

    preds = world / "huge.jsonl"
    with open(preds, "wb") as out:  # sparse: no disk used
        out.truncate(MAX_PREDICTIONS_BYTES + 1)
    refused(world, *_score("icr", ccmb, preds), names=(str(preds), "larger than the limit"))


# ---- cases that already passed: archive traversal ------------------------------------------------------------------


def _tar(path: Path, build) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        build(tf)
    return path


def _add(tf: tarfile.TarFile, name: str, data: bytes = b"x", **kw) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in kw.items():
        setattr(info, key, value)
    tf.addfile(info, io.BytesIO(data) if not kw else None)


@pytest.mark.parametrize(
    "kind,build,message",
    [
        ("zip", lambda: [("../evil.txt", b"x")], "'..'"),
        ("zip", lambda: [("/tmp/evil.txt", b"x")], "absolute path"),
        ("zip", lambda: [("C:/evil.txt", b"x")], "absolute path"),
        ("tar", lambda tf: _add(tf, "../../evil.txt"), "'..'"),
        ("tar", lambda tf: _add(tf, "/etc/evil"), "absolute path"),
        ("tar", lambda tf: _add(tf, "a/link", b"", type=tarfile.SYMTYPE, linkname="../../.."), "leaving the target"),
        ("tar", lambda tf: _add(tf, "a/hard", b"", type=tarfile.LNKTYPE, linkname="/etc/passwd"), "leaving the target"),
        ("tar", lambda tf: _add(tf, "dev", b"", type=tarfile.CHRTYPE), "device or FIFO"),
        ("tar", lambda tf: _add(tf, "fifo", b"", type=tarfile.FIFOTYPE), "device or FIFO"),
    ],
    ids=["zip-dotdot", "zip-abs", "zip-drive", "tar-dotdot", "tar-abs", "tar-symlink", "tar-hardlink", "dev", "fifo"],
)
def test_archive_traversal_is_refused(world, kind, build, message):
    archive = _zip(world / "evil.zip", build()) if kind == "zip" else _tar(world / "evil.tar.gz", build)
    refused(world, "download", "icr", "--from", archive, "--root", _root(world), names=(str(archive), message))
