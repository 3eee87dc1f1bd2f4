"""Model metadata, importable without torch (results and the leaderboard use it)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

HUB_DATASET = re.compile(r"^hf://datasets/[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_CORPORA = 16


def corpus_names() -> list[str]:
    """The pre-training corpora of the dataset registry (``zero-250m``, ``zero-toy``, ...)."""
    from zero_bench.data.registry import REGISTRY  # lazily: the registry reads every task definition

    return [name for name, entry in REGISTRY.items() if entry.kind in ("corpus", "toy")]


class TrainingCorpus(BaseModel):
    """One corpus a model was trained on: a corpus of the dataset registry (``zero-250m``) or a Hugging Face Hub
    dataset (``hf://datasets/ORG/NAME``), and who declares it (``zoo (...)``, ``submitter``, a model card URL,
    ``zero-bench train``).  The leaderboard matches contamination audit reports by ``name``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    source: str = Field(min_length=1, max_length=500, description="who declares that the model was trained on it")

    @field_validator("name")
    @classmethod
    def _known_form(cls, name: str) -> str:
        if HUB_DATASET.match(name) or name in corpus_names():
            return name
        raise ValueError(
            f"training corpus {name!r} is neither a corpus of the dataset registry ({', '.join(corpus_names())}) "
            "nor a Hub dataset id hf://datasets/ORG/NAME"
        )


def check_corpora(corpora: list[TrainingCorpus]) -> list[TrainingCorpus]:
    """At most :data:`MAX_CORPORA`, each name once."""
    names = [c.name for c in corpora]
    if len(names) > MAX_CORPORA:
        raise ValueError(f"{len(names)} training corpora, more than the limit of {MAX_CORPORA}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"training corpus {twice[0]!r} is listed twice")
    return corpora


class ModelInfo(BaseModel):
    """What a result and a leaderboard entry say about the model."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    parameters: int = Field(ge=0, description="number of parameters")
    training_data: str = Field(min_length=1, max_length=500, description="declared pre-training data")
    training_corpora: list[TrainingCorpus] = Field(
        default_factory=list,
        description="the corpora the model was trained on, by registry name or Hub id (empty: not known)",
    )
    checkpoint: str | None = Field(default=None, description="checkpoint file or registry name")
    checkpoint_sha256: str | None = None
    organisation: str | None = None
    link: str | None = None
    fine_tuned_on: str | None = Field(default=None, description="task whose train split the weights were tuned on")
    random_init: bool = Field(default=False, description="evaluated with randomly initialised weights on purpose")

    @field_validator("training_corpora")
    @classmethod
    def _corpora(cls, corpora: list[TrainingCorpus]) -> list[TrainingCorpus]:
        return check_corpora(corpora)

    @property
    def label(self) -> str:
        """The name as tables show it: random-init runs always say so."""
        return f"{self.name} (random init)" if self.random_init else self.name
