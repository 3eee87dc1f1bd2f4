"""zero-bench model plugins ``r2d2`` and ``prd2`` (entry points in the ``zero_bench.models`` group).

States kept by the evaluator for ``score_pairs`` (R2D2 only):
* images: ``image_tokens`` [n, 1 + patches, vision width], the full CLIP ``last_hidden_state``;
* texts: ``text_tokens`` [n, 64, text width] (BERT ``last_hidden_state``) and ``text_mask`` [n, 64] (int64).
``score_pairs`` returns the ITM probability (mean over both heads of softmax[:, 1]); with
``rerank_with_similarity = True`` the evaluator adds the raw cosine itself (official re-ranking score).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import sha256_file
from zero_bench.models.protocol import Encoded, ModelInfo
from zero_bench_r2d2.checkpoints import CheckpointEntry, embed_dim_from, load_into, read_state_dict, resolve_checkpoint
from zero_bench_r2d2.config import MAX_TEXT_LENGTH, R2D2Config, load_config
from zero_bench_r2d2.modeling import R2D2Model
from zero_bench_r2d2.preprocessing import R2D2ImageTransform
from zero_bench_r2d2.tokenizer import R2D2Tokenizer, get_tokenizer

LINK = "https://github.com/yuxie11/R2D2"
ORGANISATION = "Qihoo 360 (R2D2 / CCMB authors)"
_OPTIONS = ("device", "embed_dim", "training_data", "fine_tuned_on", "pair_batch_size")
PAD_MULTIPLE = 8  # score_pairs groups texts by their unpadded length rounded up to this


class R2D2DualEncoderPlugin(nn.Module):
    """PRD2-style plugin: the dual encoder only (no ``score_pairs``)."""

    def __init__(self, model: R2D2Model, info: ModelInfo, tokenizer: R2D2Tokenizer, keep_states: bool = False) -> None:
        super().__init__()
        self.model = model
        self.info = info
        self.tokenizer = tokenizer
        # an attribute (not a bound method) so DataLoader workers pickle only the small transform object
        self.preprocess_image = R2D2ImageTransform(model.config.image_size)
        self._keep_states = keep_states
        self.load_report: Any = None

    @property
    def device(self) -> torch.device:
        return self.model.device

    @torch.no_grad()
    def encode_images(self, pixels: torch.Tensor) -> Encoded:
        pixels = pixels.to(self.device)
        tokens = self.model.encode_image(pixels)
        embeddings = self.model.image_embed(tokens).float()
        return Encoded(embeddings=embeddings, states={"image_tokens": tokens} if self._keep_states else {})

    def _empty_texts(self) -> Encoded:
        cfg, device = self.model.config, self.device
        embeddings = torch.zeros(0, cfg.resolved_embed_dim(), device=device)
        states = {
            "text_tokens": torch.zeros(0, self.tokenizer.max_length, cfg.text_width, device=device),
            "text_mask": torch.zeros(0, self.tokenizer.max_length, dtype=torch.long, device=device),
        }
        return Encoded(embeddings=embeddings, states=states if self._keep_states else {})

    @torch.no_grad()
    def encode_texts(self, texts: list[str]) -> Encoded:
        if len(texts) == 0:
            return self._empty_texts()
        batch = self.tokenizer(list(texts), device=self.device)
        tokens = self.model.encode_text(batch["input_ids"], batch["attention_mask"])
        embeddings = self.model.text_embed(tokens).float()
        states = {"text_tokens": tokens, "text_mask": batch["attention_mask"]} if self._keep_states else {}
        return Encoded(embeddings=embeddings, states=states)


class R2D2Plugin(R2D2DualEncoderPlugin):
    """R2D2: dual encoder + the two cross encoders for re-ranking and matching."""

    rerank_with_similarity = True

    def __init__(self, model: R2D2Model, info: ModelInfo, tokenizer: R2D2Tokenizer, pair_batch_size: int = 256) -> None:
        super().__init__(model, info, tokenizer, keep_states=True)
        self.pair_batch_size = int(pair_batch_size)

    @torch.no_grad()
    def score_pairs(self, image_states: dict[str, torch.Tensor], text_states: dict[str, torch.Tensor]) -> torch.Tensor:
        """ITM probability [n] for pairs (image_states row k, text_states row k)."""
        rows = _state(image_states, "image_tokens").shape[0]
        return self.score_pairs_by_image(image_states, text_states, torch.arange(rows, device=self.device))

    @torch.no_grad()
    def score_pairs_by_image(
        self, image_states: dict[str, torch.Tensor], text_states: dict[str, torch.Tensor], pair_image: torch.Tensor
    ) -> torch.Tensor:
        """ITM probability [n] for pairs (image row ``pair_image[k]``, text row k); each distinct image of a batch
        goes through the image-only work (its cross-attention keys and values in every layer of the text-query
        branch, its projection and first self-attention in the image-query branch) once."""
        image_tokens = _state(image_states, "image_tokens")
        text_tokens, text_mask = _state(text_states, "text_tokens"), _state(text_states, "text_mask")
        n = text_tokens.shape[0]
        if text_mask.shape[0] != n or pair_image.shape[0] != n:
            raise ZeroBenchError(
                f"R2D2 score_pairs: {pair_image.shape[0]} pairs but {n} text rows and {text_mask.shape[0]} masks"
            )
        device = self.device
        out = torch.empty(n, dtype=torch.float32, device=device)
        if n == 0:
            return out
        # Padding removed: a text's padded positions are masked keys everywhere (zero attention weight) and every
        # other operation is per token, so the CLS outputs do not depend on them.  Rows are grouped by their
        # length rounded up to PAD_MULTIPLE and each group is cut to that length (the official code always runs
        # all 64 positions; same scores up to float rounding, much less work for short captions).
        text_mask, pair_image = text_mask.to(device), pair_image.to(device)
        positions = torch.arange(1, text_mask.shape[1] + 1, device=device)
        lengths = (text_mask.ne(0) * positions).amax(dim=1).clamp(min=1)  # last attended position + 1
        padded = ((lengths + PAD_MULTIPLE - 1) // PAD_MULTIPLE * PAD_MULTIPLE).clamp(max=text_mask.shape[1])
        for length in torch.unique(padded).tolist():
            rows = torch.nonzero(padded == length).squeeze(1)
            for start in range(0, rows.numel(), self.pair_batch_size):
                idx = rows[start : start + self.pair_batch_size]
                distinct, inverse = torch.unique(pair_image[idx], return_inverse=True)
                out[idx] = self.model.itm_score(
                    image_tokens[distinct.to(image_tokens.device)].to(device),
                    text_tokens[idx.to(text_tokens.device), :length].to(device),
                    text_mask[idx, :length],
                    inverse,
                )
        return out


def _state(states: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    try:
        return states[name]
    except KeyError:
        raise ZeroBenchError(
            f"R2D2 score_pairs: missing state {name!r} (states must come from encode_images/encode_texts)"
        ) from None


def _model_name(config: R2D2Config, kind: str) -> str:
    v = config.vision
    return f"{kind.upper()} ViT-{'L' if v['hidden_size'] >= 1024 else 'B' if v['hidden_size'] >= 768 else 'tiny'}/{v['patch_size']} ({config.name})"


def _build(
    kind: str, checkpoint: str | None, config: str | None, allow_mismatch: bool, options: dict[str, Any]
) -> nn.Module:
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise ZeroBenchError(
            f"{kind}: unknown option(s) {', '.join(unknown)}; known: checkpoint, config, allow_mismatch, {', '.join(_OPTIONS)}"
        )
    entry: CheckpointEntry | None = None
    path = None
    file_sd: dict[str, torch.Tensor] | None = None
    if checkpoint is not None:
        path, entry = resolve_checkpoint(checkpoint)
        if entry is not None and entry.model != kind:
            raise ZeroBenchError(
                f"checkpoint {entry.name!r} is a {entry.model.upper()} checkpoint; use the '{entry.model}' model"
            )
        file_sd = read_state_dict(path)
    if config is None and entry is not None:
        config = entry.config
    embed_dim = options.get("embed_dim")
    cfg = load_config(config, embed_dim=int(embed_dim) if embed_dim is not None else None)
    if cfg.embed_dim is None and file_sd is not None:
        cfg.embed_dim = embed_dim_from(file_sd)
    model = R2D2Model(cfg, cross_encoders=(kind == "r2d2"))
    report = None
    if file_sd is not None:
        report = load_into(model, file_sd, allow_mismatch=allow_mismatch)
    model.eval()
    n_params = sum(p.numel() for p in model.parameters())
    if entry is not None:
        training_data, fine_tuned_on, ckpt_name = entry.training_data, entry.fine_tuned_on, entry.name
    elif path is not None:
        training_data, fine_tuned_on, ckpt_name = "unknown (local checkpoint file)", None, str(path)
    else:
        training_data, fine_tuned_on, ckpt_name = "random init", None, "none (random init)"
    info = ModelInfo(
        name=_model_name(cfg, kind),
        parameters=n_params,
        training_data=str(options.get("training_data") or training_data),
        checkpoint=ckpt_name,
        checkpoint_sha256=sha256_file(path) if path is not None else None,
        organisation=ORGANISATION,
        link=LINK,
        fine_tuned_on=options.get("fine_tuned_on") or fine_tuned_on,
    )
    tokenizer = get_tokenizer(MAX_TEXT_LENGTH)
    if kind == "r2d2":
        plugin: R2D2DualEncoderPlugin = R2D2Plugin(
            model, info, tokenizer, pair_batch_size=int(options.get("pair_batch_size") or 256)
        )
    else:
        plugin = R2D2DualEncoderPlugin(model, info, tokenizer)
    plugin.load_report = report
    plugin.eval()
    if options.get("device") is not None:
        plugin.to(options["device"])
    return plugin


def create_r2d2(
    checkpoint: str | None = None, config: str | None = None, allow_mismatch: bool = False, **options: Any
) -> R2D2Plugin:
    """R2D2 (dual encoder + cross encoders).

    ``checkpoint``: a local ``.pt``/``.pth`` (official ``{"model": state_dict}``) or ``.safetensors`` file, or a
    registry name (see :mod:`zero_bench_r2d2.checkpoints`); None = random init.  ``config``: ``r2d2-vit-b``
    (default), ``r2d2-vit-l``, ``r2d2-tiny``, ``r2d2-toy`` or a folder with the three official config files.  Options:
    ``device``, ``embed_dim``, ``training_data``, ``fine_tuned_on``, ``pair_batch_size``.
    """
    return _build("r2d2", checkpoint, config, allow_mismatch, options)  # type: ignore[return-value]


def create_prd2(
    checkpoint: str | None = None, config: str | None = None, allow_mismatch: bool = False, **options: Any
) -> R2D2DualEncoderPlugin:
    """PRD2: the R2D2 dual encoder alone (same arguments as :func:`create_r2d2`)."""
    return _build("prd2", checkpoint, config, allow_mismatch, options)  # type: ignore[return-value]
