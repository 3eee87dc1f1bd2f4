"""The interface every model plugin implements.

A plugin is a factory registered in the ``zero_bench.models`` entry-point group; it returns an object with:

* ``info``: a :class:`ModelInfo` (name, parameter count, declared training data, checkpoint hash, ...);
* ``preprocess_image(image) -> Tensor``: PIL image to a model input tensor; runs in DataLoader workers, so it
  must be picklable (a module-level function or a small object, not a lambda);
* ``encode_images(pixels) -> Encoded`` and ``encode_texts(texts) -> Encoded``: the dual encoder.  ``pixels`` is
  a stacked batch of ``preprocess_image`` outputs already on the model's device; ``embeddings`` come back
  L2-normalised (the evaluator re-normalises anyway);
* optionally ``score_pairs(image_states, text_states) -> Tensor``: a cross encoder scoring row k of the image
  states against row k of the text states, returning P(match) (or any score where higher means more
  likely a match) of shape ``[n]``.  The evaluator keeps the ``states`` returned by the encoders once per
  image and per text and indexes them for every pair it needs, so no image is encoded twice;
* optionally ``rerank_with_similarity = True`` (a class attribute, default False): the re-ranking score of a
  candidate pair is then ``score_pairs(...) + cosine similarity`` of its dual-encoder embeddings (what the
  official R2D2 code ranks by), added by the evaluator; otherwise ``score_pairs`` alone;
* ``to(device)``: move to a device (``torch.nn.Module`` provides it).

Encoder outputs are cached on disk only for a model whose ``info.checkpoint_sha256`` is set: the hash is part of
the cache key, so a model without it (random weights, weights built in memory) is encoded afresh every time and
never read back from another model's cache.

Mixed precision is applied by the evaluator through ``torch.autocast``; plugins need no precision argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import torch

from zero_bench.models.info import ModelInfo

__all__ = ["Encoded", "Model", "ModelInfo", "PairScorer", "has_pair_scorer", "rerank_adds_similarity"]


@dataclass
class Encoded:
    """Output of an encoder for a batch of n items.

    ``embeddings`` [n, d] are the dual-encoder vectors.  ``states`` are per-item tensors (first dimension n)
    that the model's ``score_pairs`` needs later, e.g. token states and attention masks; empty for a pure
    dual encoder.
    """

    embeddings: torch.Tensor
    states: dict[str, torch.Tensor] = field(default_factory=dict)


@runtime_checkable
class Model(Protocol):
    """The dual encoder every model plugin provides (see the module docstring for each member)."""

    info: ModelInfo  # ``info.checkpoint_sha256`` None: nothing is cached for this model

    def preprocess_image(self, image: Any) -> torch.Tensor: ...

    def encode_images(self, pixels: torch.Tensor) -> Encoded: ...

    def encode_texts(self, texts: list[str]) -> Encoded: ...

    def to(self, device: torch.device | str) -> Any: ...


@runtime_checkable
class PairScorer(Protocol):
    """A model with a cross encoder; the evaluator uses it for re-ranking and matching.  Such a model may set
    ``rerank_with_similarity = True`` to re-rank by ``score_pairs`` plus the dual-encoder cosine (see
    :func:`rerank_adds_similarity`)."""

    def score_pairs(
        self, image_states: dict[str, torch.Tensor], text_states: dict[str, torch.Tensor]
    ) -> torch.Tensor: ...


def has_pair_scorer(model: object) -> bool:
    return callable(getattr(model, "score_pairs", None))


def rerank_adds_similarity(model: object) -> bool:
    """Whether re-ranking adds the dual-encoder cosine to the pair score (``rerank_with_similarity``)."""
    return bool(getattr(model, "rerank_with_similarity", False))
