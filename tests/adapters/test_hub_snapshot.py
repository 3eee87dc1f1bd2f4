"""A hub model is identified by its repository and snapshot commit: laid out in the local hub cache exactly as
huggingface_hub stores downloads, it loads offline (HF_HUB_OFFLINE=1), names the commit and is cached like a
local checkpoint."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.adapters import tiny_models as tm
from zero_bench.errors import ZeroBenchError
from zero_bench.models.adapters.common import commit_sha256
from zero_bench.models.registry import create_model

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture()
def hub_repo(tmp_path: Path) -> Iterator[str]:
    from huggingface_hub import constants

    repo = "zero-bench-tests/tiny-chinese-clip"
    saved = tm.save_chinese_clip(tmp_path / "saved")
    cached = Path(constants.HF_HUB_CACHE) / f"models--{repo.replace('/', '--')}"
    snapshot = cached / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    for file in saved.iterdir():
        shutil.copy(file, snapshot / file.name)
    (cached / "refs").mkdir(exist_ok=True)
    (cached / "refs" / "main").write_text(COMMIT)
    yield repo
    shutil.rmtree(cached)


def test_hub_snapshot_identity_is_the_commit(hub_repo: str) -> None:
    model: Any = create_model(f"hf:{hub_repo}")
    assert model.info.checkpoint == f"{hub_repo}@{COMMIT}"
    assert model.info.checkpoint_sha256 == commit_sha256(hub_repo, COMMIT)
    assert model.info.link == f"https://huggingface.co/{hub_repo}"
    pinned: Any = create_model(f"hf:{hub_repo}@{COMMIT}")
    assert pinned.info.checkpoint_sha256 == model.info.checkpoint_sha256
    with pytest.raises(ZeroBenchError, match="hub snapshot is unavailable"):
        create_model(f"hf:{hub_repo}@v9.9")  # a revision the cache does not hold, offline
