"""The Result schema: what ``zero-bench evaluate`` writes and the leaderboard takes."""

from __future__ import annotations

import json
import math
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from zero_bench.errors import DataFormatError
from zero_bench.fileio import atomic_write_text
from zero_bench.metrics.rules import TieRule
from zero_bench.models.info import ModelInfo, TrainingCorpus
from zero_bench.prompts import ClassificationProtocol
from zero_bench.taskspec import MeanRecall

__all__ = ["Result", "RunInfo", "TaskRef", "TrainingCorpus"]


class TaskRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    version: str
    split: str
    annotation_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class RunInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    toolkit_version: str
    torch_version: str
    device: str
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"
    world_size: int = 1
    seed: int = 0
    wall_time_s: float = Field(ge=0)
    timestamp: datetime


class Result(BaseModel):
    """One model on one task split."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = 1
    task: TaskRef
    model: ModelInfo
    setting: Literal["zero-shot", "fine-tuned"] = Field(
        description="fine-tuned means trained on this task's train split"
    )
    metrics: dict[str, float]
    tie_rule: TieRule = Field(
        default="index", description="order of tied scores: ascending index, or the official np.argsort(...)[::-1]"
    )
    tie_range: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="per retrieval or classification metric, its (lowest, highest) value over every order of tied scores",
    )
    mean_recall: MeanRecall | None = None
    rerank_top_k: int = Field(default=0, ge=0, description="0: dual encoder only")
    num_queries: dict[str, int] = Field(
        default_factory=dict, description="queries per direction, or pairs, or images and classes"
    )
    classification: ClassificationProtocol | None = Field(
        default=None, description="classification tasks: the protocol, class names and templates used"
    )
    predictions_sha256: str | None = None
    run: RunInfo

    @field_validator("metrics")
    @classmethod
    def _finite(cls, metrics: dict[str, float]) -> dict[str, float]:
        for key, value in metrics.items():
            if not math.isfinite(value):
                raise ValueError(f"metric {key} is not finite")
        return metrics

    @field_validator("tie_range")
    @classmethod
    def _ordered(cls, tie_range: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for key, (low, high) in tie_range.items():
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise ValueError(f"tie_range {key} is not a finite (lowest, highest) pair")
        return tie_range

    def write(self, path: str | Path) -> None:
        atomic_write_text(path, self.model_dump_json(indent=2) + "\n")

    @classmethod
    def read(cls, path: str | Path) -> Result:
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise DataFormatError(path, f"cannot read result JSON: {exc}") from exc
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(p) for p in first["loc"])
            raise DataFormatError(path, f"{loc}: {first['msg']}") from exc
