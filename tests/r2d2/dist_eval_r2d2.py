"""Run under torchrun by test_evaluate_r2d2.py: evaluate R2D2 (with re-ranking) and write rank 0's result."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from zero_bench.evaluation.distributed import finish, rank_and_world
from zero_bench.evaluation.evaluator import evaluate


def main() -> None:
    checkpoint, data_dir, out_dir, top_k = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
    from zero_bench_r2d2.plugin import create_r2d2

    plugin = create_r2d2(checkpoint=checkpoint, config="r2d2-tiny")
    calls = {"pairs": 0, "images": 0}
    original = plugin.score_pairs_by_image

    def counting(
        image_states: dict[str, torch.Tensor], text_states: dict[str, torch.Tensor], pair_image: torch.Tensor
    ) -> torch.Tensor:
        calls["pairs"] += int(pair_image.numel())
        calls["images"] += int(image_states["image_tokens"].shape[0])
        return original(image_states, text_states, pair_image)

    plugin.score_pairs_by_image = counting  # type: ignore[method-assign,unused-ignore]
    result = evaluate(
        plugin,
        "icr",
        data_dir=data_dir,
        top_k=top_k,
        batch_size=4,
        pair_batch_size=16,
        use_cache=False,
        predictions=out_dir / "pred.jsonl",
    )
    rank, world = rank_and_world()
    (out_dir / f"pairs-{rank}.json").write_text(json.dumps(calls))
    if rank == 0:
        (out_dir / "result.json").write_text(
            json.dumps({"metrics": result.metrics, "world": world, "num_queries": result.num_queries})
        )
    finish()


if __name__ == "__main__":
    main()
