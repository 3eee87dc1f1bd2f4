"""The core needs none of what only the R2D2 plugin needs: in a process where importing ``transformers`` (or
``tokenizers`` / ``safetensors``) fails, the core imports and ``zero-bench tasks`` / ``score`` work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from zero_bench.testing import make_itr_folder

# A sitecustomize that makes the plugin-only libraries unimportable, as in an environment without them.
BLOCKER = """
import importlib.abc, sys

BLOCKED = ("transformers", "tokenizers", "safetensors")


class _Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
        return None


sys.meta_path.insert(0, _Block())
"""


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER, encoding="utf-8")
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env, timeout=240, check=False)


def test_the_blocker_blocks(tmp_path: Path) -> None:
    out = _run(tmp_path, "-c", "import transformers")
    assert out.returncode != 0 and "blocked by the test" in out.stderr


def test_core_tasks_and_score_without_transformers(tmp_path: Path) -> None:
    imports = "import zero_bench, zero_bench.cli.app, zero_bench.evaluation.evaluator, zero_bench.leaderboard.build"
    out = _run(tmp_path, "-c", f"{imports}; import sys; print(sorted(m for m in sys.modules if 'transformers' in m))")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"

    out = _run(tmp_path, "-m", "zero_bench.cli.app", "tasks")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "icr" in out.stdout and "muge" in out.stdout

    make_itr_folder(tmp_path / "data", n_images=6, per_image=1)
    lines = [{"text_id": t, "image_ids": [t] + [i for i in range(6) if i != t]} for t in range(6)]
    lines += [{"image_id": i, "text_ids": [i] + [t for t in range(6) if t != i]} for i in range(6)]
    predictions = tmp_path / "pred.jsonl"
    predictions.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    out = _run(
        tmp_path,
        "-m",
        "zero_bench.cli.app",
        "score",
        "--task",
        "icr",
        "--data-dir",
        str(tmp_path / "data"),
        "--predictions",
        str(predictions),
        "--json",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["r_mean"] == 100.0
