"""What every hostile case asserts: non-zero exit, one line on stderr naming the file, no traceback, nothing written
anywhere (outside the target or inside it: no partial state)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path

# File locks are coordination, not state: a lock file may stay behind (empty) after a refused run.
LOCK_FILES = {".zero-bench.busy", ".submit.lock"}


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def cli(*args: str | Path, cwd: Path | None = None) -> Outcome:
    """``zero-bench ARGS`` through the real entry point (``main``: the one-line error handler), in-process."""
    from zero_bench.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    old_cwd = Path.cwd()
    sys.argv = ["zero-bench", *map(str, args)]
    code = 0
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
        os.chdir(old_cwd)
    return Outcome(code, out.getvalue(), err.getvalue())


def tree(root: Path) -> dict[str, str]:
    """Every path under ``root`` (links not followed) -> what it is: file content hash and mode, link target, dir."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = path.relative_to(root).as_posix()
            if name in LOCK_FILES:
                continue
            if path.is_symlink():
                out[rel] = "link -> " + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = f"{hashlib.sha256(path.read_bytes()).hexdigest()} {path.stat().st_mode:o}"
    return out


def one_line(outcome: Outcome, *names: str) -> str:
    """The refusal's single stderr line, checked: non-zero exit, no traceback, every one of ``names`` in it."""
    assert outcome.code != 0, f"accepted: {outcome.out[-500:]}"
    assert "Traceback" not in outcome.err + outcome.out, outcome.err
    lines = outcome.err.rstrip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.err
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


def refused(watch: Path, *args: str | Path, names: tuple[str, ...], cwd: Path | None = None) -> str:
    """Run the CLI; it must refuse in one line naming ``names`` and leave everything under ``watch`` as it was."""
    before = tree(watch)
    line = one_line(cli(*args, cwd=cwd), *names)
    after = tree(watch)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"changed on a refusal: {changed[:10]}"
    return line
