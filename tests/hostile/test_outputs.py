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
