"""Worker for test_distributed: two training iterations of the full R2D2 pre-training objective on a fixed batch.

Single process: ``python dist_worker.py OUT`` (whole batch).  Distributed: ``python -m torch.distributed.run
--standalone --nproc-per-node 2 dist_worker.py OUT`` (each rank its half, DDP over gloo).  Rank 0 writes the
losses (mean over ranks) and every parameter gradient (after DDP's averaging) of both iterations to OUT.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

torch.set_num_threads(1)

from zero_bench_r2d2.config import load_config  # noqa: E402
from zero_bench_r2d2.modeling import R2D2Model  # noqa: E402
from zero_bench_r2d2.tokenizer import get_tokenizer  # noqa: E402
from zero_bench_r2d2.training.masking import whole_word_mask  # noqa: E402
from zero_bench_r2d2.training.objectives import ObjectiveConfig, RetrievalObjective  # noqa: E402

TEXTS = [
    "画面左上方有一个红色的大圆形",
    "中间是一个小的蓝色三角形",
    "右下方是绿色的正方形",
    "背景是浅灰色的渐变",
    "黄色的星形位于左侧",
    "紫色菱形 黑色十字形",
    "一幅简单的图形画：橙色六边形",
    "在浅蓝色的背景上有两个图形",
]
IMAGE_IDS = [0, 1, 2, 2, 3, 4, 5, 6]  # rows 2 and 3 show the same image


def batch() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(123)
    pixels = torch.randn(7, 3, 32, 32, generator=g)[torch.tensor(IMAGE_IDS)]
    tok = get_tokenizer()
    encs = [whole_word_mask(t, tok, np.random.default_rng(i), rate=0.3) for i, t in enumerate(TEXTS)]
    return {
        "pixels": pixels,
        "input_ids": torch.stack([e["original_ids"] for e in encs]),
        "attention_mask": torch.stack([e["attention_mask"] for e in encs]),
        "mlm_input_ids": torch.stack([e["input_ids"] for e in encs]),
        "mlm_labels": torch.stack([e["labels"] for e in encs]),
        "image_ids": torch.tensor(IMAGE_IDS),
    }


def main(out: str) -> None:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        torch.distributed.init_process_group("gloo")
    rank = torch.distributed.get_rank() if world > 1 else 0
    cfg = load_config("r2d2-tiny")
    for section in (cfg.text, cfg.joint):
        section["hidden_dropout_prob"] = section["attention_probs_dropout_prob"] = 0.0
    torch.manual_seed(0)
    model = R2D2Model(cfg)
    obj = RetrievalObjective(model, ObjectiveConfig(queue_size=16, seed=5))
    net = obj if world == 1 else torch.nn.parallel.DistributedDataParallel(obj, broadcast_buffers=False)
    # plain SGD: Adam would turn float noise in near-zero gradients into sign flips of whole updates
    opt = torch.optim.SGD([p for p in obj.parameters() if p.requires_grad], lr=0.5)
    full = batch()
    n = full["pixels"].shape[0] // world
    local = {k: v[rank * n : (rank + 1) * n] for k, v in full.items()}
    obj.train()
    record = []
    for step in range(2):
        out_losses = net(dict(local, step=step))
        out_losses["loss"].backward()
        losses = {k: v.detach().double() for k, v in out_losses.items()}
        if world > 1:
            for v in losses.values():
                torch.distributed.all_reduce(v)
                v /= world
        grads = {k: p.grad.detach().clone() for k, p in obj.named_parameters() if p.grad is not None}
        record.append({"losses": {k: float(v) for k, v in losses.items()}, "grads": grads})
        opt.step()
        opt.zero_grad(set_to_none=True)
        obj.after_step()
    if rank == 0:
        torch.save(record, out)
    if world > 1:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
