"""Run under torchrun by test_distributed.py: evaluate the colour model and write what each rank did."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from zero_bench.evaluation.distributed import finish, rank_and_world
from zero_bench.evaluation.evaluator import evaluate
from zero_bench.evaluation.states import StateStore
from zero_bench.testing import ColourModel


def main() -> None:
    data_dir, out_dir, task = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    model = ColourModel(cross=True, noise=1.5)
    read: dict[int, list[int]] = {}  # store size -> every row this rank read from it
    original = StateStore.rows

    def recording(
        store: StateStore, index: torch.Tensor, device: torch.device, upcast: bool = True
    ) -> dict[str, torch.Tensor]:
        read.setdefault(store.n_items, []).extend(index.tolist())
        return original(store, index, device, upcast)

    StateStore.rows = recording  # type: ignore[method-assign,assignment]
    result = evaluate(
        model, task, data_dir=data_dir, top_k=4, batch_size=2, use_cache=False, predictions=out_dir / "pred.jsonl"
    )
    rank, world = rank_and_world()
    (out_dir / f"calls-{rank}.json").write_text(json.dumps(model.calls))
    (out_dir / f"reads-{rank}.json").write_text(json.dumps(read))
    if rank == 0:
        (out_dir / "metrics.json").write_text(json.dumps({"metrics": result.metrics, "world": world}))
    finish()


if __name__ == "__main__":
    main()
