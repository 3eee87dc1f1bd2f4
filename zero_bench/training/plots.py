"""Figures of a training run folder (written by :class:`zero_bench.training.trainer.TrainingLoop`)."""

from __future__ import annotations

import json
from pathlib import Path

from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import atomic_path
from zero_bench.training.trainer import METRICS_FILE

# logged columns that are not losses
NOT_LOSSES = frozenset({"step", "epoch", "lr", "samples_per_s", "data_share", "time"})


def plot_losses(output: Path) -> Path:
    """Plot ``metrics.jsonl`` of a run folder (generic: every logged loss key) to ``loss.png``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = output / METRICS_FILE
    if not metrics.is_file():
        raise ZeroBenchError(f"{metrics}: no metrics log to plot")
    rows = [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if "loss" in r]
    if not rows:
        raise ZeroBenchError(f"{metrics}: no training rows to plot")
    keys = sorted({k for r in rows for k, v in r.items() if k not in NOT_LOSSES and isinstance(v, (int, float))})
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for k in keys:
        pts = [(r["step"], r[k]) for r in rows if k in r and r[k] > 0]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], label=k, linewidth=1.4 if k == "loss" else 0.9)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (log scale)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(f"training losses: {output.name}")
    out = output / "loss.png"
    with atomic_path(out, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return out
