"""Two-way distillation machinery: the momentum (EMA) teacher and the feature queue.

* :func:`make_teacher` -- a frozen copy of the student (no gradients, no dropout).
* :func:`ema_update` -- ``teacher = m * teacher + (1 - m) * student`` for every parameter.
* :class:`FeatureQueue` -- a FIFO of the teacher's image / text embeddings (and image ids) of past batches.
* :func:`contrast_bank` -- the candidates GCPR contrasts the student's embeddings with when TgD is on.
* :func:`tgd_targets` -- TgD soft targets: the teacher's softmax similarity distributions over the bank.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import torch
from torch import nn

from zero_bench.errors import ZeroBenchError

CONTRAST_BANKS = ("split", "teacher", "student", "mixed")
M = TypeVar("M", bound=nn.Module)


def make_teacher(student: M) -> M:
    teacher = copy.deepcopy(student)
    for p in teacher.parameters():
        p.requires_grad_(False)
    teacher.eval()
    return teacher


class EmaPairs(NamedTuple):
    """The teacher's parameters and buffers with the student's of the same names, in one order."""

    targets: list[torch.Tensor]
    sources: list[torch.Tensor]
    target_buffers: list[torch.Tensor]
    source_buffers: list[torch.Tensor]


def ema_pairs(teacher: nn.Module, student: nn.Module) -> EmaPairs:
    """Pair the two modules' parameters and buffers by name, once: the pairs stay valid while the modules keep
    their parameter objects (optimiser steps, ``load_state_dict`` and ``.to`` all update them in place)."""
    t_params, t_bufs = dict(teacher.named_parameters()), dict(teacher.named_buffers())
    params = [(t_params[name], p) for name, p in student.named_parameters()]
    bufs = [(t_bufs[name], b) for name, b in student.named_buffers() if name in t_bufs]
    return EmaPairs([t for t, _ in params], [p for _, p in params], [t for t, _ in bufs], [b for _, b in bufs])


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, momentum: float, pairs: EmaPairs | None = None) -> None:
    """Exponential moving average of the student's parameters (buffers are copied).  The same ``mul_`` and ``add_``
    on every parameter as a loop over them, in two multi-tensor calls, over ``pairs`` (:func:`ema_pairs`, made
    here when not given): the loop and the pairing by name cost r2d2-toy's pre-training about 5 ms a step."""
    pairs = pairs if pairs is not None else ema_pairs(teacher, student)
    torch._foreach_mul_(pairs.targets, momentum)
    torch._foreach_add_(pairs.targets, pairs.sources, alpha=1.0 - momentum)
    for target, source in zip(pairs.target_buffers, pairs.source_buffers, strict=True):
        target.copy_(source)


class FeatureQueue(nn.Module):
    """Circular queue of ``size`` teacher embeddings per modality (buffers, so they are checkpointed).

    ``bank()`` returns the valid entries (the oldest first is irrelevant to the losses); ids -1 = empty.
    """

    image_feat: torch.Tensor
    text_feat: torch.Tensor
    image_ids: torch.Tensor
    ptr: torch.Tensor
    filled: torch.Tensor

    def __init__(self, size: int, dim: int) -> None:
        super().__init__()
        self.size = int(size)
        self.register_buffer("image_feat", torch.zeros(self.size, dim))
        self.register_buffer("text_feat", torch.zeros(self.size, dim))
        self.register_buffer("image_ids", torch.full((self.size,), -1, dtype=torch.long))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("filled", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def enqueue(self, image_feat: torch.Tensor, text_feat: torch.Tensor, image_ids: torch.Tensor) -> None:
        if self.size == 0:
            return
        n = image_feat.shape[0]
        if n >= self.size:
            image_feat, text_feat, image_ids = (
                image_feat[-self.size :],
                text_feat[-self.size :],
                image_ids[-self.size :],
            )
            n = self.size
        idx = (int(self.ptr) + torch.arange(n, device=self.ptr.device)) % self.size
        self.image_feat[idx] = image_feat.detach().to(self.image_feat.dtype)
        self.text_feat[idx] = text_feat.detach().to(self.text_feat.dtype)
        self.image_ids[idx] = image_ids.to(torch.long)
        self.ptr.fill_((int(self.ptr) + n) % self.size)
        self.filled.fill_(min(self.size, int(self.filled) + n))

    def bank(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        k = int(self.filled)
        return self.image_feat[:k], self.text_feat[:k], self.image_ids[:k]


@torch.no_grad()
def tgd_targets(
    t_image_feat: torch.Tensor,
    t_text_feat: torch.Tensor,
    t_image_bank: torch.Tensor,
    t_text_bank: torch.Tensor,
    temp: torch.Tensor | float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher distributions ``softmax(t_image @ t_text_bank / temp)`` (i2t) and the t2i counterpart, [n, m]."""
    i2t = torch.softmax(t_image_feat.float() @ t_text_bank.float().t() / float(temp), dim=1)
    t2i = torch.softmax(t_text_feat.float() @ t_image_bank.float().t() / float(temp), dim=1)
    return i2t, t2i


@dataclass(frozen=True)
class ContrastBank:
    """What the student's queries are contrasted with (``image`` / ``text``, row ids ``image_ids``) and the
    teacher's embeddings of the same rows (``t_image`` / ``t_text``), over which TgD's targets are computed."""

    image: torch.Tensor
    text: torch.Tensor
    image_ids: torch.Tensor
    t_image: torch.Tensor
    t_text: torch.Tensor


def contrast_bank(
    kind: str,
    student: tuple[torch.Tensor, torch.Tensor],
    teacher: tuple[torch.Tensor, torch.Tensor],
    ids: torch.Tensor,
    queued: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None,
) -> ContrastBank:
    """The GCPR candidates under TgD.  ``student`` / ``teacher``: (image, text) embeddings of the gathered batch;
    ``ids``: their image ids; ``queued``: the queue's (image, text, ids) or None.

    * ``split`` (default): handled by the objective -- GCPR's one-hot targets over the student's batch, and TgD as
      a separate term (``losses.tgd_loss``) over the ``teacher`` bank returned here.
    * ``teacher`` (as ALBEF / MoCo): the teacher's batch + the queue.  Every candidate comes from one
      encoder, so the only way to raise the positive's share is to tell pairs apart.
    * ``student``: the student's batch (gradient through both sides, as GCPR without TgD); the queue is unused.
    * ``mixed`` (the old default, kept to reproduce the collapse): the student's batch + the teacher's queue.  The
      candidates of a query then come from two encoders: every positive is a student row and most negatives are
      queued teacher rows, so a direction shared by all student embeddings and absent from the queue raises every
      positive against every queued negative at once.  The student learns that shortcut instead of telling pairs
      apart; the EMA teacher inherits it, the queue fills with it, and the chase ends with all embeddings equal
      (loss ln(batch + queue)); the faster the teacher (lower momentum), the faster the collapse.
    """
    s_img, s_txt = student
    t_img, t_txt = teacher
    if kind == "student" or (kind in ("teacher", "split") and queued is None):
        cand = (s_img, s_txt) if kind == "student" else (t_img.to(s_img.dtype), t_txt.to(s_txt.dtype))
        return ContrastBank(cand[0], cand[1], ids, t_img, t_txt)
    if kind not in CONTRAST_BANKS:
        raise ZeroBenchError(f"contrast_bank must be one of {', '.join(CONTRAST_BANKS)}, not {kind!r}")
    if queued is None:  # mixed without a queue is the student's batch
        return ContrastBank(s_img, s_txt, ids, t_img, t_txt)
    q_img, q_txt, q_ids = queued
    t_image, t_text = torch.cat([t_img, q_img]), torch.cat([t_txt, q_txt])
    all_ids = torch.cat([ids, q_ids])
    if kind in ("teacher", "split"):
        return ContrastBank(t_image.to(s_img.dtype), t_text.to(s_txt.dtype), all_ids, t_image, t_text)
    image = torch.cat([s_img, q_img.to(s_img.dtype)])
    text = torch.cat([s_txt, q_txt.to(s_txt.dtype)])
    return ContrastBank(image, text, all_ids, t_image, t_text)
