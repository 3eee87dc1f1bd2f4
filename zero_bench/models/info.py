"""Model metadata, importable without torch (results and the leaderboard use it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ModelInfo(BaseModel):
    """What a result and a leaderboard entry say about the model."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    parameters: int = Field(ge=0, description="number of parameters")
    training_data: str = Field(min_length=1, max_length=500, description="declared pre-training data")
    checkpoint: str | None = Field(default=None, description="checkpoint file or registry name")
    checkpoint_sha256: str | None = None
    organisation: str | None = None
    link: str | None = None
    fine_tuned_on: str | None = Field(default=None, description="task whose train split the weights were tuned on")
    random_init: bool = Field(default=False, description="evaluated with randomly initialised weights on purpose")

    @property
    def label(self) -> str:
        """The name as tables show it: random-init runs always say so."""
        return f"{self.name} (random init)" if self.random_init else self.name
