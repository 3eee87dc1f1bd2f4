"""Re-ranking in bounded memory: same results as scoring with every state in memory, reads bounded by the block
and pair-batch sizes, states kept in half precision on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from zero_bench.evaluation.evaluator import evaluate
from zero_bench.evaluation.rerank import candidate_keys, rerank_rankings
from zero_bench.evaluation.states import StateStore
from zero_bench.formats import MatchingData, load_split
from zero_bench.metrics.matching import matching_metrics
from zero_bench.metrics.retrieval import retrieval_topk
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
    # batch 2 -> chunks (= image blocks) of 32 images: 70 images are 3 blocks
    bounded = evaluate(model, task, data_dir=tmp_path / "data", top_k=6, batch_size=2, pair_batch_size=5)
    expected = _in_memory(ColourModel(cross=True, noise=1.5), tmp_path / "data", task, 6)
    assert bounded.metrics == pytest.approx({k: v for k, v in expected.items() if k in bounded.metrics}, abs=1e-9)
    n_images = 70 if task == "icr" else 12
    image_reads = [rows for size, rows, _ in reads if size == n_images]
    text_reads = [rows for size, rows, _ in reads if size != n_images]
    assert len(image_reads) == -(-n_images // 32) and max(image_reads) <= 32  # one read per block, never more
    assert text_reads and max(text_reads) <= 5  # one pair batch's texts at a time
    float_dtypes = {dtype for _, _, dtype in reads if dtype.is_floating_point}
    assert float_dtypes == {torch.float16}  # the colour model's float states are kept in half precision
    # A second run reads the states back from the cache (nothing encoded again) and agrees.
    again = ColourModel(cross=True, noise=1.5)
    cached = evaluate(again, task, data_dir=tmp_path / "data", top_k=6, batch_size=2, pair_batch_size=5)
    assert again.calls["images"] == again.calls["texts"] == 0
    assert cached.metrics == bounded.metrics
