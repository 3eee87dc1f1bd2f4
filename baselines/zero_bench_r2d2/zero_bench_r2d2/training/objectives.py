"""Training modules that turn a batch into losses: pre-training (GCPR + FGR + MLM + TgD + FgD), retrieval
fine-tuning (GCPR + FGR, frozen image encoder) and matching fine-tuning (cross-entropy on both heads' logits).

Each is an ``nn.Module`` whose ``forward(batch)`` returns a dict of scalar losses with the weighted total under
``"loss"``, so DDP can wrap it whole.  The R2D2 network is ``.model`` (official key names); training-only state
(MLM head, EMA teacher, feature queue) lives beside it and is never part of an exported model checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zero_bench_r2d2.modeling import R2D2Model
from zero_bench_r2d2.training import losses as L
from zero_bench_r2d2.training.distill import FeatureQueue, ema_update, make_teacher, tgd_targets


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
    unused: list[nn.Module] = [model.visual_encoder.post_layernorm]
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
        if config.mlm_weight > 0:
            self.mlm_head = MLMHead(
                model.config.joint_width, model.text_encoder.embeddings.word_embeddings.weight.shape[0]
            )
        else:
            self.mlm_head = None
        self.teacher = make_teacher(model) if config.uses_teacher else None
        if config.tgd_alpha > 0 and config.queue_size > 0:
            self.queue = FeatureQueue(config.queue_size, model.config.resolved_embed_dim())
        else:
            self.queue = None

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
            ema_update(self.teacher, self.model, self.config.momentum)

    def _encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        if self.config.freeze_image_encoder:
            with torch.no_grad():
                return self.model.encode_image(pixels)
        return self.model.encode_image(pixels)

    def forward(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        cfg, model = self.config, self.model
        pixels, ids, mask = batch["pixels"], batch["input_ids"], batch["attention_mask"]
        image_ids = batch["image_ids"]
        b = pixels.shape[0]
        out: dict[str, torch.Tensor] = {}

        image_tokens = self._encode_image(pixels)
        text_tokens = model.encode_text(ids, mask)
        img_feat, txt_feat = model.image_embed(image_tokens), model.text_embed(text_tokens)
        temp = model.temp
        img_all, txt_all = L.gather_with_grad(img_feat), L.gather_with_grad(txt_feat)
        ids_all = L.gather_no_grad(image_ids)

        teacher_out: dict[str, torch.Tensor] = {}
        if self.teacher is not None:
            with torch.no_grad():
                t_img_tokens = self.teacher.encode_image(pixels)
                t_txt_tokens = self.teacher.encode_text(ids, mask)
                teacher_out = {
                    "img_tokens": t_img_tokens,
                    "txt_tokens": t_txt_tokens,
                    "img_feat": self.teacher.image_embed(t_img_tokens),
                    "txt_feat": self.teacher.text_embed(t_txt_tokens),
                }

        # GCPR (+ TgD soft targets over the gathered batch and the queue)
        if cfg.gcpr_weight > 0:
            img_bank, txt_bank, ids_bank = img_all, txt_all, ids_all
            t_i2t = t_t2i = None
            if cfg.tgd_alpha > 0 and self.teacher is not None:
                t_img_all, t_txt_all = (
                    L.gather_no_grad(teacher_out["img_feat"]),
                    L.gather_no_grad(teacher_out["txt_feat"]),
                )
                t_img_bank, t_txt_bank = t_img_all, t_txt_all
                if self.queue is not None:
                    q_img, q_txt, q_ids = self.queue.bank()
                    t_img_bank, t_txt_bank = torch.cat([t_img_all, q_img]), torch.cat([t_txt_all, q_txt])
                    img_bank = torch.cat([img_all, q_img.to(img_all.dtype)])
                    txt_bank = torch.cat([txt_all, q_txt.to(txt_all.dtype)])
                    ids_bank = torch.cat([ids_all, q_ids])
                t_i2t, t_t2i = tgd_targets(
                    teacher_out["img_feat"], teacher_out["txt_feat"], t_img_bank, t_txt_bank, temp.detach()
                )
                if self.queue is not None and self.training:
                    self.queue.enqueue(t_img_all, t_txt_all, ids_all)
            out["gcpr"] = L.gcpr_loss(
                img_feat, txt_feat, img_bank, txt_bank, temp, image_ids, ids_bank, t_i2t, t_t2i, cfg.tgd_alpha
            )

        # FGR: hard negatives from the gathered batch, both cross encoders
        if cfg.fgr_weight > 0:
            with torch.no_grad():
                sim = img_all.detach().float() @ txt_all.detach().float().t()  # [images, texts], global
                pos = ids_all.view(-1, 1) == ids_all.view(1, -1)
                gen = _step_generator(cfg.seed, int(batch.get("step", 0)))
                neg_img_of_text = L.sample_hard_negatives(sim.t(), pos.t(), temp.detach(), gen)
                neg_txt_of_img = L.sample_hard_negatives(sim, pos, temp.detach(), gen)
                local = L.local_slice(b)
                neg_img_idx, neg_txt_idx = neg_img_of_text[local], neg_txt_of_img[local]
            img_tokens_all = L.gather_with_grad(image_tokens)
            txt_tokens_all = L.gather_with_grad(text_tokens)
            mask_all = L.gather_no_grad(mask)
            pair_img = torch.cat([image_tokens, img_tokens_all[neg_img_idx], image_tokens])
            pair_txt = torch.cat([text_tokens, text_tokens, txt_tokens_all[neg_txt_idx]])
            pair_mask = torch.cat([mask, mask, mask_all[neg_txt_idx]])
            labels = torch.cat([torch.ones(b, dtype=torch.long), torch.zeros(2 * b, dtype=torch.long)]).to(
                pixels.device
            )
            logits_t = model.text_image_logits(pair_img, pair_txt, pair_mask)
            logits_i = model.image_text_logits(pair_img, pair_txt, pair_mask)
            out["fgr"] = L.fgr_loss(logits_t, logits_i, labels, cfg.fgr_class_weights)

        # MLM on the text-image cross encoder (masked text), FgD against the teacher on the original text
        if cfg.uses_masked_text and "mlm_input_ids" in batch:
            m_tokens = model.encode_text(batch["mlm_input_ids"], mask)
            cross = model.text_image_cross(m_tokens, mask, image_tokens)
            if cfg.mlm_weight > 0 and self.mlm_head is not None:
                labels = batch["mlm_labels"]
                chosen = labels != -100  # the vocabulary projection only where a token is predicted
                logits = self.mlm_head(cross[chosen], model.text_encoder.embeddings.word_embeddings.weight)
                out["mlm"] = L.mlm_loss(logits, labels[chosen], L.rank_share(chosen.sum()))
            if cfg.fgd_weight > 0 and self.teacher is not None:
                with torch.no_grad():
                    t_cross = self.teacher.text_image_cross(teacher_out["txt_tokens"], mask, teacher_out["img_tokens"])
                out["fgd"] = L.fgd_loss(cross, t_cross, mask, L.rank_share(mask.sum()))

        weights = {"gcpr": cfg.gcpr_weight, "fgr": cfg.fgr_weight, "mlm": cfg.mlm_weight, "fgd": cfg.fgd_weight}
        total = sum(weights[k] * v for k, v in out.items())
        out["loss"] = (
            total if isinstance(total, torch.Tensor) else torch.zeros((), device=pixels.device, requires_grad=True)
        )
        return out


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
