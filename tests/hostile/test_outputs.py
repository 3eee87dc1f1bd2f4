"""An output folder that is a file (or lies inside one), for every command that trains: one line naming it, exit 2,
before anything is generated or written."""

from __future__ import annotations

import pytest

from tests.hostile.hostile import refused


@pytest.mark.parametrize(
    ("command", "where"),
    [
        (("quickstart", "-o", "{file}"), "exists and is not a folder"),
        (("quickstart", "-o", "{file}/run"), "is not a folder, so"),
        (
            ("train", "--model", "r2d2", "--config", "r2d2-toy", "--corpus", "zero-toy", "-o", "{file}"),
            "is not a folder",
        ),
        (
            ("finetune", "--model", "r2d2", "--task", "icr", "--config", "r2d2-toy", "-o", "{file}/run"),
            "is not a folder",
        ),
    ],
)
def test_an_output_folder_that_is_a_file_is_refused_before_writing(world, monkeypatch, command, where):
    monkeypatch.setenv("ZERO_BENCH_HOME", str(world / "home"))
    target = world / "notes.txt"
    target.write_text("a file, not a folder", encoding="utf-8")
    args = [a.format(file=target) for a in command]
    refused(world, *args, names=(str(target), where))


@pytest.fixture
def toy_home(world, monkeypatch):
    """A small zero-toy under a ZERO_BENCH_HOME inside ``world``."""
    from zero_bench.data.toy import ToySizes, generate_zero_toy

    home = world / "home"
    monkeypatch.setenv("ZERO_BENCH_HOME", str(home))
    sizes = ToySizes(
        corpus=40, itr_train=4, itr_val=4, itm_train=4, itm_val=4, flickr_train=2, flickr_val=2, flickr_test=2
    )
    generate_zero_toy(home / "data", seed=0, sizes=sizes)
    return home


@pytest.mark.parametrize(
    ("command", "names"),
    [
        (("stats", "zero-toy", "--plot", "{file}/h.png"), ("{file}/h.png", "not a folder", "--plot file")),
        (("stats", "zero-toy", "--plot", "{folder}"), ("{folder}", "is a folder")),
        (("contamination", "zero-toy", "-t", "icr", "-o", "{file}/a.json"), ("{file}/a.json", "report")),
        (("contamination", "zero-toy", "-t", "icr", "-o", "{folder}"), ("{folder}", "is a folder")),
        (
            ("contamination", "zero-toy", "-t", "icr", "-o", "a.json", "--clean-ids", "{file}"),
            ("{file}", "--clean-ids"),
        ),
    ],
)
def test_an_output_file_that_cannot_be_written_is_refused_before_the_work(world, toy_home, command, names):
    target, folder = world / "notes.txt", world / "a-folder"
    target.write_text("a file, not a folder", encoding="utf-8")
    folder.mkdir()

    def fill(text: str) -> str:
        return text.format(file=target, folder=folder)

    data_dir = toy_home / "data" / "zero-toy" / "ccmb"
    extra = ["--data-dir", str(data_dir)] if command[0] == "contamination" else []
    refused(world, *map(fill, command), *extra, names=tuple(map(fill, names)), cwd=world)


def test_atomic_writes_refuse_a_file_where_a_folder_should_be(tmp_path):
    from zero_bench.errors import ZeroBenchError
    from zero_bench.fileio import atomic_dir, atomic_write_text

    (tmp_path / "f").write_text("x", encoding="utf-8")
    with pytest.raises(ZeroBenchError, match="f is not a folder"):
        atomic_write_text(tmp_path / "f" / "out.json", "{}")
    with pytest.raises(ZeroBenchError, match="is a folder"):
        atomic_write_text(tmp_path, "{}")
    with pytest.raises(ZeroBenchError, match="exists and is not a folder"), atomic_dir(tmp_path / "f"):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"] and (tmp_path / "f").read_text() == "x"


@pytest.mark.parametrize(
    ("command", "names"),
    [
        (("download", "zero-toy", "--scale", "0.01"), ("ZERO_BENCH_HOME",)),
        (("evaluate", "-m", "r2d2", "-t", "icr", "--model-config", "r2d2-toy", "-o", "r.json"), ("ZERO_BENCH_HOME",)),
        (("download", "icr", "--from", "{world}", "--root", "{file}"), ("download icr writes into",)),
    ],
)
def test_a_home_or_root_that_is_a_file_is_one_line(world, monkeypatch, command, names):
    target = world / "notes.txt"
    target.write_text("a file, not a folder", encoding="utf-8")
    monkeypatch.setenv("ZERO_BENCH_HOME", str(target))
    args = [a.format(file=target, world=world) for a in command]
    refused(world, *args, names=(str(target), *names), cwd=world)


def test_an_unforeseen_os_error_is_one_line_naming_its_file():
    from zero_bench.cli.app import _unexpected_line

    assert (
        _unexpected_line(NotADirectoryError(20, "Not a directory", "out/r.json"))
        == "error: out/r.json: Not a directory"
    )
    assert _unexpected_line(OSError("no file named")) == "error: OSError: no file named"
    assert _unexpected_line(ValueError("first line\nsecond")) == "error: ValueError: first line"
