"""Parsing and option declarations shared by several commands.

Options are declared once, here, as ``Annotated`` aliases; a command's signature names its parameter and its
default.  Options that one command alone has stay beside it.  Nothing heavy is imported (the CLI starts fast).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from zero_bench.errors import ZeroBenchError
from zero_bench.metrics.rules import TIE_RULES


def key_values(pairs: list[str], option: str) -> dict[str, Any]:
    """``KEY=VALUE`` strings to a dict; values are JSON when they parse (numbers, booleans), else strings."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise ZeroBenchError(f"{option} expects KEY=VALUE, got {pair!r}")
        try:
            out[key.replace("-", "_")] = json.loads(value)
        except json.JSONDecodeError:
            out[key.replace("-", "_")] = value
    return out


# --- data ----------------------------------------------------------------------------------------------------------
DataRoot = Annotated[Path | None, typer.Option("--root", help="Data root.")]
DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="Folder in the official layout; default: the data root.")
]

# --- evaluate: the grid ----------------------------------------------------------------------------------------------
# Every option is a list: the repeatable ones make the grid, and a single-valued one given twice is an error
# (zero_bench.evaluation.batch.single_values), never a silent choice of the last.
Models = Annotated[
    list[str],
    typer.Option(
        "--model", "-m", help="Model: plugin, adapter:source or zoo name (see 'zero-bench models'); repeatable."
    ),
]
Tasks = Annotated[
    list[str],
    typer.Option("--task", "-t", help="Task or suite (ccmb, public, all; see 'zero-bench tasks'); repeatable."),
]
Splits = Annotated[list[str], typer.Option("--split", help="Split(s) to evaluate; default: each task's default split.")]
DataDirs = Annotated[
    list[Path], typer.Option("--data-dir", help="Folder in the official layout; default: the data root.")
]
ResultOutput = Annotated[
    list[Path],
    typer.Option("--output", "-o", help="Result JSON path for one run, else a folder for all runs; default results/."),
]
PredictionsOutput = Annotated[
    list[Path],
    typer.Option("--predictions", help="Also write the predictions (JSON Lines): a file for one run, else a folder."),
]
TopK = Annotated[
    list[int],
    typer.Option(
        "--top-k",
        help="Re-rank each query's top k with the cross encoder; 0 = dual encoder only; default: the task's k.",
    ),
]
Checkpoints = Annotated[
    list[str],
    typer.Option(
        "--checkpoint",
        help="Checkpoint file or registered checkpoint name, passed to the model; repeatable (one run each).",
    ),
]
ModelConfig = Annotated[
    list[str], typer.Option("--model-config", help="Model configuration name or file, passed to the model.")
]
ModelOptions = Annotated[
    list[str], typer.Option("--model-option", help="Extra KEY=VALUE option for the model factory (repeatable).")
]
RandomInit = Annotated[
    bool,
    typer.Option("--random-init", help="Allow a model without loaded weights; every Result and table says so."),
]
SkipExisting = Annotated[bool, typer.Option("--skip-existing", help="Keep result files already written.")]
EvalBatchSize = Annotated[list[int], typer.Option("--batch-size", help="Encoding batch size (default 64).")]
PairBatchSize = Annotated[
    list[int],
    typer.Option(
        "--pair-batch-size", help="Cross-encoder batch size in pairs (default: 1024 down to 32 as states grow)."
    ),
]
EvalWorkers = Annotated[list[int], typer.Option("--workers", help="DataLoader workers for image decoding (default 0).")]
EvalDevice = Annotated[list[str], typer.Option("--device", help="cpu, cuda or cuda:N; default cuda when available.")]
EvalPrecision = Annotated[list[str], typer.Option("--precision", help="fp32 (default), fp16 or bf16 (autocast).")]
NoCache = Annotated[bool, typer.Option("--no-cache", help="Do not read or write the embedding cache.")]
EvalSeed = Annotated[list[int], typer.Option("--seed", help="Random seed (default 0).")]
TieRule = Annotated[
    list[str],
    typer.Option(
        "--tie-rule",
        help=f"Order of equal scores: {' or '.join(TIE_RULES)} (default index: ascending index; official: R2D2 "
        "itm_eval's np.argsort()[::-1]).",
    ),
]
Protocol = Annotated[
    list[str],
    typer.Option(
        "--protocol",
        help="Classification protocol: cn_clip (default; Chinese-CLIP's zero-shot script: its label_cn.txt class "
        "names and template lists) or clip_benchmark (CLIP_benchmark's cn class names and its 80 Chinese "
        "templates); recorded in every Result. See docs/classification.md.",
    ),
]
Templates = Annotated[
    list[Path],
    typer.Option(
        "--templates",
        help="Classification: a JSON file of templates (a list with {c} or {} for the class name, or an object "
        "class name -> prompts) that replaces the protocol's; its sha256 is recorded. See "
        "docs/classification.md.",
    ),
]

# --- train, finetune, quickstart (None means the recipe's default) ---------------------------------------------------
ModelName = Annotated[str, typer.Option("--model", "-m", help="Model with a registered trainer.")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue exactly from OUTPUT/checkpoint-last.pt.")]
Epochs = Annotated[float | None, typer.Option(help="Epochs (default: the recipe's).")]
MaxSteps = Annotated[int | None, typer.Option(help="Optimizer steps (overrides --epochs).")]
BatchSize = Annotated[int | None, typer.Option(help="Per-process micro-batch (default: the recipe's).")]
GradAccum = Annotated[int | None, typer.Option(help="Micro-batches per optimizer step.")]
Lr = Annotated[float | None, typer.Option(help="Peak learning rate (default: the recipe's).")]
WarmupSteps = Annotated[int | None, typer.Option(help="Linear warm-up steps (default: the recipe's).")]
Precision = Annotated[str | None, typer.Option(help="auto (bf16/fp16 on GPU, fp32 on CPU), fp32, fp16, bf16.")]
GradientCheckpointing = Annotated[
    bool, typer.Option("--gradient-checkpointing", help="Recompute activations in backward.")
]
Workers = Annotated[int | None, typer.Option(help="DataLoader workers per process.")]
SaveEvery = Annotated[int | None, typer.Option(help="Save checkpoint-last.pt every N steps.")]
Seed = Annotated[int | None, typer.Option(help="Random seed.")]
Device = Annotated[str | None, typer.Option(help="cpu or cuda (default cuda when available).")]
SetOptions = Annotated[
    list[str],
    typer.Option(
        "--set", help="Objective / training KEY=VALUE, e.g. mlm_weight=0, queue_size=4096 (repeatable; trainer's)."
    ),
]
Plot = Annotated[bool, typer.Option("--plot", help="Write OUTPUT/loss.png at the end.")]
NoProgress = Annotated[bool, typer.Option("--no-progress", help="No progress bar.")]
