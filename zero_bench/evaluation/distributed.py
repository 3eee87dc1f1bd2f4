"""torch.distributed helpers, the one place for them (evaluation, data sharding, training, losses): under
``torchrun`` each rank does 1/N of the work and the results are gathered."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from zero_bench.errors import ZeroBenchError


def is_initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def is_distributed() -> bool:
    """A process group with more than one rank is running."""
    return is_initialized() and dist.get_world_size() > 1


def init_from_env(device: torch.device) -> bool:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); return whether distributed."""
    if is_initialized():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return True


def init_distributed(device: str | None = None) -> tuple[int, int, torch.device]:
    """(rank, world size, device) for training: picks this rank's GPU under torchrun (``LOCAL_RANK``), else the
    CPU, and joins the process group (gloo on CPU, NCCL on GPU)."""
    want_cuda = (device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    if want_cuda and not torch.cuda.is_available():
        raise ZeroBenchError("device cuda requested but no CUDA GPU is available")
    if want_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    init_from_env(dev)
    rank, world = rank_and_world()
    return rank, world, dev


def rank_and_world() -> tuple[int, int]:
    if is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def barrier() -> None:
    if is_initialized():
        dist.barrier()


def collective_device() -> torch.device:
    """Where tensors for a collective must live: this rank's GPU under NCCL, else the CPU."""
    if is_initialized() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def mean_over_ranks(values: dict[str, float]) -> dict[str, float]:
    """Each value averaged over the ranks (the values themselves when not distributed)."""
    if not is_initialized() or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=collective_device())
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist(), strict=True))


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
    if is_initialized():
        dist.barrier()
        dist.destroy_process_group()
