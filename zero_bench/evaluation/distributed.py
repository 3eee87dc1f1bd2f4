"""torch.distributed helpers: under ``torchrun`` each rank does 1/N of the work and the results are gathered."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init_from_env(device: torch.device) -> bool:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); return whether distributed."""
    if dist.is_available() and dist.is_initialized():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return True


def rank_and_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def shard(n: int, rank: int, world: int) -> range:
    """Contiguous block of ``range(n)`` for ``rank``; blocks differ in size by at most one."""
    base, extra = divmod(n, world)
    start = rank * base + min(rank, extra)
    return range(start, start + base + (1 if rank < extra else 0))


def gather_rows(tensor: torch.Tensor, sizes: list[int]) -> torch.Tensor:
    """Concatenate every rank's block (rank r holds ``sizes[r]`` rows) along dim 0, on every rank."""
    _, world = rank_and_world()
    if world == 1:
        return tensor
    padded = torch.zeros((max(sizes), *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
    padded[: tensor.shape[0]] = tensor
    if dist.get_backend() == "gloo" and padded.dtype in (torch.bfloat16, torch.float16):
        # gloo cannot all-gather half types everywhere: send as float32.
        parts = [torch.empty_like(padded, dtype=torch.float32) for _ in range(world)]
        dist.all_gather(parts, padded.float())
        parts = [p.to(tensor.dtype) for p in parts]
    else:
        parts = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(parts, padded)
    return torch.cat([part[:size] for part, size in zip(parts, sizes, strict=False)])


def finish() -> None:
    """Leave the process group cleanly (gloo aborts at interpreter exit otherwise)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
