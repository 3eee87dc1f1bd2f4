"""Recipes (defaults) and the two entry points: :func:`pretrain` and :func:`finetune`.

Fine-tuning recipes follow the official R2D2 code / paper (see TRAINING.md): frozen image encoder; retrieval
GCPR + FGR, AdamW lr 1e-5, weight decay 0.05, 500 warm-up steps, cosine decay, 10 epochs (ICR/IQR) or 20
(Flickr30k-CNA), batch 32 per GPU; matching cross-entropy on both heads, AdamW lr 3e-6, 20 epochs, batch 64 per
GPU.  Model selection uses the validation split only, with the starting weights as a candidate (ours: a fine-tuning
never returns weights worse on val than those it started from).  Pre-training values are our choice (no released
code).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from zero_bench.errors import ZeroBenchError
from zero_bench_r2d2.training.objectives import MatchingObjective, ObjectiveConfig, RetrievalObjective
from zero_bench_r2d2.training.trainer import TrainConfig, Trainer, init_distributed


@dataclass(frozen=True)
class FinetuneRecipe:
    kind: str  # retrieval | matching
    lr: float
    weight_decay: float
    warmup_steps: int
    epochs: int
    batch_size: int  # per GPU (official: x 8 GPUs)
    select_metric: str
    source: str


FINETUNE_RECIPES: dict[str, FinetuneRecipe] = {
    "icr": FinetuneRecipe("retrieval", 1e-5, 0.05, 500, 10, 32, "r_mean", "official"),
    "iqr": FinetuneRecipe("retrieval", 1e-5, 0.05, 500, 10, 32, "r_mean", "official"),
    "flickr30k-cna": FinetuneRecipe("retrieval", 1e-5, 0.05, 500, 20, 32, "r_mean", "official"),
    # lr / epochs / batch official; weight decay and warm-up not stated for matching: ours (same as retrieval)
    "icm": FinetuneRecipe("matching", 3e-6, 0.05, 500, 20, 64, "auc", "official lr/epochs/batch; wd, warm-up ours"),
    "iqm": FinetuneRecipe("matching", 3e-6, 0.05, 500, 20, 64, "auc", "official lr/epochs/batch; wd, warm-up ours"),
}

# Pre-training (our choice; ALBEF-like): AdamW lr 1e-4, wd 0.02, 1000 warm-up steps, cosine, batch 64 per GPU.
PRETRAIN_DEFAULTS = {"lr": 1e-4, "weight_decay": 0.02, "warmup_steps": 1000, "epochs": 1.0, "batch_size": 64}


def retrieval_finetune_objective(seed: int = 0) -> ObjectiveConfig:
    return ObjectiveConfig(
        mlm_weight=0.0, tgd_alpha=0.0, fgd_weight=0.0, queue_size=0, mask_rate=0.0, freeze_image_encoder=True, seed=seed
    )


def scratch_init_(model) -> None:
    """Initialisation for pre-training from random weights (our choice; R2D2 itself starts from CLIP and RoBERTa).

    The HF initialisers use a fixed std of 0.02, made for 768-wide layers: in narrow models every residual branch
    is then tiny and the CLS tokens -- R2D2's embeddings -- hardly depend on the input (the contrastive loss then
    collapses to the uniform solution).  Here: every Linear / patch-embedding weight ~ N(0, 1/fan_in), biases 0,
    embeddings ~ N(0, 1); and the CLS inputs (CLIP class embedding + position 0; BERT [CLS] word embedding +
    position 0 + token type) start at zero, so after the (pre-)LayerNorm the CLS query is 0 and its first
    attention is a plain average of the other tokens.
    """
    import math

    from torch import nn

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, std=1.0 / math.sqrt(module.in_features))
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Conv2d):
                fan_in = module.in_channels * module.kernel_size[0] * module.kernel_size[1]
                nn.init.normal_(module.weight, std=1.0 / math.sqrt(fan_in))
            elif isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=1.0)
        # text embeddings (summed, then LayerNorm: the encoder does not see their scale) at 1/sqrt(width), so the
        # MLM decoder tied to them starts with logits of unit scale
        for module in model.text_encoder.embeddings.modules():
            if isinstance(module, nn.Embedding):
                nn.init.normal_(module.weight, std=1.0 / math.sqrt(module.embedding_dim))
        vis = model.visual_encoder.embeddings
        vis.class_embedding.zero_()
        vis.position_embedding.weight[0].zero_()
        txt = model.text_encoder.embeddings
        from zero_bench_r2d2.tokenizer import get_tokenizer

        txt.word_embeddings.weight[get_tokenizer().cls_token_id].zero_()
        txt.position_embeddings.weight[0].zero_()
        txt.token_type_embeddings.weight.zero_()


def build_model(config: str | None, init: str | None = None, scratch_init: bool = True, dropout: float | None = None):
    """A fresh R2D2 network for ``config``, initialised from a checkpoint (official keys) or, without one and with
    ``scratch_init``, by :func:`scratch_init_`."""
    from zero_bench_r2d2.checkpoints import embed_dim_from, load_into, read_state_dict, resolve_checkpoint
    from zero_bench_r2d2.config import load_config
    from zero_bench_r2d2.modeling import R2D2Model

    sd = None
    entry = None
    if init is not None:
        path, entry = resolve_checkpoint(init)
        sd = read_state_dict(path)
        if config is None and entry is not None:
            config = entry.config
    cfg = load_config(config or "r2d2-vit-b")
    if dropout is not None:  # a training choice: the saved weights do not depend on it
        for section in (cfg.text, cfg.joint):
            section["hidden_dropout_prob"] = section["attention_probs_dropout_prob"] = float(dropout)
        cfg.vision["attention_dropout"] = float(dropout)
    if cfg.embed_dim is None and sd is not None:
        cfg.embed_dim = embed_dim_from(sd)
    model = R2D2Model(cfg, cross_encoders=True)
    if sd is not None:
        load_into(model, sd)
    elif scratch_init:
        scratch_init_(model)
    return model


def plugin_for(
    model,
    fine_tuned_on: str | None = None,
    training_data: str = "zero-bench training run",
    checkpoint: str | None = None,
):
    """Wrap a training model as the zero-bench R2D2 plugin (shares the weights) for in-training evaluation."""
    from zero_bench.models.protocol import ModelInfo
    from zero_bench_r2d2.plugin import LINK, ORGANISATION, R2D2Plugin, _model_name
    from zero_bench_r2d2.tokenizer import get_tokenizer

    info = ModelInfo(
        name=_model_name(model.config, "r2d2"),
        parameters=sum(p.numel() for p in model.parameters()),
        training_data=training_data,
        checkpoint=checkpoint or "in-training weights",
        organisation=ORGANISATION,
        link=LINK,
        fine_tuned_on=fine_tuned_on,
    )
    return R2D2Plugin(model, info, get_tokenizer())


def pretrain(
    *,
    config: str,
    corpus: str | Path,
    output_dir: str | Path,
    train: dict[str, Any] | None = None,
    objective: ObjectiveConfig | None = None,
    init: str | None = None,
    resume: str | Path | None = None,
    data_root: str | Path | None = None,
    corpus_dataset: Any = None,
    dropout: float | None = None,
    text_mix: dict[str, float] | None = None,
    group_by: str | None = None,
) -> dict[str, Any]:
    """Pre-train R2D2 on a corpus with the configured objectives; returns the trainer summary.  ``text_mix`` weights
    the corpus text fields (see :class:`~zero_bench_r2d2.training.data.TextImageTransform`; None: uniform);
    ``group_by`` (a corpus column, e.g. ``url``) puts the rows sharing its value in one batch (family batches, see
    :class:`~zero_bench_r2d2.training.data.CorpusLoader`)."""
    from zero_bench_r2d2.training.data import PIXEL_CACHE_BYTES, CorpusLoader, TextImageTransform

    settings = dict(PRETRAIN_DEFAULTS) | dict(train or {})
    tcfg = TrainConfig(output_dir=str(output_dir), **settings)
    ocfg = objective or ObjectiveConfig(seed=tcfg.seed)
    rank, world, device = init_distributed(tcfg.device)
    torch.manual_seed(tcfg.seed)  # identical initial weights on every rank
    model = build_model(config, init, dropout=dropout)
    obj = RetrievalObjective(model, ocfg)
    transform = TextImageTransform(
        model.config.image_size,
        mask_rate=ocfg.mask_rate if ocfg.uses_masked_text else 0.0,
        seed=tcfg.seed,
        text_mix=text_mix,
        # pixels kept across epochs only in the main process: a worker's copy ends with its epoch, which reads
        # each row once, so there a cache would only hold memory
        cache_bytes=PIXEL_CACHE_BYTES if tcfg.num_workers == 0 else 0,
    )
    loader = CorpusLoader(
        corpus_dataset if corpus_dataset is not None else corpus,
        transform,
        tcfg.batch_size,
        tcfg.num_workers,
        tcfg.seed,
        rank,
        world,
        root=data_root,
        group_by=group_by,
    )
    run_info = {
        "kind": "pretrain",
        "config": config,
        "corpus": str(corpus),
        "objective": ocfg.to_dict(),
        "init": init,
        "dropout": dropout,
        "text_mix": transform.text_mix,
        "group_by": group_by,
        "scratch_init": init is None,
    }
    trainer = Trainer(obj, loader, tcfg, rank=rank, world_size=world, device=device, run_info=run_info)
    summary = trainer.fit(resume=resume)
    summary["output_dir"] = str(Path(output_dir))
    summary["trainer"] = trainer
    return summary


def finetune(
    *,
    task: str,
    checkpoint: str | None,
    config: str | None,
    output_dir: str | Path,
    data_dir: str | Path | None = None,
    train: dict[str, Any] | None = None,
    resume: str | Path | None = None,
    eval_top_k: int | None = None,
    eval_batch_size: int = 64,
    dropout: float | None = None,
) -> dict[str, Any]:
    """Fine-tune on ``task``'s train split with its official recipe; select the best epoch on ``val``, the starting
    weights (before any update) a candidate too.  The summary's ``best`` (also ``OUTPUT/model-best.json``) gives
    the metric, value, epoch and step of ``model-best.safetensors``, and ``kept_start`` when no epoch beat the
    start."""
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.training.data import TaskLoader, TextImageTransform

    if task not in FINETUNE_RECIPES:
        raise ZeroBenchError(f"no fine-tuning recipe for task {task!r} (known: {', '.join(FINETUNE_RECIPES)})")
    recipe = FINETUNE_RECIPES[task]
    spec = get_task(task)
    if "val" not in spec.splits:
        raise ZeroBenchError(f"task {task} has no val split for model selection")
    settings: dict[str, Any] = {
        "lr": recipe.lr,
        "weight_decay": recipe.weight_decay,
        "warmup_steps": recipe.warmup_steps,
        "epochs": recipe.epochs,
        "batch_size": recipe.batch_size,
        "select_metric": recipe.select_metric,
    }
    settings |= dict(train or {})
    tcfg = TrainConfig(output_dir=str(output_dir), **settings)
    rank, world, device = init_distributed(tcfg.device)
    torch.manual_seed(tcfg.seed)
    model = build_model(config, checkpoint, dropout=dropout)
    if recipe.kind == "retrieval":
        obj: Any = RetrievalObjective(model, retrieval_finetune_objective(tcfg.seed))
    else:
        obj = MatchingObjective(model, ObjectiveConfig(freeze_image_encoder=True, seed=tcfg.seed))
    data = load_split(spec, data_dir, "train")
    loader = TaskLoader(
        data,
        TextImageTransform(model.config.image_size, seed=tcfg.seed),
        tcfg.batch_size,
        tcfg.num_workers,
        tcfg.seed,
        rank,
        world,
    )

    def eval_fn(m) -> dict[str, float]:
        plugin = plugin_for(m, fine_tuned_on=task)
        result = evaluate(
            plugin,
            spec,
            "val",
            data_dir=data_dir,
            top_k=eval_top_k,
            batch_size=eval_batch_size,
            use_cache=False,
            device=str(device),
        )
        return dict(result.metrics)

    run_info = {"kind": "finetune", "task": task, "checkpoint": checkpoint, "config": config, "recipe": recipe.__dict__}
    trainer = Trainer(obj, loader, tcfg, rank=rank, world_size=world, device=device, eval_fn=eval_fn, run_info=run_info)
    summary = trainer.fit(resume=resume)
    summary["output_dir"] = str(Path(output_dir))
    summary["trainer"] = trainer
    return summary
