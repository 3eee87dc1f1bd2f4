"""Every shipped task documents what decides its number (split, texts, per item, text length, normalisation), and
`zero-bench tasks show` prints it."""

from __future__ import annotations

from typer.testing import CliRunner

from zero_bench.cli.app import app
from zero_bench.taskspec import all_tasks


def test_every_task_says_what_decides_its_number() -> None:
    missing = [name for name, spec in all_tasks().items() if spec.decided_by is None]
    assert missing == []
    for spec in all_tasks().values():
        assert spec.decided_by is not None
        assert all(len(value) > 10 for value in spec.decided_by.model_dump().values()), spec.name


def test_tasks_show_prints_it() -> None:
    result = CliRunner().invoke(app, ["tasks", "show", "muge"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "text normalisation:" in result.output and "text-to-image only" in result.output
