from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from zero_bench.data.sources import download_url, parse_hf_url, safe_unpack
from zero_bench.errors import ZeroBenchError


def _tar(path: Path, members: list[tuple[str, bytes | None, str | None]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data, link in members:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tf.addfile(info)
            else:
                info.size = len(data or b"")
                tf.addfile(info, io.BytesIO(data or b""))
    return path


@pytest.mark.parametrize("bad", ["../evil.txt", "a/../../evil.txt", "/etc/evil.txt"])
def test_tar_rejects_escaping_paths(tmp_path, bad):
    archive = _tar(tmp_path / "a.tar.gz", [("ok.txt", b"ok", None), (bad, b"x", None)])
    with pytest.raises(ZeroBenchError, match="refusing"):
        safe_unpack(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "ok.txt").exists()  # checked before anything is written
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("bad", ["../evil.txt", "/abs/evil.txt"])
def test_zip_rejects_escaping_paths(tmp_path, bad):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", "ok")
        zf.writestr(zipfile.ZipInfo(bad), "x")
    with pytest.raises(ZeroBenchError, match="refusing"):
        safe_unpack(archive, tmp_path / "out")
    assert not (tmp_path / "evil.txt").exists()


def test_tar_rejects_symlink_escaping(tmp_path):
    archive = _tar(tmp_path / "a.tar.gz", [("data/link", None, "../../outside")])
    with pytest.raises(ZeroBenchError, match="refusing link"):
        safe_unpack(archive, tmp_path / "out")


def test_safe_unpack_writes_normal_archive(tmp_path):
    archive = _tar(
        tmp_path / "a.tar.gz", [("top/ICR/val/x.json", b"{}\n", None), ("top/inner-link", None, "ICR/val/x.json")]
    )
    written = safe_unpack(archive, tmp_path / "out")
    assert (tmp_path / "out" / "top" / "ICR" / "val" / "x.json").read_bytes() == b"{}\n"
    assert len(written) == 2 and not (tmp_path / "out" / "top" / "inner-link").is_symlink()


def test_parse_hf_url():
    src = parse_hf_url("hf://datasets/someorg/ccmb-icr")
    assert (src.repo_type, src.repo_id, src.revision, src.subfolder) == ("dataset", "someorg/ccmb-icr", None, None)
    src = parse_hf_url("hf://datasets/org/name@v1.0/ICR/val")
    assert (src.repo_id, src.revision, src.subfolder) == ("org/name", "v1.0", "ICR/val")
    for bad in ("hf://org/name", "https://huggingface.co/datasets/a/b", "hf://datasets/onlyorg"):
        with pytest.raises(ZeroBenchError, match="not a Hub source"):
            parse_hf_url(bad)


def test_download_url_atomic(image_server, tmp_path):
    out = download_url(f"{image_server.base}/img/3.jpg", tmp_path / "x.jpg", show_progress=False)
    assert out.read_bytes() == image_server.jpeg(3)
    with pytest.raises(ZeroBenchError, match="404"):
        download_url(f"{image_server.base}/404/3", tmp_path / "y.jpg", show_progress=False)
    with pytest.raises(ZeroBenchError):  # Content-Length promised more than arrived
        download_url(f"{image_server.base}/cut.jpg", tmp_path / "z.jpg", show_progress=False)
    assert not (tmp_path / "y.jpg").exists() and not (tmp_path / "z.jpg").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["x.jpg"]  # no temp files left behind
