"""Two-way distillation machinery: the momentum (EMA) teacher and the feature queue.

* :func:`make_teacher` -- a frozen copy of the student (no gradients, no dropout).
* :func:`ema_update` -- ``teacher = m * teacher + (1 - m) * student`` for every parameter.
* :class:`FeatureQueue` -- a FIFO of the teacher's image / text embeddings (and image ids) of past batches.
* :func:`tgd_targets` -- TgD soft targets: the teacher's softmax similarity distributions over batch + queue.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_teacher(student: nn.Module) -> nn.Module:
    teacher = copy.deepcopy(student)
    for p in teacher.parameters():
        p.requires_grad_(False)
    teacher.eval()
    return teacher


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """Exponential moving average of the student's parameters (buffers are copied)."""
    t_params = dict(teacher.named_parameters())
    for name, p in student.named_parameters():
        t = t_params[name]
        t.mul_(momentum).add_(p.detach().to(t.dtype), alpha=1.0 - momentum)
    t_bufs = dict(teacher.named_buffers())
    for name, b in student.named_buffers():
        if name in t_bufs:
            t_bufs[name].copy_(b)


class FeatureQueue(nn.Module):
    """Circular queue of ``size`` teacher embeddings per modality (buffers, so they are checkpointed).

    ``bank()`` returns the valid entries (the oldest first is irrelevant to the losses); ids -1 = empty.
    """

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
