"""Re-ranking in bounded memory: same results as scoring with every state in memory, reads bounded by the pair
batch, states kept in half precision on disk, and no item's states left in the process's memory (heap or resident
mapped pages) after its pair batch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from zero_bench.evaluation.cache import ChunkCache
from zero_bench.evaluation.evaluator import evaluate
from zero_bench.evaluation.rerank import candidate_keys, default_pair_batch, rerank_rankings, score_candidate_pairs
from zero_bench.evaluation.states import StateStore
from zero_bench.formats import MatchingData, load_split
from zero_bench.metrics.matching import matching_metrics
from zero_bench.metrics.retrieval import retrieval_topk
from zero_bench.models.protocol import Encoded
from zero_bench.predictions import ranking_length, retrieval_metrics_from_rankings
from zero_bench.taskspec import get_task
from zero_bench.testing import ColourModel, make_itm_folder, make_itr_folder


def _in_memory(model: ColourModel, data_dir: Path, task: str, k: int) -> dict[str, float]:
    """The previous evaluator: every state of the split in memory (float32), every key scored in one call."""
    data = load_split(get_task(task), data_dir)
    with torch.no_grad():
        images = model.encode_images(torch.stack([model.preprocess_image(i.open()) for i in data.images]))
        texts = model.encode_texts(list(data.texts))
        if isinstance(data, MatchingData):
            pair_image = torch.from_numpy(data.pair_image)
            scores = model.score_pairs({"rgb": images.states["rgb"][pair_image]}, texts.states)
            return matching_metrics(data.labels, scores.double().numpy())
        n_texts = data.num_texts
        length_i2t, length_t2i = ranking_length(n_texts), ranking_length(data.num_images)
        i2t, t2i = retrieval_topk(images.embeddings, texts.embeddings, max(k, length_i2t, length_t2i))
        keys = candidate_keys(i2t, t2i, k, n_texts)
        scores = model.score_pairs(
            {"rgb": images.states["rgb"][keys // n_texts]}, {"colour": texts.states["colour"][keys % n_texts]}
        )
    ranked_i2t = rerank_rankings(
        i2t,
        k,
        keys,
        scores,
        queries_are_images=True,
        n_texts=n_texts,
        n_candidates=n_texts,
        add_similarity=True,
        length=length_i2t,
    )
    ranked_t2i = rerank_rankings(
        t2i,
        k,
        keys,
        scores,
        queries_are_images=False,
        n_texts=n_texts,
        n_candidates=data.num_images,
        add_similarity=True,
        length=length_t2i,
    )
    return retrieval_metrics_from_rankings(data, ranked_i2t, ranked_t2i)


@pytest.mark.parametrize("task", ["icr", "icm"])
def test_block_by_block_equals_all_states_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, task: str) -> None:
    if task == "icr":
        make_itr_folder(tmp_path / "data", n_images=70, per_image=2)
    else:
        make_itm_folder(tmp_path / "data", n_pairs=60)
    reads: list[tuple[int, int, torch.dtype]] = []  # (store size, rows read at once, stored dtype)
    original = StateStore.rows

    def recording(
        store: StateStore, index: torch.Tensor, device: torch.device, upcast: bool = True
    ) -> dict[str, torch.Tensor]:
        stored = next(iter(store._chunk(int(index[0]) // store.chunk_size * store.chunk_size).values()))
        reads.append((store.n_items, index.numel(), stored.dtype))
        return original(store, index, device, upcast)

    monkeypatch.setattr(StateStore, "rows", recording)
    model = ColourModel(cross=True, noise=1.5)
    # batch 2 -> chunks of 8 items (STATE_CHUNK_BATCHES = 4 batches): 70 images are 9 blocks
    bounded = evaluate(model, task, data_dir=tmp_path / "data", top_k=6, batch_size=2, pair_batch_size=5)
    expected = _in_memory(ColourModel(cross=True, noise=1.5), tmp_path / "data", task, 6)
    assert bounded.metrics == pytest.approx({k: v for k, v in expected.items() if k in bounded.metrics}, abs=1e-9)
    n_images = 70 if task == "icr" else 12
    image_reads = [rows for size, rows, _ in reads if size == n_images]
    text_reads = [rows for size, rows, _ in reads if size != n_images]
    assert image_reads and max(image_reads) <= 5  # one pair batch's images at a time, not a whole block
    assert text_reads and max(text_reads) <= 5  # one pair batch's texts at a time
    float_dtypes = {dtype for _, _, dtype in reads if dtype.is_floating_point}
    assert float_dtypes == {torch.float16}  # the colour model's float states are kept in half precision
    # A second run reads the states back from the cache (nothing encoded again) and agrees.
    again = ColourModel(cross=True, noise=1.5)
    cached = evaluate(again, task, data_dir=tmp_path / "data", top_k=6, batch_size=2, pair_batch_size=5)
    assert again.calls["images"] == again.calls["texts"] == 0
    assert cached.metrics == bounded.metrics


class _MeanDot:
    """A scorer reading every token of both sides: mean over tokens of the image's and the text's dot product."""

    def score_pairs(self, image_states: dict[str, torch.Tensor], text_states: dict[str, torch.Tensor]) -> torch.Tensor:
        return (image_states["tokens"].mean(1) * text_states["tokens"].mean(1)).sum(-1)


def _store(folder: Path, kind: str, n: int, chunk: int, gen: torch.Generator) -> tuple[StateStore, torch.Tensor]:
    """A store of ``n`` items of 40 x 256 half-precision token states, and the same states in memory."""
    states = torch.randn(n, 40, 256, generator=gen).half()
    cache = ChunkCache(folder, kind, chunk)
    for start in range(0, n, chunk):
        part = states[start : start + chunk].clone()
        cache.save(start, Encoded(torch.zeros(part.shape[0], 1), {"tokens": part}))
    return StateStore(cache, n, chunk), states


def _mappings(folder: Path) -> list[tuple[int, int, int]]:
    """(start, end, resident bytes) of this process's mappings of files under ``folder`` (/proc/self/smaps)."""
    found, current = [], None
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            current = None
            if len(head) == 6 and head[5].startswith(str(folder)):
                low, high = (int(x, 16) for x in head[0].split("-"))
                current = [low, high, 0]
                found.append(current)
        elif current is not None and line.startswith("Rss:"):
            current[2] = int(line.split()[1]) * 1024
    return [(a, b, r) for a, b, r in found]


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads /proc/self/smaps (Linux)")
def test_no_item_states_stay_in_memory(tmp_path: Path) -> None:
    """After re-ranking, every state tensor the stores hold lies in a mapping of its chunk file (nothing copied
    to the heap per item), and those mappings keep (almost) no resident pages: the bytes of states in RAM do not
    grow with the number of items, while the bytes on disk do."""
    gen = torch.Generator().manual_seed(0)
    images, image_states = _store(tmp_path / "states", "images", 96, 32, gen)
    texts, text_states = _store(tmp_path / "states", "texts", 192, 32, gen)
    keys = torch.unique(torch.randint(0, 96 * 192, (1500,), generator=gen))
    scores = score_candidate_pairs(
        _MeanDot(),
        keys,
        images,
        texts,
        192,
        batch_size=16,
        device=torch.device("cpu"),
        precision="fp32",
        show_progress=False,
    )
    expected = _MeanDot().score_pairs(
        {"tokens": image_states[keys // 192].float()}, {"tokens": text_states[keys % 192].float()}
    )
    torch.testing.assert_close(scores, expected, rtol=0, atol=0)  # same rows, same arithmetic
    mapped = _mappings(tmp_path / "states")
    on_disk = image_states.numel() * 2 + text_states.numel() * 2
    held = [v for store in (images, texts) for chunk in store._open.values() for v in chunk.values()]
    assert len(held) == 3 + 6  # every chunk was read
    for tensor in held:
        address = tensor.untyped_storage().data_ptr()
        assert any(low <= address < high for low, high, _ in mapped), "a state tensor held on the heap"
    resident = sum(r for _, _, r in mapped)
    assert resident <= 9 * 8 * 4096 < on_disk / 10  # a few pages per chunk file (headers, embeddings), not states


def test_default_pair_batch_follows_the_size_of_the_states(tmp_path: Path) -> None:
    """The rule: the largest power of two whose pairs keep 8 x their float32 states within 256 MiB, in [32, 1024]."""
    gen = torch.Generator().manual_seed(1)
    small, _ = _store(tmp_path / "small", "images", 4, 4, gen)  # 40 x 256 half: 40 KiB a row in float32
    assert default_pair_batch(small, small) == 256  # 256 MiB / (8 x 80 KiB) = 409.6
    wide = ChunkCache(tmp_path / "wide", "images", 2)
    wide.save(0, Encoded(torch.zeros(2, 1), {"tokens": torch.zeros(2, 197, 768, dtype=torch.float16)}))
    vit_b = StateStore(wide, 2, 2)
    assert default_pair_batch(vit_b, small) == 32  # ViT-B width: 8 x (591 + 40) KiB a pair
    tiny = ChunkCache(tmp_path / "tiny", "texts", 2)
    tiny.save(0, Encoded(torch.zeros(2, 1), {"tokens": torch.zeros(2, 5, 64, dtype=torch.float16)}))
    tiny_store = StateStore(tiny, 2, 2)
    assert default_pair_batch(tiny_store, tiny_store) == 1024  # r2d2-tiny-sized states: the ceiling
