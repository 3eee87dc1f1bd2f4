"""Hostile embedding caches (defect 6), image errors inside DataLoader workers (defect 7) and output modes (11)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from tests.hostile.models import ColourModel
from zero_bench.errors import ZeroBenchError
from zero_bench.evaluation.cache import INDEX_NAME, ChunkCache
from zero_bench.evaluation.evaluator import evaluate
from zero_bench.models.protocol import Encoded


@pytest.fixture
def home(world, monkeypatch) -> Path:
    monkeypatch.setenv("ZERO_BENCH_HOME", str(world / "home"))
    return world / "home"


def _chunks(home: Path) -> list[Path]:
    return sorted((home / "cache" / "encoded").rglob("chunk-*.pt"))


def _alter_numbers(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["embeddings"] = -payload["embeddings"]  # still a valid chunk: only the numbers differ
    torch.save(payload, path)


def _nan(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["embeddings"][0, 0] = float("nan")
    torch.save(payload, path)


def _wrong_shape(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    payload["embeddings"] = payload["embeddings"][:, :2]
    torch.save(payload, path)


def _drop_states(path: Path) -> None:
    payload = torch.load(path, weights_only=True)
    del payload["states"]
    torch.save(payload, path)


def _garbage(path: Path) -> None:
    path.write_bytes(b"not a torch file")


def _forged_index(path: Path) -> None:
    """NaN numbers with an index entry updated to match: the checksum passes, the contents check does not."""
    from zero_bench.fileio import sha256_file

    _nan(path)
    index_path = path.parent / INDEX_NAME
    index = json.loads(index_path.read_text())
    index[path.name]["sha256"] = sha256_file(path)
    index_path.write_text(json.dumps(index))


@pytest.mark.parametrize(
    "damage", [_alter_numbers, _nan, _wrong_shape, _drop_states, _garbage, _forged_index], ids=lambda f: f.__name__
)
def test_a_damaged_cache_chunk_is_named_and_recomputed(home, ccmb, capfd, damage):
    first = evaluate(ColourModel(), "icr", data_dir=ccmb, device="cpu")
    chunks = _chunks(home)
    assert chunks, "the model is identified: its outputs are cached"
    model = ColourModel()
    evaluate(model, "icr", data_dir=ccmb, device="cpu")
    assert model.text_calls == 0  # sound chunks are used
    capfd.readouterr()
    for chunk in chunks:
        damage(chunk)
    model = ColourModel()
    again = evaluate(model, "icr", data_dir=ccmb, device="cpu")
    assert again.metrics == first.metrics
    assert model.text_calls > 0  # recomputed
    lines = capfd.readouterr().err.strip().splitlines()
    assert len(lines) == len(chunks) and all("cache chunk" in line and "recomputing" in line for line in lines)
    assert {line.split("cache chunk ")[1].split(": ")[0] for line in lines} == {str(c) for c in chunks}
    assert evaluate(ColourModel(), "icr", data_dir=ccmb, device="cpu").metrics == first.metrics


def test_chunk_api_keeps_states_and_checks_rows(tmp_path):
    cache = ChunkCache(tmp_path, "k" * 32, 4)
    encoded = Encoded(torch.randn(4, 8), {"tokens": torch.randn(4, 5, 8), "mask": torch.ones(4, 5, dtype=torch.bool)})
    cache.save(0, encoded)
    hit = cache.load(0, rows=4)
    assert hit is not None and torch.equal(hit.embeddings, encoded.embeddings)
    assert set(hit.states) == {"tokens", "mask"} and torch.equal(hit.states["mask"], encoded.states["mask"])
    assert cache.load(4) is None  # never written
    other = ChunkCache(tmp_path, "k" * 32, 4)
    other.key = "j" * 32  # a chunk copied in from another cache key is refused
    assert other.load(0) is None


def test_bad_image_in_a_worker_names_the_file(ccmb):
    broken = ccmb / "IQR_IQM_ICR_ICM_images" / "img3.jpg"
    broken.write_bytes(b"\xff\xd8 truncated")
    with pytest.raises(ZeroBenchError) as info:
        evaluate(ColourModel(), "icr", data_dir=ccmb, device="cpu", num_workers=1, use_cache=False)
    message = str(info.value)
    assert message.startswith(f"{broken}: cannot decode image 'img3'") and "\n" not in message


def test_results_and_predictions_follow_the_umask(world, ccmb):
    old = os.umask(0o022)
    try:
        result = evaluate(ColourModel(), "icr", data_dir=ccmb, device="cpu", predictions=world / "p.jsonl")
        result.write(world / "result.json")
    finally:
        os.umask(old)
    assert oct((world / "p.jsonl").stat().st_mode & 0o777) == "0o644"
    assert oct((world / "result.json").stat().st_mode & 0o777) == "0o644"
