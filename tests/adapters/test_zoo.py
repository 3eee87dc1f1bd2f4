"""The zoo: every entry runs through a registered plugin, lists its facts, and a missing manual download names
the exact public link."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from zero_bench.cli.app import app
from zero_bench.errors import ZeroBenchError
from zero_bench.models.registry import create_model, list_models
from zero_bench.models.zoo import ENTRIES, ZOO

NAMED_IN_ISSUE = {
    "chinese-clip-vit-b-16",
    "chinese-clip-vit-l-14",
    "chinese-clip-vit-l-14-336",
    "chinese-clip-vit-h-14",
    "chinese-clip-rn50",
    "altclip",
    "taiyi-clip-roberta-102m",
}


def test_entries_are_complete_and_runnable_by_a_plugin() -> None:
    assert set(ZOO) >= NAMED_IN_ISSUE
    assert any(e.model.startswith("open_clip:xlm-roberta") for e in ENTRIES)
    assert any(e.model in ("r2d2", "prd2") for e in ENTRIES)
    plugins = set(list_models())
    for entry in ENTRIES:
        assert entry.model.partition(":")[0] in plugins, entry.name
        assert entry.licence and entry.training_data and entry.revision
        assert re.fullmatch(r"https://\S+", entry.paper), entry.name
        assert (entry.parameters is None) == entry.parameters_source.startswith("not verified"), entry.name
        if entry.manual_step is not None:
            assert re.search(r"https://\S+", entry.manual_step), entry.name


def test_models_command_lists_plugins_and_zoo() -> None:
    result = CliRunner().invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.output)
    assert {"hf", "open_clip", "cn_clip", "r2d2"} <= {p["name"] for p in listing["plugins"]}
    assert [e["name"] for e in listing["zoo"]] == [e.name for e in ENTRIES]
    text = CliRunner().invoke(app, ["models"], env={"COLUMNS": "200"})
    assert text.exit_code == 0
    for entry in ENTRIES:
        assert entry.name in text.output
        if entry.manual_step is not None:
            assert entry.manual_step in text.output  # whole, so the links can be copied


def test_missing_manual_download_prints_the_step() -> None:
    pytest.importorskip("zero_bench_r2d2")
    entry = ZOO["r2d2-vit-l-250m"]
    with pytest.raises(ZeroBenchError) as caught:
        create_model(entry.name)
    message = str(caught.value)
    assert "\n" not in message and entry.source in message and "before use" in message


def test_hub_entry_offline_is_one_clear_error() -> None:
    with pytest.raises(ZeroBenchError, match="OFA-Sys/chinese-clip-vit-base-patch16"):
        create_model("chinese-clip-vit-b-16")


def test_missing_library_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "open_clip", None)  # as if open_clip_torch were not installed
    with pytest.raises(
        ZeroBenchError, match=r"needs open_clip, which is not installed: pip install 'zero-bench\[open_clip\]'"
    ):
        create_model("open_clip:ViT-B-32/laion2b_s34b_b79k")


def test_core_imports_no_adapter_library() -> None:
    import subprocess
    import sys

    code = (
        "import sys, zero_bench.cli.app, zero_bench.models.registry, zero_bench.models.zoo, zero_bench.results_table\n"
        "loaded = [m for m in ('transformers', 'open_clip', 'cn_clip') if m in sys.modules]\n"
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
