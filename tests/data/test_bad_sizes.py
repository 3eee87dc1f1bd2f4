"""Sizes that are not sizes (``--scale -1``, 0, nan, inf, a word; ``--steps 0``; ``--image-size 0``) are refused by
the library before anything is written: one line on stderr, a non-zero exit, no folder, no lock file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from zero_bench.cli.app import main
from zero_bench.errors import ZeroBenchError


def _run(monkeypatch, capsys, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["zero-bench", *argv])
    with pytest.raises(SystemExit) as exit_:
        main()
    return int(exit_.value.code or 0), capsys.readouterr().err


def _refused(code: int, err: str, *words: str) -> None:
    assert code != 0
    assert err.startswith("error: ") and err.count("\n") == 1, err
    for word in words:
        assert word in err, err


@pytest.mark.parametrize("scale", ["-1", "0", "-0.5", "nan", "inf", "-inf", "abc"])
def test_download_zero_toy_refuses_a_scale_that_is_not_a_positive_number(tmp_path, monkeypatch, capsys, scale):
    root = tmp_path / "data"
    code, err = _run(monkeypatch, capsys, "download", "zero-toy", "--root", str(root), f"--scale={scale}")
    _refused(code, err, *(() if scale == "abc" else ("scale",)))
    assert not root.exists()  # no zero-toy folder, no lock file, not even the data root


def test_download_zero_toy_still_takes_a_small_positive_scale(tmp_path, monkeypatch, capsys):
    root = tmp_path / "data"
    code, _ = _run(monkeypatch, capsys, "download", "zero-toy", "--root", str(root), "--scale=0.0005")
    assert code == 0
    assert (root / "zero-toy" / "corpus" / "manifest.json").is_file()
    assert (root / "zero-toy" / "zero-bench.lock.json").is_file()


@pytest.mark.parametrize(
    "option",
    [
        "--image-size=0",
        "--timeout=0",
        "--retries=-1",
        "--min-image-size=-1",
        "--max-image-area=nan",
        "--max-image-area=0",
        "--threads=0",
        "--processes=0",
        "--samples-per-shard=0",
    ],
)
def test_download_corpus_refuses_bad_fetch_sizes(tmp_path, monkeypatch, capsys, option):
    root, source = tmp_path / "data", tmp_path / "records"
    source.mkdir()
    code, err = _run(monkeypatch, capsys, "download", "zero-2.3m", "--root", str(root), "--from", str(source), option)
    _refused(code, err, "must be")
    assert not root.exists()


@pytest.mark.parametrize("option", ["--steps=0", "--steps=-5", "--seed=-1"])
def test_quickstart_refuses_bad_sizes_before_writing(tmp_path, monkeypatch, capsys, option):
    out = tmp_path / "qs"
    code, err = _run(monkeypatch, capsys, "quickstart", "-o", str(out), option, "--no-progress")
    _refused(code, err, option.split("=")[0].lstrip("-"))
    assert not out.exists()


@pytest.mark.parametrize("option", ["--max-steps=0", "--max-steps=-5", "--lr=nan", "--batch-size=0", "--epochs=0"])
def test_train_refuses_bad_sizes_before_writing(tmp_path, monkeypatch, capsys, option):
    out = tmp_path / "run"
    code, err = _run(
        monkeypatch, capsys, "train", "--corpus", "zero-toy", "--config", "r2d2-tiny", "-o", str(out), option
    )
    _refused(code, err, option.split("=")[0].lstrip("-").replace("-", "_"))
    assert not out.exists()


def test_the_library_refuses_them_for_every_caller(tmp_path):
    from zero_bench.data.toy import ToySizes, generate_zero_toy

    for bad in (-1, 0, float("nan"), float("inf"), "2", True):
        with pytest.raises(ZeroBenchError, match="scale"):
            ToySizes().scaled(bad)  # type: ignore[arg-type]
    with pytest.raises(ZeroBenchError, match="itr_val"):
        generate_zero_toy(root=tmp_path, sizes=ToySizes(corpus=1), itr_val=0)
    with pytest.raises(ZeroBenchError, match="corpus"):
        ToySizes(corpus=-3)
    assert not Path(tmp_path / "zero-toy").exists()
