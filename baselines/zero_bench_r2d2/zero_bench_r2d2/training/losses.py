"""R2D2 training objectives, each a separate function on plain tensors.

* :func:`gather_with_grad` -- all-gather over ranks, gradients flowing back through the gather.
* :func:`gcpr_loss` -- global contrastive pre-ranking: symmetric InfoNCE with soft targets over pairs sharing an
  image, optionally mixed with the teacher's distributions (TgD, see :func:`mix_targets`).
* :func:`tgd_loss` -- target-guided distillation as a separate term over the teacher's embeddings.
* :func:`sample_hard_negatives` / :func:`fgr_loss` -- fine-grained ranking (2-way ITM on both cross encoders).
* :func:`mlm_loss` -- masked language modelling on the text-image cross encoder (masking in ``masking.py``).
* :func:`fgd_loss` -- feature-guided distillation (student features on masked text fit the teacher's).
* :func:`matching_loss` -- fine-tuning loss of ICM/IQM: cross-entropy on each head's logits, mean of both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zero_bench.errors import ZeroBenchError
from zero_bench.evaluation.distributed import collective_device, is_distributed, rank_and_world

FGR_CLASS_WEIGHTS = (1.0, 2.0)  # [negative, positive]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every rank (rank order) along dim 0; backward sums the gradients of all ranks."""
    if not is_distributed():
        return x
    from torch.distributed.nn.functional import all_gather

    return torch.cat(all_gather(x.contiguous()), dim=0)


@torch.no_grad()
def gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    if not is_distributed():
        return x
    parts = [torch.empty_like(x) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def local_slice(n_local: int) -> slice:
    """Rows of this rank inside a gathered batch (equal batch sizes on every rank)."""
    rank, _ = rank_and_world()
    return slice(rank * n_local, (rank + 1) * n_local)


@torch.no_grad()
def rank_share(local_count: torch.Tensor | float) -> float:
    """The global count divided by the world size: dividing a rank's SUM by it makes the mean over ranks (what
    DDP's gradient averaging computes) equal to the mean over the whole gathered batch."""
    t = torch.as_tensor(local_count, dtype=torch.float64).clone()
    if is_distributed():
        world = torch.distributed.get_world_size()
        t = t.to(collective_device())
        torch.distributed.all_reduce(t)
        t = t / world
    return float(t)


def positive_mask(ids_local: torch.Tensor, ids_bank: torch.Tensor) -> torch.Tensor:
    """[n_local, n_bank] True where the two rows show the same image (id < 0 never matches)."""
    pos = ids_local.view(-1, 1) == ids_bank.view(1, -1)
    return pos & (ids_local.view(-1, 1) >= 0)


def one_hot_targets(pos: torch.Tensor) -> torch.Tensor:
    """Rows of ``pos`` normalised to sum to one (uniform over all positives of a row)."""
    pos = pos.float()
    return pos / pos.sum(dim=1, keepdim=True).clamp_min(1.0)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return -(F.log_softmax(logits.float(), dim=1) * targets).sum(dim=1).mean()


def mix_targets(hard: torch.Tensor, teacher: torch.Tensor | None, alpha: float) -> torch.Tensor:
    """TgD: ``alpha * teacher + (1 - alpha) * hard`` (the teacher's softmax distributions replace part of the
    one-hot targets); ``teacher=None`` or ``alpha=0`` gives the plain GCPR targets."""
    if teacher is None or alpha == 0:
        return hard
    return alpha * teacher + (1.0 - alpha) * hard


def gcpr_loss(
    image_feat: torch.Tensor,
    text_feat: torch.Tensor,
    image_bank: torch.Tensor,
    text_bank: torch.Tensor,
    temp: torch.Tensor | float,
    image_ids: torch.Tensor,
    bank_image_ids: torch.Tensor,
    teacher_i2t: torch.Tensor | None = None,
    teacher_t2i: torch.Tensor | None = None,
    alpha: float = 0.0,
) -> torch.Tensor:
    """Global contrastive pre-ranking: symmetric InfoNCE, ``(CE_i2t + CE_t2i) / 2``.

    ``image_feat`` / ``text_feat`` [n, d]: this rank's L2-normalised embeddings (row k = pair k).
    ``image_bank`` / ``text_bank`` [m, d]: what they are contrasted with -- the batch gathered from all ranks
    (:func:`gather_with_grad`), optionally followed by queued teacher features.  ``bank_image_ids`` [m]: image id
    of each bank row; every bank row showing the same image as the query is a positive (targets spread evenly).
    ``teacher_i2t`` / ``teacher_t2i`` [n, m]: TgD soft targets mixed in with weight ``alpha``.
    The value is the mean over this rank's rows; averaging it over ranks (as DDP does with gradients) gives the
    loss of the whole gathered batch.
    """
    sim_i2t = image_feat @ text_bank.t() / temp
    sim_t2i = text_feat @ image_bank.t() / temp
    hard = one_hot_targets(positive_mask(image_ids, bank_image_ids))
    t_i2t = mix_targets(hard, teacher_i2t, alpha)
    t_t2i = mix_targets(hard, teacher_t2i, alpha)
    return (soft_cross_entropy(sim_i2t, t_i2t) + soft_cross_entropy(sim_t2i, t_t2i)) / 2


def tgd_loss(
    image_feat: torch.Tensor,
    text_feat: torch.Tensor,
    t_image_bank: torch.Tensor,
    t_text_bank: torch.Tensor,
    temp: torch.Tensor | float,
    teacher_i2t: torch.Tensor,
    teacher_t2i: torch.Tensor,
) -> torch.Tensor:
    """TgD as its own term: the student's similarity distributions over the TEACHER's embeddings (its gathered
    batch and the queue) fit the teacher's own distributions over them (soft cross-entropy, both directions).

    Every candidate comes from the teacher, and the targets sum to one as the student's distribution does, so
    shifting all student embeddings together gains nothing: the term can only make the student rank the
    candidates as the teacher does (see ``distill.contrast_bank`` for the mixed bank that collapses)."""
    sim_i2t = image_feat @ t_text_bank.to(image_feat.dtype).t() / temp
    sim_t2i = text_feat @ t_image_bank.to(text_feat.dtype).t() / temp
    return (soft_cross_entropy(sim_i2t, teacher_i2t) + soft_cross_entropy(sim_t2i, teacher_t2i)) / 2


@torch.no_grad()
def sample_hard_negatives(
    sim: torch.Tensor, pos: torch.Tensor, temp: torch.Tensor | float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """One index per row drawn from ``softmax(sim / temp)`` with the row's positives masked out.

    ``sim`` [n, m] similarities of each query row to the candidates, ``pos`` [n, m] True for positives.
    Never returns a positive; raises when a row has no negative candidate (batch too small / one image).
    """
    if bool(pos.all(dim=1).any()):
        raise ZeroBenchError(
            "FGR: a row of the batch has no negative candidate (batch of one image); use a larger batch"
        )
    logits = sim.float() / float(temp)
    weights = torch.softmax(logits, dim=1).masked_fill(pos, 0.0)
    # rows whose negatives all underflowed to 0: fall back to uniform over the negatives
    empty = weights.sum(dim=1) <= 0
    if bool(empty.any()):
        weights[empty] = (~pos[empty]).float()
    return torch.multinomial(weights.cpu(), 1, generator=generator).view(-1).to(sim.device)


def fgr_loss(
    logits_text_image: torch.Tensor,
    logits_image_text: torch.Tensor,
    labels: torch.Tensor,
    class_weights: tuple[float, float] = FGR_CLASS_WEIGHTS,
) -> torch.Tensor:
    """Fine-grained ranking: weighted 2-way cross-entropy on the LOGITS of each head, mean of the two heads.

    ``logits_*`` [p, 2] (column 1 = match), ``labels`` [p] 0/1.  Class weights [negative, positive] =
    [1, 2] balance one positive against two hard negatives (weighted mean, as ``F.cross_entropy``).
    """
    weight = torch.tensor(class_weights, dtype=torch.float32, device=labels.device)
    ce_t = F.cross_entropy(logits_text_image.float(), labels, weight=weight)
    ce_i = F.cross_entropy(logits_image_text.float(), labels, weight=weight)
    return (ce_t + ce_i) / 2


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor, denominator: float | None = None) -> torch.Tensor:
    """Cross-entropy over the predicted positions (``labels`` = -100 elsewhere).

    Mean over the predicted tokens; ``denominator`` (see :func:`rank_share`) replaces this rank's count so that
    the mean over ranks equals the mean over all tokens of the gathered batch.  0 when nothing is predicted.
    """
    flat = labels.reshape(-1)
    n = float((flat != -100).sum())
    denom = n if denominator is None else denominator
    if n == 0 or denom <= 0:
        return logits.sum() * 0.0
    total = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), flat, ignore_index=-100, reduction="sum")
    return total / denom


def fgd_loss(
    student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor | None = None, denominator: float | None = None
) -> torch.Tensor:
    """Feature-guided distillation: mean squared error between student and (detached) teacher token features,
    averaged over the valid (``mask`` = 1) positions and the feature dimension (``denominator`` as in
    :func:`mlm_loss`)."""
    diff = (student.float() - teacher.detach().float()).pow(2).mean(dim=-1)
    if mask is None:
        mask = torch.ones(diff.shape, device=diff.device)
    m = mask.to(diff.dtype)
    denom = float(m.sum()) if denominator is None else denominator
    return (diff * m).sum() / max(denom, 1.0)


def matching_loss(
    logits_text_image: torch.Tensor, logits_image_text: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """ICM/IQM fine-tuning: cross-entropy on each head's logits (not on averaged probabilities), mean of both."""
    return (F.cross_entropy(logits_text_image.float(), labels) + F.cross_entropy(logits_image_text.float(), labels)) / 2
