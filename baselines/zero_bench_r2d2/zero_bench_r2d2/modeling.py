"""The R2D2 network (and PRD2, its dual encoder alone) with the official state_dict layout.

* ``visual_encoder``: HF CLIP vision transformer (``embeddings``, ``pre_layrnorm``, ``encoder.layers.N``,
  ``post_layernorm``); R2D2 uses the full ``last_hidden_state`` (CLS + patches, no post-LayerNorm).
* ``text_encoder``: HF ``BertModel`` with pooler (only ``last_hidden_state`` is used).
* ``text_joint_layer`` / ``img_joint_layer``: 6-layer bidirectional post-LN BERT cross encoders written here
  (:class:`JointEncoder`); key names follow HF BERT (``attention.self.query``, ``crossattention.self.key``, ...).
  They are always fed hidden states directly (the official ``encoder_embeds=`` path), so their ``embeddings``
  module is never used; it exists only so the state_dict matches official checkpoints.
* ``vision_proj``, ``text_proj`` (dual-encoder projections), ``img_joint_proj`` (image tokens into the
  image-text joint layer), ``itm_head`` (text-query branch) and ``itm_head_i`` (image-query branch), ``temp``.

Building blocks for training (GCPR / FGR / MLM / distillation losses live elsewhere):
``encode_image``, ``encode_text``, ``image_embed``, ``text_embed``, ``similarity``, ``text_image_cross``,
``image_text_cross``, ``text_image_logits``, ``image_text_logits``, ``itm_probs``, ``itm_score``.
"""

from __future__ import annotations

from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from zero_bench_r2d2.config import TEXT_VOCAB_SIZE, R2D2Config

POSITION_ID_KEYS = (
    "visual_encoder.embeddings.position_ids",
    "text_encoder.embeddings.position_ids",
    "text_joint_layer.embeddings.position_ids",
    "img_joint_layer.embeddings.position_ids",
)
TEMP_INIT = 0.07
KeysValues = tuple[torch.Tensor, torch.Tensor]
# transformers' fused attention for the CLIP and BERT towers (torch.nn.functional.scaled_dot_product_attention)
TOWER_ATTENTION = "sdpa"


def _activation(name: str):
    from transformers.activations import ACT2FN

    return ACT2FN[name]


def _make_persistent(module: nn.Module, buffer: str) -> None:
    """HF (>= 4.31) registers ``position_ids`` as non-persistent; official checkpoints contain it."""
    module._non_persistent_buffers_set.discard(buffer)


def build_vision_tower(config: R2D2Config) -> Any:
    """HF CLIP vision transformer (transformers 5: ``CLIPVisionModel`` itself; 4.x: its ``vision_model``)."""
    from transformers import CLIPVisionConfig, CLIPVisionModel

    hf_config = CLIPVisionConfig(**config.vision)
    hf_config.attn_implementation = TOWER_ATTENTION
    model = CLIPVisionModel(hf_config)
    tower = getattr(model, "vision_model", model)
    _make_persistent(tower.embeddings, "position_ids")
    return tower


def build_text_encoder(config: R2D2Config) -> Any:
    from transformers import BertConfig, BertModel

    hf_config = BertConfig(**config.text, is_decoder=False, add_cross_attention=False)
    hf_config.attn_implementation = TOWER_ATTENTION
    model = BertModel(hf_config, add_pooling_layer=True)
    _make_persistent(model.embeddings, "position_ids")
    return model


# ----------------------------------------------------------------------------------------------------------------
# Joint (cross) encoder: post-LN BERT layers with bidirectional self-attention and cross-attention.


class JointEmbeddings(nn.Module):
    """Unused at inference (inputs are hidden states); kept for state_dict compatibility."""

    def __init__(self, vocab_size: int, hidden: int, max_positions: int, eps: float, pad_token_id: int = 0) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, hidden, padding_idx=pad_token_id)
        self.position_embeddings = nn.Embedding(max_positions, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.register_buffer("position_ids", torch.arange(max_positions).expand((1, -1)), persistent=True)


class AttentionProjections(nn.Module):
    """``query`` on the layer input, ``key``/``value`` on the attended states (width ``kv_width``)."""

    def __init__(self, hidden: int, kv_width: int, heads: int, dropout: float) -> None:
        super().__init__()
        if hidden % heads:
            raise ValueError(f"hidden size {hidden} is not a multiple of the number of heads {heads}")
        self.num_heads = heads
        self.head_dim = hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(kv_width, hidden)
        self.value = nn.Linear(kv_width, hidden)
        self.dropout_p = dropout

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        return x.view(b, n, self.num_heads, self.head_dim).transpose(1, 2)

    def keys_values(self, context: torch.Tensor) -> KeysValues:
        """Keys and values of ``context`` [b, m, kv width], each [b, heads, m, head dim]."""
        return self._split(self.key(context)), self._split(self.value(context))

    def queries(self, hidden: torch.Tensor) -> torch.Tensor:
        """Queries of ``hidden`` [b, n, hidden]: [b, heads, n, head dim]."""
        return self._split(self.query(hidden))

    def forward(
        self,
        hidden: torch.Tensor,
        context: torch.Tensor | None,
        context_mask: torch.Tensor | None,
        context_kv: KeysValues | None = None,
        queries: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``context_mask`` [b, m] (1 = attend, 0 = masked) over the keys; queries are never masked.

        ``context_kv`` / ``queries``: the context's :meth:`keys_values` / ``hidden``'s :meth:`queries`, when the
        caller computed (and shared) them already.
        """
        if context_kv is None:
            if context is None:
                raise ValueError("attention needs the context or its keys and values")
            context_kv = self.keys_values(context)
        k, v = context_kv
        q = self.queries(hidden) if queries is None else queries
        keep = None if context_mask is None else context_mask[:, None, None, :].to(torch.bool)
        # one fused kernel (flash / memory-efficient on GPU); same softmax(q k^T / sqrt(d)) v as BERT's
        out = F.scaled_dot_product_attention(
            q, k.to(q.dtype), v.to(q.dtype), attn_mask=keep, dropout_p=self.dropout_p if self.training else 0.0
        )
        b, _, n, _ = out.shape
        return out.transpose(1, 2).reshape(b, n, self.num_heads * self.head_dim)


class AddNorm(nn.Module):
    """``LayerNorm(dropout(dense(x)) + residual)`` (HF BERT's ``*Output`` blocks)."""

    def __init__(self, in_width: int, hidden: int, eps: float, dropout: float) -> None:
        super().__init__()
        self.dense = nn.Linear(in_width, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(x)) + residual)


class JointAttention(nn.Module):
    def __init__(self, hidden: int, kv_width: int, heads: int, eps: float, attn_dropout: float, dropout: float) -> None:
        super().__init__()
        self.self = AttentionProjections(hidden, kv_width, heads, attn_dropout)
        self.output = AddNorm(hidden, hidden, eps, dropout)

    def forward(
        self,
        hidden: torch.Tensor,
        context: torch.Tensor | None,
        context_mask: torch.Tensor | None,
        context_kv: KeysValues | None = None,
        queries: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.output(self.self(hidden, context, context_mask, context_kv, queries), hidden)


class Intermediate(nn.Module):
    def __init__(self, hidden: int, intermediate: int, act: str) -> None:
        super().__init__()
        self.dense = nn.Linear(hidden, intermediate)
        self.intermediate_act_fn = _activation(act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(x))


class JointLayer(nn.Module):
    """Self-attention -> add & LN -> cross-attention -> add & LN -> FFN -> add & LN."""

    def __init__(self, cfg: dict[str, Any], encoder_width: int) -> None:
        super().__init__()
        hidden, heads, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
        attn_drop, drop = cfg["attention_probs_dropout_prob"], cfg["hidden_dropout_prob"]
        self.attention = JointAttention(hidden, hidden, heads, eps, attn_drop, drop)
        self.crossattention = JointAttention(hidden, encoder_width, heads, eps, attn_drop, drop)
        self.intermediate = Intermediate(hidden, cfg["intermediate_size"], cfg["hidden_act"])
        self.output = AddNorm(cfg["intermediate_size"], hidden, eps, drop)

    def forward(
        self, hidden: torch.Tensor, mask: torch.Tensor | None, context: torch.Tensor, context_mask: torch.Tensor | None
    ) -> torch.Tensor:
        return self.after_self_attention(self.attention(hidden, hidden, mask), context, context_mask)

    def after_self_attention(
        self,
        hidden: torch.Tensor,
        context: torch.Tensor | None,
        context_mask: torch.Tensor | None,
        context_kv: KeysValues | None = None,
        queries: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Cross-attention and feed-forward on the self-attention's output (``context_kv``, ``queries``: the
        cross-attention's, precomputed)."""
        hidden = self.crossattention(hidden, context, context_mask, context_kv, queries)
        return self.output(self.intermediate(hidden), hidden)


class JointLayerStack(nn.Module):
    def __init__(self, cfg: dict[str, Any], encoder_width: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList([JointLayer(cfg, encoder_width) for _ in range(cfg["num_hidden_layers"])])
        self.gradient_checkpointing = False

    def layers(self) -> list[JointLayer]:
        """The layers, typed (``layer`` keeps the official state_dict name)."""
        return [cast(JointLayer, layer) for layer in self.layer]

    def forward(
        self,
        hidden: torch.Tensor,
        mask: torch.Tensor | None,
        context: torch.Tensor,
        context_mask: torch.Tensor | None,
        output_hidden_states: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        states = [hidden] if output_hidden_states else []
        for layer in self.layers():
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                hidden = checkpoint(layer, hidden, mask, context, context_mask, use_reentrant=False)
            else:
                hidden = layer(hidden, mask, context, context_mask)
            if output_hidden_states:
                states.append(hidden)
        return hidden, tuple(states)


class JointEncoder(nn.Module):
    """A joint layer stack (``text_joint_layer`` / ``img_joint_layer``); called with hidden states directly."""

    def __init__(self, cfg: dict[str, Any], encoder_width: int, vocab_size: int) -> None:
        super().__init__()
        self.embeddings = JointEmbeddings(
            vocab_size, cfg["hidden_size"], cfg["max_position_embeddings"], cfg["layer_norm_eps"], cfg["pad_token_id"]
        )
        self.encoder = JointLayerStack(cfg, encoder_width)

    def forward(
        self,
        hidden: torch.Tensor,
        mask: torch.Tensor | None,
        context: torch.Tensor,
        context_mask: torch.Tensor | None,
        output_hidden_states: bool = False,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Bidirectional: ``mask`` [b, n] masks keys of the self-attention, ``context_mask`` [b, m] the cross keys."""
        return self.encoder(hidden, mask, context, context_mask, output_hidden_states)


# ----------------------------------------------------------------------------------------------------------------


class R2D2Model(nn.Module):
    """R2D2 (``cross_encoders=True``) or PRD2 (``False``: dual encoder only) with the official key layout."""

    def __init__(self, config: R2D2Config, cross_encoders: bool = True) -> None:
        super().__init__()
        self.config = config
        self.has_cross_encoders = cross_encoders
        embed_dim = config.resolved_embed_dim()
        vw, tw = config.vision_width, config.text_width
        self.temp = nn.Parameter(torch.tensor(TEMP_INIT, dtype=torch.float32))
        self.visual_encoder = build_vision_tower(config)
        self.text_encoder = build_text_encoder(config)
        self.vision_proj = nn.Linear(vw, embed_dim)
        self.text_proj = nn.Linear(tw, embed_dim)
        if cross_encoders:
            joint = config.joint
            jw = config.joint_width
            self.text_joint_layer = JointEncoder(joint, encoder_width=vw, vocab_size=joint["vocab_size"])
            self.img_joint_layer = JointEncoder(joint, encoder_width=tw, vocab_size=TEXT_VOCAB_SIZE)
            self.img_joint_proj = nn.Linear(vw, jw)
            self.itm_head = nn.Linear(jw, 2)
            self.itm_head_i = nn.Linear(jw, 2)
            for module in (
                self.text_joint_layer,
                self.img_joint_layer,
                self.img_joint_proj,
                self.itm_head,
                self.itm_head_i,
            ):
                module.apply(self._init_own)
        for module in (self.vision_proj, self.text_proj):
            module.apply(self._init_own)

    def _init_own(self, module: nn.Module) -> None:
        std = float(self.config.joint.get("initializer_range", 0.02))
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    # -- bookkeeping ----------------------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.temp.device

    def set_gradient_checkpointing(self, enable: bool = True) -> None:
        """Recompute activations of every transformer layer in the backward pass (training only)."""
        for tower in (self.visual_encoder, self.text_encoder):
            # transformers 5 renamed gradient_checkpointing_* to activation_checkpointing_* (old names deprecated)
            if enable:
                kwargs = {"use_reentrant": False}
                if hasattr(tower, "activation_checkpointing_enable"):
                    tower.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)
                else:
                    tower.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
            else:
                off = getattr(tower, "activation_checkpointing_disable", None) or tower.gradient_checkpointing_disable
                off()
        if self.has_cross_encoders:
            self.text_joint_layer.encoder.gradient_checkpointing = enable
            self.img_joint_layer.encoder.gradient_checkpointing = enable

    @torch.no_grad()
    def clamp_temperature_(self, low: float = 0.001, high: float = 0.5) -> None:
        """The official training clamp of ``temp`` (evaluation uses the stored value as is)."""
        self.temp.clamp_(low, high)

    # -- unimodal encoders ----------------------------------------------------------------------------------------

    def encode_image(self, pixels: torch.Tensor) -> torch.Tensor:
        """CLIP ``last_hidden_state`` [b, 1 + patches, vision width] (no post-LayerNorm)."""
        return self.visual_encoder(pixel_values=pixels).last_hidden_state

    def image_hidden_states(self, pixels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Input of every vision layer (index 0 = after ``pre_layrnorm``) and the last output."""
        tower = self.visual_encoder
        hidden = tower.pre_layrnorm(tower.embeddings(pixels))
        states = [hidden]
        for layer in tower.encoder.layers:
            out = layer(hidden, None) if _new_layer_api(layer) else layer(hidden, None, None)
            hidden = out[0] if isinstance(out, tuple) else out
            states.append(hidden)
        return tuple(states)

    def encode_text(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """BERT ``last_hidden_state`` [b, n, text width] (padded positions included; token types all 0)."""
        return self.text_encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    def text_hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Embedding output and every layer's output."""
        out = self.text_encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        return tuple(out.hidden_states)

    def image_embed(self, image_tokens: torch.Tensor) -> torch.Tensor:
        """L2-normalised ``vision_proj`` of the CLS token [b, embed_dim]."""
        return F.normalize(self.vision_proj(image_tokens[:, 0, :]), dim=-1)

    def text_embed(self, text_tokens: torch.Tensor) -> torch.Tensor:
        """L2-normalised ``text_proj`` of the CLS token [b, embed_dim]."""
        return F.normalize(self.text_proj(text_tokens[:, 0, :]), dim=-1)

    @staticmethod
    def similarity(image_embed: torch.Tensor, text_embed: torch.Tensor) -> torch.Tensor:
        """Raw cosine matrix [images, texts] (divide by ``temp`` for contrastive logits)."""
        return image_embed @ text_embed.t()

    # -- cross encoders (row k of each argument forms pair k) -----------------------------------------------------

    def _require_cross(self) -> None:
        if not self.has_cross_encoders:
            raise RuntimeError("this model has no cross encoders (PRD2 is the dual encoder alone)")

    def text_image_cross(
        self,
        text_tokens: torch.Tensor,
        text_mask: torch.Tensor,
        image_tokens: torch.Tensor,
        output_hidden_states: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """``text_joint_layer``: text tokens attend to the image tokens; [b, n, joint width]."""
        self._require_cross()
        last, states = self.text_joint_layer(text_tokens, text_mask, image_tokens, None, output_hidden_states)
        return (last, states) if output_hidden_states else last

    def image_text_cross(
        self,
        image_tokens: torch.Tensor,
        text_tokens: torch.Tensor,
        text_mask: torch.Tensor,
        output_hidden_states: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """``img_joint_layer`` on ``img_joint_proj(image_tokens)``, attending to the (masked) text tokens."""
        self._require_cross()
        last, states = self.img_joint_layer(
            self.img_joint_proj(image_tokens), None, text_tokens, text_mask, output_hidden_states
        )
        return (last, states) if output_hidden_states else last

    def text_image_logits(
        self,
        image_tokens: torch.Tensor,
        text_tokens: torch.Tensor,
        text_mask: torch.Tensor,
        pair_image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``itm_head`` on the text-query branch's CLS: [b, 2] (column 1 = match) for the pairs (image row
        ``pair_image[k]``, text row k); ``pair_image`` None: image row k.  The same logits as the head on
        ``text_image_cross(...)[:, 0]``, with less work: each image's keys and values once, the last layer for the
        [CLS] row alone (the only row the head reads)."""
        self._require_cross()
        stack = self.text_joint_layer.encoder
        layers = stack.layers()
        kv_index = _pair_rows(pair_image, text_tokens)
        hidden = text_tokens
        for depth, layer in enumerate(layers):
            hidden = _maybe_checkpointed(
                stack, _text_query_layer, layer, depth == len(layers) - 1, hidden, text_mask, image_tokens, kv_index
            )
        return self.itm_head(hidden[:, 0, :])

    def image_text_logits(
        self,
        image_tokens: torch.Tensor,
        text_tokens: torch.Tensor,
        text_mask: torch.Tensor,
        pair_image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``itm_head_i`` on the image-query branch's CLS: [b, 2], pairs as :meth:`text_image_logits`.  The
        projection, the first self-attention and the first cross-attention's queries see the image alone, so they
        run once per image row; the rest per pair; the last layer for the [CLS] row alone."""
        self._require_cross()
        stack = self.img_joint_layer.encoder
        layers = stack.layers()
        last = len(layers) - 1
        rows = _pair_rows(pair_image, text_tokens)
        own = self.img_joint_proj(image_tokens)
        first = layers[0].attention(own[:, :1] if last == 0 else own, own, None)
        queries = layers[0].crossattention.self.queries(first)[rows]
        hidden = _maybe_checkpointed(
            stack, layers[0].after_self_attention, first[rows], text_tokens, text_mask, None, queries
        )
        for depth, layer in enumerate(layers[1:], start=1):
            hidden = _maybe_checkpointed(
                stack, _image_query_layer, layer, depth == last, hidden, text_tokens, text_mask
            )
        return self.itm_head_i(hidden[:, 0, :])

    def itm_probs(
        self,
        image_tokens: torch.Tensor,
        text_tokens: torch.Tensor,
        text_mask: torch.Tensor,
        pair_image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Mean of both heads' softmax [b, 2] (the official matching prediction); pairs as
        :meth:`text_image_logits`."""
        p_t = torch.softmax(self.text_image_logits(image_tokens, text_tokens, text_mask, pair_image).float(), dim=-1)
        p_i = torch.softmax(self.image_text_logits(image_tokens, text_tokens, text_mask, pair_image).float(), dim=-1)
        return (p_t + p_i) / 2

    def itm_score(
        self,
        image_tokens: torch.Tensor,
        text_tokens: torch.Tensor,
        text_mask: torch.Tensor,
        pair_image: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """P(match) [b] = mean over both heads of softmax(logits)[:, 1]."""
        return self.itm_probs(image_tokens, text_tokens, text_mask, pair_image)[:, 1]

    def forward(
        self, pixels: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """Dual-encoder pass: token states, embeddings and the raw cosine matrix."""
        image_tokens = self.encode_image(pixels)
        text_tokens = self.encode_text(input_ids, attention_mask)
        image_embed, text_embed = self.image_embed(image_tokens), self.text_embed(text_tokens)
        return {
            "image_tokens": image_tokens,
            "text_tokens": text_tokens,
            "image_embed": image_embed,
            "text_embed": text_embed,
            "sim": self.similarity(image_embed, text_embed),
        }


def _pair_rows(pair_image: torch.Tensor | None, text_tokens: torch.Tensor) -> torch.Tensor:
    """Each pair's image row (row k of the images when ``pair_image`` is None)."""
    if pair_image is None:
        return torch.arange(text_tokens.shape[0], device=text_tokens.device)
    if pair_image.shape[0] != text_tokens.shape[0]:
        raise ValueError(f"{pair_image.shape[0]} pair images for {text_tokens.shape[0]} text rows")
    return pair_image


def _maybe_checkpointed(stack: JointLayerStack, fn: Any, *args: Any) -> torch.Tensor:
    """``fn(*args)``, its activations recomputed in the backward pass when the stack checkpoints (training)."""
    if stack.gradient_checkpointing and stack.training and torch.is_grad_enabled():
        return cast(torch.Tensor, checkpoint(fn, *args, use_reentrant=False))
    return cast(torch.Tensor, fn(*args))


def _text_query_layer(
    layer: JointLayer,
    cls_only: bool,
    hidden: torch.Tensor,
    text_mask: torch.Tensor,
    images: torch.Tensor,
    pair_image: torch.Tensor,
) -> torch.Tensor:
    """One layer of the text-query branch: the image (cross-attention context) keys / values once per image row."""
    hidden = layer.attention(hidden[:, :1] if cls_only else hidden, hidden, text_mask)
    keys, values = layer.crossattention.self.keys_values(images)
    return layer.after_self_attention(hidden, None, None, (keys[pair_image], values[pair_image]))


def _image_query_layer(
    layer: JointLayer, cls_only: bool, hidden: torch.Tensor, text_tokens: torch.Tensor, text_mask: torch.Tensor
) -> torch.Tensor:
    hidden = layer.attention(hidden[:, :1] if cls_only else hidden, hidden, None)
    return layer.after_self_attention(hidden, text_tokens, text_mask)


def _new_layer_api(layer: nn.Module) -> bool:
    import inspect

    return "causal_attention_mask" not in inspect.signature(layer.forward).parameters
