"""Training modules that turn a batch into losses: pre-training (GCPR + FGR + MLM + TgD + FgD), retrieval
fine-tuning (GCPR + FGR, frozen image encoder) and matching fine-tuning (cross-entropy on both heads' logits).

Each is an ``nn.Module`` whose ``forward(batch)`` returns a dict of scalar losses with the weighted total under
``"loss"``, so DDP can wrap it whole.  The R2D2 network is ``.model`` (official key names); training-only state
(MLM head, EMA teacher, feature queue) lives beside it and is never part of an exported model checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from zero_bench.errors import ZeroBenchError
from zero_bench_r2d2.modeling import R2D2Model
from zero_bench_r2d2.training import losses as L
from zero_bench_r2d2.training.distill import (
    CONTRAST_BANKS,
    EmaPairs,
    FeatureQueue,
    contrast_bank,
    ema_pairs,
    ema_update,
    make_teacher,
    tgd_targets,
)


@dataclass
class ObjectiveConfig:
    """Loss weights and distillation settings.  Paper: which objectives; our choice: every value below
    (the pre-training code was never released).  A weight of 0 switches an objective off."""

    gcpr_weight: float = 1.0
    fgr_weight: float = 1.0
    mlm_weight: float = 1.0
    tgd_alpha: float = 0.4  # weight of the teacher's soft targets in GCPR (ALBEF's distillation weight)
    fgd_weight: float = 1.0
    momentum: float = 0.995  # EMA teacher
    queue_size: int = 57_600  # teacher feature queue (ALBEF's largest)
    contrast_bank: str = "split"  # GCPR candidates under TgD: split | teacher | student | mixed (distill.contrast_bank)
    tgd_rampup_steps: int = 0  # TgD weight ramped up linearly over these steps (ALBEF: the first epoch)
    fgr_easy_steps: int = 0  # curriculum (ours): FGR negatives drawn uniformly (not hard) for these first steps
    mask_rate: float = 0.15  # whole-word masking
    fgr_class_weights: tuple[float, float] = L.FGR_CLASS_WEIGHTS
    freeze_image_encoder: bool = False
    seed: int = 0

    @property
    def uses_teacher(self) -> bool:
        return self.tgd_alpha > 0 or self.fgd_weight > 0

    @property
    def uses_masked_text(self) -> bool:
        return self.mlm_weight > 0 or self.fgd_weight > 0

    def all_on(self) -> bool:
        return self.gcpr_weight > 0 and self.fgr_weight > 0 and self.mlm_weight > 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ObjectiveConfig:
        known = {f.name for f in fields(cls)}
        out = cls(**{k: v for k, v in data.items() if k in known})
        out.fgr_class_weights = tuple(out.fgr_class_weights)  # type: ignore[assignment]
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __post_init__(self) -> None:
        if self.contrast_bank not in CONTRAST_BANKS:
            raise ZeroBenchError(
                f"contrast_bank must be one of {', '.join(CONTRAST_BANKS)}, not {self.contrast_bank!r}"
            )


@dataclass
class _Features:
    """The student's outputs for one batch (this rank's rows, and the embeddings gathered from every rank)."""

    image_tokens: torch.Tensor
    text_tokens: torch.Tensor
    mask: torch.Tensor
    img_feat: torch.Tensor
    txt_feat: torch.Tensor
    img_all: torch.Tensor
    txt_all: torch.Tensor
    image_ids: torch.Tensor
    ids_all: torch.Tensor


def word_embedding_weight(model: R2D2Model) -> torch.Tensor:
    """The text word embeddings (the MLM decoder is tied to them)."""
    embeddings = cast(nn.Module, model.text_encoder.embeddings)
    return cast(torch.Tensor, cast(nn.Module, embeddings.word_embeddings).weight)


class MLMHead(nn.Module):
    """BERT prediction head (dense -> GELU -> LayerNorm -> decoder tied to the text word embeddings + bias).

    Training-only: saved with the training state, not in the model checkpoint."""

    def __init__(self, hidden: int, vocab_size: int, eps: float = 1e-12) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.bias = nn.Parameter(torch.zeros(vocab_size))
        nn.init.normal_(self.dense.weight, std=0.02)
        nn.init.zeros_(self.dense.bias)

    def forward(self, hidden: torch.Tensor, decoder_weight: torch.Tensor) -> torch.Tensor:
        x = self.LayerNorm(F.gelu(self.dense(hidden)))
        return F.linear(x, decoder_weight, self.bias)


def freeze_unused(model: R2D2Model) -> None:
    """Modules R2D2 never uses (kept only for the official key layout): no gradients, so DDP has nothing to wait for."""
    unused: list[nn.Module] = [cast(nn.Module, model.visual_encoder.post_layernorm)]
    pooler = getattr(model.text_encoder, "pooler", None)
    if pooler is not None:
        unused.append(pooler)
    if model.has_cross_encoders:
        unused += [model.text_joint_layer.embeddings, model.img_joint_layer.embeddings]
    for module in unused:
        for p in module.parameters():
            p.requires_grad_(False)


def freeze_image_encoder(model: R2D2Model) -> None:
    for p in model.visual_encoder.parameters():
        p.requires_grad_(False)


def freeze_for_training(model: R2D2Model, config: ObjectiveConfig) -> None:
    """What every objective freezes: the unused modules, and the image encoder when the recipe says so."""
    freeze_unused(model)
    if config.freeze_image_encoder:
        freeze_image_encoder(model)


def _step_generator(seed: int, step: int) -> torch.Generator:
    """Same draws on every rank and after a resume: hard negatives depend only on (seed, step)."""
    return torch.Generator().manual_seed((int(seed) * 1_000_003 + int(step)) % (2**63 - 1))


class RetrievalObjective(nn.Module):
    """GCPR + FGR (+ MLM, TgD, FgD when enabled): pre-training and retrieval fine-tuning.

    Batch: ``pixels`` [b, 3, s, s], ``input_ids`` / ``attention_mask`` [b, n], ``image_ids`` [b] (rows with the
    same id show the same image), ``step`` (int); with MLM / FgD also ``mlm_input_ids`` and ``mlm_labels``.
    """

    def __init__(self, model: R2D2Model, config: ObjectiveConfig) -> None:
        super().__init__()
        self.model = model
        self.config = config
        freeze_for_training(model, config)
        self.mlm_head: MLMHead | None = None
        if config.mlm_weight > 0:
            self.mlm_head = MLMHead(model.config.joint_width, word_embedding_weight(model).shape[0])
        self.teacher: R2D2Model | None = make_teacher(model) if config.uses_teacher else None
        self._ema_pairs: EmaPairs | None = None  # paired on the first update (after the trainer's ``.to``)
        self.queue: FeatureQueue | None = None
        if config.tgd_alpha > 0 and config.queue_size > 0:
            self.queue = FeatureQueue(config.queue_size, model.config.resolved_embed_dim())

    def train(self, mode: bool = True) -> RetrievalObjective:
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()
        return self

    def training_state(self) -> dict[str, torch.Tensor]:
        """Everything beside the model weights (MLM head, teacher, queue), for the resumable checkpoint."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("model.")}

    @torch.no_grad()
    def after_step(self) -> None:
        self.model.clamp_temperature_()
        if self.teacher is not None:
            if self._ema_pairs is None:
                self._ema_pairs = ema_pairs(self.teacher, self.model)
            ema_update(self.teacher, self.model, self.config.momentum, self._ema_pairs)

    def _encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        if self.config.freeze_image_encoder:
            with torch.no_grad():
                return self.model.encode_image(pixels)
        return self.model.encode_image(pixels)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Named steps: encode -> teacher -> GCPR (+ TgD) -> FGR -> MLM / FgD -> weighted total."""
        feats = self._encode(batch)
        teacher = self._teacher_features(batch)
        out: dict[str, torch.Tensor] = {}
        if self.config.gcpr_weight > 0:
            out["gcpr"] = self._gcpr(feats, teacher, int(batch.get("step", 0)))
        if self.config.fgr_weight > 0:
            out["fgr"] = self._fgr(feats, batch)
        if self.config.uses_masked_text and "mlm_input_ids" in batch:
            out |= self._mlm_and_fgd(feats, teacher, batch)
        out["loss"] = self._total(out, batch["pixels"].device)
        return out

    def _encode(self, batch: dict[str, Any]) -> _Features:
        """The student's token states and embeddings, and the embeddings gathered from every rank."""
        model = self.model
        image_tokens = self._encode_image(batch["pixels"])
        text_tokens = model.encode_text(batch["input_ids"], batch["attention_mask"])
        img_feat, txt_feat = model.image_embed(image_tokens), model.text_embed(text_tokens)
        return _Features(
            image_tokens=image_tokens,
            text_tokens=text_tokens,
            mask=batch["attention_mask"],
            img_feat=img_feat,
            txt_feat=txt_feat,
            img_all=L.gather_with_grad(img_feat),
            txt_all=L.gather_with_grad(txt_feat),
            image_ids=batch["image_ids"],
            ids_all=L.gather_no_grad(batch["image_ids"]),
        )

    @torch.no_grad()
    def _teacher_features(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """The EMA teacher's token states and embeddings of the original text ({} without a teacher)."""
        if self.teacher is None:
            return {}
        teacher = self.teacher
        t_img_tokens = teacher.encode_image(batch["pixels"])
        t_txt_tokens = teacher.encode_text(batch["input_ids"], batch["attention_mask"])
        return {
            "img_tokens": t_img_tokens,
            "txt_tokens": t_txt_tokens,
            "img_feat": teacher.image_embed(t_img_tokens),
            "txt_feat": teacher.text_embed(t_txt_tokens),
        }

    def tgd_weight(self, step: int) -> float:
        """TgD's weight at ``step``: ``tgd_alpha`` ramped up linearly over ``tgd_rampup_steps`` (0 = no ramp)."""
        ramp = self.config.tgd_rampup_steps
        return self.config.tgd_alpha * (min(1.0, (step + 1) / ramp) if ramp > 0 else 1.0)

    def _gcpr(self, f: _Features, teacher: dict[str, torch.Tensor], step: int) -> torch.Tensor:
        """GCPR over the gathered batch; with TgD, soft targets from the teacher over its candidate bank."""
        cfg, temp = self.config, self.model.temp
        if cfg.tgd_alpha <= 0 or not teacher:
            return L.gcpr_loss(f.img_feat, f.txt_feat, f.img_all, f.txt_all, temp, f.image_ids, f.ids_all)
        t_img_all = L.gather_no_grad(teacher["img_feat"])
        t_txt_all = L.gather_no_grad(teacher["txt_feat"])
        queued = self.queue.bank() if self.queue is not None else None
        bank = contrast_bank(cfg.contrast_bank, (f.img_all, f.txt_all), (t_img_all, t_txt_all), f.ids_all, queued)
        t_i2t, t_t2i = tgd_targets(teacher["img_feat"], teacher["txt_feat"], bank.t_image, bank.t_text, temp.detach())
        if self.queue is not None and self.training:
            self.queue.enqueue(t_img_all, t_txt_all, f.ids_all)
        weight = self.tgd_weight(step)
        if cfg.contrast_bank == "split":
            hard = L.gcpr_loss(f.img_feat, f.txt_feat, f.img_all, f.txt_all, temp, f.image_ids, f.ids_all)
            soft = L.tgd_loss(f.img_feat, f.txt_feat, bank.image, bank.text, temp, t_i2t, t_t2i)
            return (1.0 - weight) * hard + weight * soft
        return L.gcpr_loss(
            f.img_feat,
            f.txt_feat,
            bank.image,
            bank.text,
            temp,
            f.image_ids,
            bank.image_ids,
            t_i2t,
            t_t2i,
            weight,
        )

    def _fgr(self, f: _Features, batch: dict[str, Any]) -> torch.Tensor:
        """FGR: one negative image per text and one negative text per image from the gathered batch, both heads."""
        cfg, model, temp = self.config, self.model, self.model.temp
        b = f.img_feat.shape[0]
        step = int(batch.get("step", 0))
        with torch.no_grad():
            sim = f.img_all.detach().float() @ f.txt_all.detach().float().t()  # [images, texts], global
            if step < cfg.fgr_easy_steps:  # curriculum (ours): uniform (easy) negatives first
                sim = torch.zeros_like(sim)
            pos = f.ids_all.view(-1, 1) == f.ids_all.view(1, -1)
            gen = _step_generator(cfg.seed, step)
            neg_img_of_text = L.sample_hard_negatives(sim.t(), pos.t(), temp.detach(), gen)
            neg_txt_of_img = L.sample_hard_negatives(sim, pos, temp.detach(), gen)
            local = L.local_slice(b)
            neg_img_idx, neg_txt_idx = neg_img_of_text[local], neg_txt_of_img[local]
        img_tokens_all = L.gather_with_grad(f.image_tokens)
        txt_tokens_all = L.gather_with_grad(f.text_tokens)
        mask_all = L.gather_no_grad(f.mask)
        own = torch.arange(b, device=neg_img_idx.device) + local.start
        # the pairs' images (own, negative, own) as rows of the distinct images used: their own work once each
        distinct, pair_image = torch.unique(torch.cat([own, neg_img_idx, own]), return_inverse=True)
        images = img_tokens_all[distinct]
        pair_txt = torch.cat([f.text_tokens, f.text_tokens, txt_tokens_all[neg_txt_idx]])
        pair_mask = torch.cat([f.mask, f.mask, mask_all[neg_txt_idx]])
        labels = torch.cat([torch.ones(b, dtype=torch.long), torch.zeros(2 * b, dtype=torch.long)])
        labels = labels.to(f.img_feat.device)
        logits_t = model.text_image_logits(images, pair_txt, pair_mask, pair_image)
        logits_i = model.image_text_logits(images, pair_txt, pair_mask, pair_image)
        return L.fgr_loss(logits_t, logits_i, labels, cfg.fgr_class_weights)

    def _mlm_and_fgd(
        self, f: _Features, teacher: dict[str, torch.Tensor], batch: dict[str, Any]
    ) -> dict[str, torch.Tensor]:
        """MLM on the text-image cross encoder (masked text); FgD against the teacher's states of the original text."""
        cfg, model, mask = self.config, self.model, f.mask
        out: dict[str, torch.Tensor] = {}
        m_tokens = model.encode_text(batch["mlm_input_ids"], mask)
        cross = cast(torch.Tensor, model.text_image_cross(m_tokens, mask, f.image_tokens))
        if cfg.mlm_weight > 0 and self.mlm_head is not None:
            labels = batch["mlm_labels"]
            chosen = labels != -100  # the vocabulary projection only where a token is predicted
            logits = self.mlm_head(cross[chosen], word_embedding_weight(model))
            out["mlm"] = L.mlm_loss(logits, labels[chosen], L.rank_share(chosen.sum()))
        if cfg.fgd_weight > 0 and self.teacher is not None and teacher:
            with torch.no_grad():
                t_cross = cast(
                    torch.Tensor, self.teacher.text_image_cross(teacher["txt_tokens"], mask, teacher["img_tokens"])
                )
            out["fgd"] = L.fgd_loss(cross, t_cross, mask, L.rank_share(mask.sum()))
        return out

    def _total(self, parts: dict[str, torch.Tensor], device: torch.device) -> torch.Tensor:
        cfg = self.config
        weights = {"gcpr": cfg.gcpr_weight, "fgr": cfg.fgr_weight, "mlm": cfg.mlm_weight, "fgd": cfg.fgd_weight}
        total: torch.Tensor | None = None
        for name, value in parts.items():
            term = weights[name] * value
            total = term if total is None else total + term
        return total if total is not None else torch.zeros((), device=device, requires_grad=True)


class MatchingObjective(nn.Module):
    """ICM/IQM fine-tuning: frozen image encoder, cross-entropy on the logits of both heads (mean).

    Batch: ``pixels``, ``input_ids``, ``attention_mask``, ``labels`` [b] 0/1."""

    def __init__(self, model: R2D2Model, config: ObjectiveConfig) -> None:
        super().__init__()
        self.model = model
        self.config = config
        freeze_for_training(model, config)
        # the dual-encoder projections and temperature are not used by matching
        for module in (model.vision_proj, model.text_proj):
            for p in module.parameters():
                p.requires_grad_(False)
        model.temp.requires_grad_(False)

    def training_state(self) -> dict[str, torch.Tensor]:
        return {}

    def after_step(self) -> None:
        return None

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        model = self.model
        if self.config.freeze_image_encoder:
            with torch.no_grad():
                image_tokens = model.encode_image(batch["pixels"])
        else:
            image_tokens = model.encode_image(batch["pixels"])
        text_tokens = model.encode_text(batch["input_ids"], batch["attention_mask"])
        logits_t = model.text_image_logits(image_tokens, text_tokens, batch["attention_mask"])
        logits_i = model.image_text_logits(image_tokens, text_tokens, batch["attention_mask"])
        loss = L.matching_loss(logits_t, logits_i, batch["labels"])
        return {"matching": loss, "loss": loss}
