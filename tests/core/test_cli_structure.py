"""The CLI stays thin: every function of ``zero_bench/cli`` (command, helper or ``register``) fits in 60 lines, the
options being declared once in ``zero_bench.cli.options`` and the logic living in the library."""

from __future__ import annotations

import ast
from pathlib import Path

import zero_bench.cli

LIMIT = 60  # lines, decorators and signature included
CLI = Path(zero_bench.cli.__file__).parent


def _lengths(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            assert node.end_lineno is not None
            out.append((f"{path.name}:{node.lineno} {node.name}", node.end_lineno - first + 1))
    return out


def test_no_cli_function_is_longer_than_the_limit() -> None:
    files = sorted(CLI.glob("*.py"))
    assert len(files) >= 5, files
    lengths = [item for f in files for item in _lengths(f)]
    assert len(lengths) > 20, lengths  # the walk found the commands (nested ones too)
    long = [f"{name}: {n} lines" for name, n in lengths if n > LIMIT]
    assert not long, long


def test_the_check_counts_signature_and_decorators(tmp_path: Path) -> None:
    source = "@a\n@b\ndef f(\n    x,\n):\n    def g():\n        pass\n    return 1\n"
    (tmp_path / "m.py").write_text(source, encoding="utf-8")
    assert dict(_lengths(tmp_path / "m.py")) == {"m.py:3 f": 8, "m.py:6 g": 2}
