"""The README is a start page under 200 lines; every relative link of it and of docs/ resolves; every command's
--help names the docs page that describes it."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from zero_bench.cli.app import DOCS, app

REPO = Path(__file__).resolve().parents[2]


def test_readme_is_a_start_page() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) < 200
    assert readme.startswith("# zero-bench\n\n```bash\npip install")
    main_job, tests = readme.splitlines()[3:5]
    # the first command runs the main job without the test tools; .ci/run runs line 5 as written
    assert main_job.endswith("&& zero-bench quickstart") and "[dev]" not in main_job
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    # the test command installs the torch / torchvision pair that CI installs first (the adapters need torchvision)
    pair = re.search(r"pip install -q (torch==\S+ torchvision==\S+)\n", ci)
    assert pair is not None
    assert tests.startswith(f'pip install {pair.group(1)} -e ".[dev]" && python -m pytest -q')
    assert "sed -n '5" in ci


def test_relative_links_resolve() -> None:
    for page in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if re.match(r"^[a-z]+://", target):
                continue
            assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_every_documented_command_points_to_existing_pages() -> None:
    for pages in DOCS.values():
        for page in pages.split(", "):
            assert (REPO / page).is_file(), page
    for command in ("evaluate", "download", "models", "contamination", "quickstart"):
        result = CliRunner().invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0 and "Docs: docs/" in result.output, command
