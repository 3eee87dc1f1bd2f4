"""A model-agnostic training loop: DDP under torchrun (gloo on CPU, NCCL on GPU), mixed precision on GPU,
gradient accumulation, atomic resumable checkpoints, JSON Lines metrics, progress bar, model selection on a
validation metric.  A model plugin drives it with an :class:`Objective` and a :class:`BatchSource`, and subclasses
:class:`TrainingLoop` for what is its own (model file format, gradient checkpointing, DDP switches); the R2D2
plugin's ``zero_bench_r2d2.training.trainer.Trainer`` is the example.

Checkpoint ``checkpoint-last.pt`` (and ``checkpoint-STEP.pt`` with ``keep_every``) is one torch file:
``model`` (the objective's ``.model`` state dict), ``training_modules`` (the objective's ``training_state()``:
heads, teachers, queues), ``optimizer``, ``scheduler``, ``scaler``, ``rng`` (torch / CUDA / numpy / python),
``position`` (epoch, batches done in the epoch, optimizer step), ``config`` and ``best`` (model selection).
Everything is stored as tensors and plain Python values, so it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import inspect
import json
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from torch import nn

from zero_bench.checks import check_count, check_number
from zero_bench.errors import ZeroBenchError
from zero_bench.evaluation.distributed import barrier, mean_over_ranks
from zero_bench.fileio import atomic_path, atomic_write_text, check_output_folder

CHECKPOINT_LAST = "checkpoint-last.pt"
METRICS_FILE = "metrics.jsonl"
BEST_FILE = "model-best.json"  # what model-best is: metric, value, epoch, step, kept_start


@dataclass
class TrainConfig:
    output_dir: str
    epochs: float = 1.0
    max_steps: int | None = None  # optimizer steps; overrides epochs for the schedule length
    stop_after: int | None = None  # stop (as if interrupted) after this many optimizer steps; schedule unchanged
    time_limit_s: float | None = None  # stop after this much training wall time (schedule unchanged; model exported)
    batch_size: int = 32  # per rank and micro-batch
    grad_accum: int = 1
    lr: float = 1e-4
    weight_decay: float = 0.05
    warmup_steps: int = 500
    schedule: str = "cosine"  # cosine | constant
    min_lr_ratio: float = 0.0
    clip_grad: float | None = None
    precision: str = "auto"  # auto (bf16 on a GPU that has it, else fp16 on GPU; fp32 on CPU) | fp32 | fp16 | bf16
    gradient_checkpointing: bool = False
    num_workers: int = 0
    seed: int = 0
    device: str | None = None
    save_every: int = 0  # optimizer steps; 0 = only at epoch ends and at the end
    keep_every: int = 0  # also keep checkpoint-STEP.pt every this many steps
    log_every: int = 1
    show_progress: bool = True
    select_metric: str | None = None  # metric of eval_fn to maximise (validation split)
    select_start: bool = True  # with select_metric: the starting weights (before any update) are a candidate too

    def __post_init__(self) -> None:
        """Refuse sizes that would train on nothing or silently fall back (``max_steps`` 0 or -5, ``lr`` NaN), and
        an output folder that is a file."""
        check_output_folder(self.output_dir)
        check_number("epochs", self.epochs)
        check_number("lr", self.lr)
        check_number("weight_decay", self.weight_decay, positive=False)
        check_number("min_lr_ratio", self.min_lr_ratio, positive=False, at_most=1.0)
        for name in ("max_steps", "time_limit_s", "clip_grad"):
            value = getattr(self, name)
            if value is not None:
                (check_count if name == "max_steps" else check_number)(name, value)
        if self.stop_after is not None:
            check_count("stop_after", self.stop_after, least=0)
        for name in ("batch_size", "grad_accum", "log_every"):
            check_count(name, getattr(self, name))
        for name in ("warmup_steps", "num_workers", "seed", "save_every", "keep_every"):
            check_count(name, getattr(self, name), least=0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------------------------------------------
# RNG and precision


def rng_state() -> dict[str, Any]:
    py = random.getstate()
    np_state: tuple[Any, ...] = np.random.get_state(legacy=True)  # type: ignore[assignment]
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": [
            np_state[0],
            torch.from_numpy(np_state[1].astype(np.int64)),
            int(np_state[2]),
            int(np_state[3]),
            float(np_state[4]),
        ],
        "python": [py[0], list(py[1]), py[2]],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    n = state["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    p = state["python"]
    random.setstate((p[0], tuple(p[1]), p[2]))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resolve_precision(precision: str, device: torch.device) -> str:
    if precision == "auto":
        if device.type != "cuda":
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if precision not in ("fp32", "fp16", "bf16"):
        raise ZeroBenchError(f"unknown precision {precision!r} (auto, fp32, fp16, bf16)")
    if precision == "fp16" and device.type != "cuda":
        raise ZeroBenchError("fp16 training needs a GPU (use fp32 or bf16 on CPU)")
    return precision


# ----------------------------------------------------------------------------------------------------------------
# optimiser and schedule


def param_groups(module: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """AdamW groups: no weight decay on biases, LayerNorm weights, embeddings' norms and the temperature."""
    decay, no_decay = [], []
    for name, p in module.named_parameters():
        if not p.requires_grad:
            continue
        if p.ndim < 2 or name.endswith(".bias") or "LayerNorm" in name or "layer_norm" in name or name.endswith("temp"):
            no_decay.append(p)
        else:
            decay.append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def adamw(groups: list[dict[str, Any]], lr: float) -> torch.optim.AdamW:
    """AdamW with its fused kernel where torch has one for the parameters' device (CPU since torch 2.4, CUDA): the
    same update in one kernel instead of a Python loop over the parameters (about 4x faster for r2d2-toy's 201
    tensors on the CPU; ``benchmarks/train.py`` prints both)."""
    try:
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999), fused=True)
    except RuntimeError:  # no fused kernel for this device or dtype (torch < 2.4 on the CPU, MPS, ...)
        return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.999))


def lr_lambda_factory(warmup: int, total: int, schedule: str, min_ratio: float) -> Callable[[int], float]:
    def fn(step: int) -> float:
        if warmup > 0 and step < warmup:
            return (step + 1) / warmup
        if schedule == "constant":
            return 1.0
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))

    return fn


# ----------------------------------------------------------------------------------------------------------------


# the contract with the model plugin


@runtime_checkable
class Objective(Protocol):
    """What the loop trains: an ``nn.Module`` whose ``forward(batch)`` returns a dict of scalar losses with the
    total under ``"loss"`` (so DDP can wrap it whole).  ``batch`` carries ``"step"``, the optimizer step."""

    @property
    def model(self) -> nn.Module:
        """The network that is exported; the rest is training-only state."""
        ...

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]: ...

    def training_state(self) -> dict[str, torch.Tensor]:
        """Training-only tensors (heads, teacher, queue) saved in checkpoints beside ``model``."""
        ...

    def after_step(self) -> None:
        """Called after every optimizer step (e.g. an EMA teacher update)."""
        ...


@runtime_checkable
class BatchSource(Protocol):
    """The training data of one rank, resumable in the middle of an epoch."""

    def batches_per_epoch(self) -> int: ...

    def epoch(self, epoch: int, skip: int) -> Iterable[dict[str, Any]]:
        """Batches of ``epoch`` (a deterministic order per epoch), the first ``skip`` left out."""
        ...


@dataclass
class _Run:
    """Bookkeeping of one ``fit`` call."""

    stop_at: int
    started: float
    samples_per_step: int
    mark: float = 0.0  # time of the last optimizer step
    data_s: float = 0.0  # time spent waiting for batches
    step_s: float = 0.0  # time between optimizer steps
    micro: int = 0  # micro-batches accumulated towards the next optimizer step
    losses: dict[str, float] = field(default_factory=dict)
    exhausted: bool = False  # the loader ran out of batches in the current epoch
    stopped_by_time: bool = False
    progress: Any = None  # rich Progress on rank 0 when shown
    task: Any = None


class TrainingLoop:
    """Runs ``objective`` over ``loader``.

    ``eval_fn(model)``, if given, runs at each epoch end on every rank (collective under torchrun) and returns a
    metrics dict; ``config.select_metric`` picks the best epoch (validation split only), whose weights go to
    ``model-best`` through :meth:`write_model`, described in ``model-best.json``.  With ``config.select_start`` the
    starting weights are validated before the first update and are a candidate too: a later epoch replaces them only
    when strictly better, so selection never returns weights worse on validation than the ones training started
    from; ``best["kept_start"]`` says when it kept them.
    """

    def __init__(
        self,
        objective: Objective,
        loader: BatchSource,
        config: TrainConfig,
        *,
        rank: int = 0,
        world_size: int = 1,
        device: torch.device | None = None,
        eval_fn: Callable[[nn.Module], dict[str, float]] | None = None,
        run_info: dict[str, Any] | None = None,
    ) -> None:
        self.objective = objective
        self.module: nn.Module = objective  # type: ignore[assignment]  # an Objective is an nn.Module
        self.loader = loader
        self.config = config
        self.rank, self.world_size = rank, world_size
        self.device = device or torch.device("cpu")
        self.eval_fn = eval_fn
        self.run_info = run_info or {}
        self.out = Path(config.output_dir).expanduser()
        self.precision = resolve_precision(config.precision, self.device)
        self.module.to(self.device)
        if config.gradient_checkpointing:
            self.enable_gradient_checkpointing()
        self.ddp = self._wrap_ddp() if world_size > 1 else self.module
        self.optimizer = adamw(param_groups(self.module, config.weight_decay), config.lr)
        self.steps_per_epoch = max(1, loader.batches_per_epoch() // config.grad_accum)
        self.total_steps = (
            int(config.max_steps) if config.max_steps else max(1, round(config.epochs * self.steps_per_epoch))
        )
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer,
            lr_lambda_factory(config.warmup_steps, self.total_steps, config.schedule, config.min_lr_ratio),
        )
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")
        self.step = 0  # optimizer steps done
        self.epoch = 0
        self.batch_in_epoch = 0  # micro-batches of the current epoch already consumed
        self.best: dict[str, Any] = {}
        self._last_lr = config.lr
        self.history: list[dict[str, Any]] = []
        self.stopped_by_time = False

    # -- what a model plugin may override -------------------------------------------------------------------------

    def enable_gradient_checkpointing(self) -> None:
        """Recompute activations in backward; only the model knows how."""
        raise ZeroBenchError(f"{type(self).__name__}: this model has no gradient checkpointing")

    def find_unused_parameters(self) -> bool:
        """DDP's ``find_unused_parameters``: True when some parameters get no gradient in a step."""
        return False

    def write_model(self, path: Path) -> Path | None:
        """Write the model file ``path`` (``OUTPUT/model.safetensors``, ``OUTPUT/model-best.safetensors``) for
        evaluation.  The base loop has no model format of its own and writes none: the weights are in
        ``checkpoint-last.pt``."""
        return None

    # -- checkpoints --------------------------------------------------------------------------------------------

    @property
    def model(self) -> nn.Module:
        return self.objective.model

    def _wrap_ddp(self) -> nn.Module:
        params = inspect.signature(nn.parallel.DistributedDataParallel).parameters
        # buffers (e.g. a feature queue) are per rank: never broadcast them from rank 0
        no_sync = "forward_sync_buffers" if "forward_sync_buffers" in params else "broadcast_buffers"
        return nn.parallel.DistributedDataParallel(
            self.module,
            device_ids=[self.device.index] if self.device.type == "cuda" else None,
            find_unused_parameters=self.find_unused_parameters(),
            **{no_sync: False},  # type: ignore[arg-type]
        )

    def state(self) -> dict[str, Any]:
        return {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "training_modules": {k: v.detach().cpu() for k, v in self.objective.training_state().items()},
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": rng_state(),
            "position": {"epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "step": self.step},
            "config": json.dumps(self.config.to_dict()),
            "run": json.dumps(self.run_info, default=str),
            "best": json.dumps(self.best),
        }

    def save(self, name: str = CHECKPOINT_LAST) -> Path | None:
        if self.rank != 0:  # every other rank keeps its own RNG streams (dropout) beside the checkpoint
            with atomic_path(self.out / f"{Path(name).stem}.rng-rank{self.rank}.pt", suffix=".pt") as tmp:
                torch.save(rng_state(), tmp)
            return None
        path = self.out / name
        with atomic_path(path, suffix=".pt") as tmp:
            torch.save(self.state(), tmp)
        return path

    def load(self, path: str | Path) -> None:
        path = Path(path)
        if path.is_dir():
            path = path / CHECKPOINT_LAST
        if not path.is_file():
            raise ZeroBenchError(f"{path}: no checkpoint to resume from")
        state = torch.load(str(path), map_location="cpu", weights_only=True)
        missing = {"model", "optimizer", "scheduler", "position", "rng"} - set(state)
        if missing:
            raise ZeroBenchError(f"{path}: not a resumable training checkpoint (missing {', '.join(sorted(missing))})")
        self.model.load_state_dict(state["model"])
        self._load_training_modules(path, state.get("training_modules") or {})
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        pos = state["position"]
        self.epoch, self.batch_in_epoch, self.step = int(pos["epoch"]), int(pos["batch_in_epoch"]), int(pos["step"])
        self.best = json.loads(state.get("best") or "{}")
        self._load_rng(path, state["rng"])

    def _load_training_modules(self, path: Path, extra: dict[str, torch.Tensor]) -> None:
        if not extra:
            return
        result = self.module.load_state_dict(extra, strict=False)
        bad = [k for k in result.missing_keys if not k.startswith("model.")]
        if bad or result.unexpected_keys:
            raise ZeroBenchError(
                f"{path}: training modules do not match this objective ({(bad or result.unexpected_keys)[:3]})"
            )

    def _load_rng(self, path: Path, rank0_state: dict[str, Any]) -> None:
        if self.rank == 0:
            set_rng_state(rank0_state)
            return
        rank_file = path.with_name(f"{path.stem}.rng-rank{self.rank}.pt")
        if not rank_file.is_file():
            raise ZeroBenchError(
                f"{rank_file}: RNG state of rank {self.rank} missing (resume with the same number of processes)"
            )
        set_rng_state(torch.load(str(rank_file), map_location="cpu", weights_only=True))

    def export(self, name: str) -> Path | None:
        """The model file ``OUTPUT/name`` (rank 0 only), in the plugin's format (:meth:`write_model`)."""
        if self.rank != 0:
            return None
        return self.write_model(self.out / name)

    # -- metrics ------------------------------------------------------------------------------------------------

    def _log(self, row: dict[str, Any]) -> None:
        self.history.append(row)
        if self.rank != 0:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / METRICS_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def _trim_metrics(self) -> None:
        """After a resume, drop logged rows beyond the checkpoint (they will be produced again)."""
        path = self.out / METRICS_FILE
        if self.rank != 0 or not path.is_file():
            return
        keep = [
            line
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= self.step
        ]
        atomic_write_text(path, "".join(line + "\n" for line in keep))

    def _write_run_config(self) -> None:
        if self.rank != 0:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        described = {
            "train": self.config.to_dict(),
            "run": self.run_info,
            "world_size": self.world_size,
            "precision": self.precision,
            "total_steps": self.total_steps,
            "steps_per_epoch": self.steps_per_epoch,
        }
        atomic_write_text(self.out / "train_config.json", json.dumps(described, indent=1, default=str) + "\n")

    # -- loop ---------------------------------------------------------------------------------------------------

    def _autocast(self) -> AbstractContextManager[Any]:
        if self.precision == "fp32":
            return nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _to_device(self, batch: dict[str, Any]) -> dict[str, Any]:
        return {
            k: (v.to(self.device, non_blocking=True) if isinstance(v, torch.Tensor) else v) for k, v in batch.items()
        }

    def _start_progress(self, run: _Run) -> None:
        if self.rank != 0 or not self.config.show_progress:
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        run.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}"),
            TextColumn("{task.fields[speed]} samples/s"),
            TextColumn("data {task.fields[data]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            transient=False,
        )
        run.progress.start()
        run.task = run.progress.add_task(
            "train", total=self.total_steps, completed=self.step, loss="-", speed="-", data="-"
        )

    def fit(self, resume: str | Path | None = None) -> dict[str, Any]:
        """Train until the schedule's end (or ``stop_after`` / ``time_limit_s``); resume from a run folder or
        checkpoint file.  Returns a summary (step, epoch, best, history, wall time, data share)."""
        run = self._begin(resume)
        if self.config.select_metric is not None and self.config.select_start and self.step == 0 and not self.best:
            self._validate_start()
        try:
            while self.step < run.stop_at and self._train_epoch(run):
                self._close_epoch(run)
        finally:
            if run.progress is not None:
                run.progress.stop()
        self.save()
        if self.step >= self.total_steps or run.stopped_by_time:
            self.export("model.safetensors")
        barrier()
        return self._summary(run)

    def _begin(self, resume: str | Path | None) -> _Run:
        cfg = self.config
        if resume is not None:
            self.load(resume)
            self._trim_metrics()
        else:
            seed_everything(cfg.seed * 1009 + self.rank * 7)
        self._write_run_config()
        self.module.train()
        now = time.perf_counter()
        run = _Run(
            stop_at=self.total_steps if cfg.stop_after is None else min(self.total_steps, cfg.stop_after),
            started=now,
            mark=now,
            samples_per_step=cfg.batch_size * cfg.grad_accum * self.world_size,
        )
        self.stopped_by_time = False
        self._start_progress(run)
        return run

    def _epoch_batches(self, run: _Run) -> Iterator[dict[str, Any]]:
        """The rest of the current epoch's batches, until the run's last step; times the waits for data."""
        iterator = iter(self.loader.epoch(self.epoch, self.batch_in_epoch))
        run.exhausted = False
        while self.step < run.stop_at:
            t0 = time.perf_counter()
            try:
                batch = next(iterator)
            except StopIteration:
                run.exhausted = True
                return
            run.data_s += time.perf_counter() - t0
            yield batch

    def _train_epoch(self, run: _Run) -> bool:
        """Train on the current epoch; return whether it was completed (False: stopped inside it)."""
        for batch in self._epoch_batches(run):
            if self._accumulate(batch, run):
                self._optimizer_step()
                self._after_optimizer_step(run)
        return run.exhausted or self.batch_in_epoch >= self.loader.batches_per_epoch()

    def _accumulate(self, batch: dict[str, Any], run: _Run) -> bool:
        """Forward and backward on one micro-batch; return whether the optimizer step is due."""
        cfg = self.config
        batch = self._to_device(batch)
        batch["step"] = self.step
        run.micro += 1
        self.batch_in_epoch += 1
        last_micro = run.micro == cfg.grad_accum
        # gradients are all-reduced only on the last micro-batch of an accumulation
        ddp = self.ddp
        sync = (
            ddp.no_sync() if not last_micro and isinstance(ddp, nn.parallel.DistributedDataParallel) else nullcontext()
        )
        with sync:
            with self._autocast():
                out = self.ddp(batch)
            self.scaler.scale(out["loss"] / cfg.grad_accum).backward()
        for k, v in out.items():
            run.losses[k] = run.losses.get(k, 0.0) + float(v.detach()) / cfg.grad_accum
        return last_micro

    def _optimizer_step(self) -> None:
        cfg = self.config
        if cfg.clip_grad:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_([p for g in self.optimizer.param_groups for p in g["params"]], cfg.clip_grad)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self._last_lr = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step()
        self.objective.after_step()
        self.step += 1

    def _after_optimizer_step(self, run: _Run) -> None:
        """Log, honour the time limit, save checkpoints."""
        cfg = self.config
        run.micro = 0
        now = time.perf_counter()
        dt, run.mark = now - run.mark, now
        run.step_s += dt
        if self.step % max(1, cfg.log_every) == 0 or self.step == run.stop_at:
            self._log_step(run, dt)
        run.losses = {}
        if cfg.time_limit_s is not None and now - run.started > cfg.time_limit_s:
            run.stopped_by_time = self.stopped_by_time = True
            run.stop_at = self.step
        if cfg.save_every and self.step % cfg.save_every == 0:
            self.save()
        if cfg.keep_every and self.step % cfg.keep_every == 0:
            self.save(f"checkpoint-{self.step:07d}.pt")

    def _log_step(self, run: _Run, dt: float) -> None:
        losses = mean_over_ranks(run.losses)
        row = {
            "step": self.step,
            "epoch": self.epoch,
            "lr": self._last_lr,
            **{k: round(v, 6) for k, v in losses.items()},
            "samples_per_s": round(run.samples_per_step / max(dt, 1e-9), 2),
            "data_share": round(run.data_s / max(run.step_s, 1e-9), 4),
            "time": round(time.time(), 3),
        }
        self._log(row)
        if run.progress is not None:
            run.progress.update(
                run.task,
                completed=self.step,
                loss=f"{losses['loss']:.4f}",
                speed=f"{row['samples_per_s']:.1f}",
                data=f"{100 * row['data_share']:.0f}%",
            )

    def _close_epoch(self, run: _Run) -> None:
        if run.micro:  # an incomplete accumulation at the end of an epoch is dropped
            self.optimizer.zero_grad(set_to_none=True)
            run.micro, run.losses = 0, {}
        self._validate()
        self.epoch += 1
        self.batch_in_epoch = 0
        self.save()

    def _validate_start(self) -> None:
        """Validate the starting weights (a selection candidate).  The RNG states are restored afterwards, so the
        training that follows draws exactly what it would have drawn without this validation."""
        state = rng_state()
        self._validate(start=True)
        set_rng_state(state)

    def _validate(self, start: bool = False) -> None:
        """Validation at the end of an epoch (or, ``start``, of the weights before any update).  Under torchrun
        every rank takes part (the evaluator shards the work over the process group and gathers the results); rank
        0 logs and exports the best weights."""
        if self.eval_fn is None:
            return
        self.module.eval()
        with torch.no_grad():
            metrics = self.eval_fn(self.model)
        self.module.train()
        epoch = None if start else self.epoch
        if self.rank == 0:
            row = {
                "step": self.step,
                "epoch": epoch,
                **({"start": True} if start else {}),
                **{f"val_{k}": v for k, v in metrics.items()},
                "time": round(time.time(), 3),
            }
            self._log(row)
        key = self.config.select_metric
        value = metrics.get(key) if key is not None else None
        if value is not None and math.isfinite(value) and (not self.best or value > self.best["value"]):
            self.best = {"metric": key, "value": value, "epoch": epoch, "step": self.step, "kept_start": start}
            self.export("model-best.safetensors")
            if self.rank == 0:
                atomic_write_text(self.out / BEST_FILE, json.dumps(self.best) + "\n")
        barrier()

    def _summary(self, run: _Run) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "best": self.best,
            "history": self.history,
            "stopped_by_time": run.stopped_by_time,
            "wall_s": time.perf_counter() - run.started,
            "data_share": run.data_s / max(run.step_s, 1e-9),
        }
