"""The data layer stays below the contamination audit: nothing under zero_bench/data imports it (the audit reads a
report and hands the data layer a set of keys)."""

from __future__ import annotations

import ast
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "zero_bench" / "data"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_data_does_not_import_the_audit() -> None:
    offenders = {
        path.name: sorted(m for m in _imports(path) if m.startswith("zero_bench.contamination"))
        for path in sorted(DATA.glob("*.py"))
    }
    assert {name: mods for name, mods in offenders.items() if mods} == {}
