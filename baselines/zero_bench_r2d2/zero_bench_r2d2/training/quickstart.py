"""``zero-bench quickstart``: the whole pipeline in miniature, offline, on a CPU, in a few minutes.

1. generate zero-toy (small sizes), 2. pre-train ``r2d2-toy`` (``r2d2-tiny`` at 48 px in 6 x 6 patches, 2 joint layers) with every
objective (GCPR, FGR with hard negatives, MLM at weight 0.2, TgD, FgD),
3. evaluate zero-shot on the five toy tasks (ICR and IQR with the dual encoder alone and re-ranked) and on the toy's
shape x colour classification set (its own templates), 4. fine-tune the
matching heads on ICM and IQM with the official matching recipe, and the retrieval model on one task (Flickr30k-CNA
by default: the epoch is selected on val, the result reported on test), 5. write the result JSONs and print them
beside chance level.  Every fine-tuning selects on val with the pre-trained weights as a candidate, so it never
returns weights worse on val than the ones it started from; the table says "kept start" when it kept them.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zero_bench.errors import ZeroBenchError

TOY_TASKS = ("icr", "iqr", "flickr30k-cna", "icm", "iqm")
RANKED_BOTH_WAYS = ("icr", "iqr")  # shown with the dual encoder alone and re-ranked: what the ranking stage adds


@dataclass
class QuickstartConfig:
    output_dir: str
    seed: int = 0
    # zero-toy sizes (small)
    corpus: int = 4000
    itr_train: int = 400
    itr_val: int = 200
    itm_train: int = 1000  # matching pairs for the heads to learn one-attribute negatives from (400 -> IQM AUC 52)
    itm_val: int = 200
    flickr_train: int = 80
    flickr_val: int = 40
    flickr_test: int = 40
    # pre-training
    config: str = "r2d2-toy"  # r2d2-tiny at 48 px with 8 px patches (shape to see) and 2 joint layers (2x the steps)
    # 1800 steps at 2 joint layers cost what 900 did at 6; steps and lr 2e-3 measured in TRAINING.md, "Depth and steps"
    steps: int = 1800
    batch_size: int = 32
    lr: float = 2e-3
    warmup_steps: int = 30
    queue_size: int = 512
    mlm_weight: float = 0.2  # MLM shares the text-query cross encoder with its ITM head; at 1.0 it starves it
    tgd_rampup_steps: int = 300  # TgD weight ramped up from 0 (ALBEF ramps over the first epoch)
    # FGR on uniform negatives for this share of the steps, then hard (our curriculum); 0 = hard from the first step, as
    # the paper: with 2 joint layers the heads learn without it, and more hard steps raise ICM (TRAINING.md)
    fgr_easy_fraction: float = 0.0
    dropout: float = 0.0  # the tiny model does not learn under the configs' 0.1 dropout (see TRAINING.md)
    text_mix: dict[str, float] | None = None  # corpus text fields' weights; None: title / content / query uniform
    family_share: float = 0.5  # share of corpus rows in near-duplicate families (one attribute changed; TRAINING.md)
    group_by: str | None = None  # "url": a page's family in one batch; off: it cost toy ICR ~20 points (TRAINING.md)
    # bound on 2 busy cores; the schedule is not shortened.  Its 1,800 steps fit on a fast spell (297 s, 2026-12-07);
    # on a slow one the bound stops it, and zero-shot ICM needs about 1,500 steps or more (docs/r2d2.md).  330 s: the
    # 45 s the matching heads no longer lose after the zero-shot evaluation (benchmarks/train.py) go to those steps
    pretrain_time_limit_s: float | None = 330.0
    # fine-tuning
    finetune_task: str = "flickr30k-cna"
    # toy lr / epochs (official: 1e-5, 20 epochs): toy Flickr30k-CNA's own register is a domain gap to the corpus that
    # 5 epochs at 1e-4 close (62.0 -> 83.6 on test; at 1e-5 x 2: 65.8); TRAINING.md, "Fine-tuning on the toy"
    finetune_epochs: int = 5
    finetune_lr: float = 1e-4
    finetune_warmup: int = 5
    finetune_batch_size: int = 32
    # matching heads (official recipe: cross-entropy on both heads' logits, frozen image encoder; toy lr / epochs)
    matching_tasks: tuple[str, ...] = ("icm", "iqm")
    matching_epochs: int = 10
    matching_lr: float = 2e-4
    matching_warmup: int = 5
    matching_batch_size: int = 32
    num_workers: int = 0
    # torch CPU threads; None: min(2, the CPUs this process may use).  2 threads ran the toy's pre-training step 1.03x
    # to 1.31x faster than 1 on a 2-core machine, with the same losses (TRAINING.md, "Input size"); more are not
    # needed at this size, and on a small shared machine more threads than cores are slow
    threads: int | None = None
    show_progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Refuse a size that is not one (``steps=-5``, ``lr=nan``, 0 pairs), or an output folder that is a file,
        before anything is generated."""
        from zero_bench.checks import check_count, check_number
        from zero_bench.fileio import check_output_folder

        check_output_folder(self.output_dir)

        for name in _COUNTS:
            check_count(name, getattr(self, name))
        for name in ("seed", "queue_size", "tgd_rampup_steps", "warmup_steps", "finetune_warmup", "matching_warmup"):
            check_count(name, getattr(self, name), least=0)
        check_count("num_workers", self.num_workers, least=0)
        for name in ("lr", "finetune_lr", "matching_lr"):
            check_number(name, getattr(self, name))
        check_number("mlm_weight", self.mlm_weight, positive=False)
        check_number("fgr_easy_fraction", self.fgr_easy_fraction, positive=False, at_most=1.0)
        check_number("dropout", self.dropout, positive=False, at_most=1.0)
        check_number("family_share", self.family_share, positive=False, at_most=1.0)
        if self.pretrain_time_limit_s is not None:
            check_number("pretrain_time_limit_s", self.pretrain_time_limit_s)
        if self.threads is not None:
            check_count("threads", self.threads)
        if self.finetune_task not in TOY_TASKS:
            raise ZeroBenchError(f"quickstart fine-tunes one of {', '.join(TOY_TASKS)}, not {self.finetune_task!r}")


_COUNTS = (  # QuickstartConfig fields that must be integers >= 1
    "corpus",
    "itr_train",
    "itr_val",
    "itm_train",
    "itm_val",
    "flickr_train",
    "flickr_val",
    "flickr_test",
    "steps",
    "batch_size",
    "finetune_epochs",
    "finetune_batch_size",
    "matching_epochs",
    "matching_batch_size",
)


# ----------------------------------------------------------------------------------------------------------------
# chance level


def _p_hit(n: int, gold: int, k: int) -> float:
    """P(at least one of ``gold`` relevant items in the top ``k`` of a uniformly random ranking of ``n``)."""
    k = min(k, n)
    miss = 1.0
    for j in range(k):
        miss *= max(0.0, (n - gold - j) / (n - j))
    return 1.0 - miss


def chance_metrics(data) -> dict[str, float]:
    """Expected metrics of a random model on this split (retrieval recalls and accuracies in percent; matching AUC
    50)."""
    from zero_bench.formats import ClassificationData, MatchingData

    if isinstance(data, MatchingData):
        return {"auc": 50.0, "accuracy": 50.0}
    if isinstance(data, ClassificationData):
        n = data.num_classes
        return {"acc1": 100.0 / n, "acc5": 100.0 * min(5, n) / n, "mean_per_class_recall": 100.0 / n}
    gold = np.asarray(data.gold)
    n_t, n_i = data.num_texts, data.num_images
    per_image = np.bincount(gold[:, 1], minlength=n_i)
    per_image = per_image[per_image > 0]
    per_text = np.bincount(gold[:, 0], minlength=n_t)
    per_text = per_text[per_text > 0]
    out: dict[str, float] = {}
    for k in (1, 5, 10):
        out[f"txt_r{k}"] = 100.0 * float(np.mean([_p_hit(n_t, int(g), k) for g in per_image]))
        out[f"img_r{k}"] = 100.0 * float(np.mean([_p_hit(n_i, int(g), k) for g in per_text]))
    out["txt_r_mean"] = (out["txt_r1"] + out["txt_r5"] + out["txt_r10"]) / 3
    out["img_r_mean"] = (out["img_r1"] + out["img_r5"] + out["img_r10"]) / 3
    out["r_mean"] = (out["txt_r_mean"] + out["img_r_mean"]) / 2
    return out


# ----------------------------------------------------------------------------------------------------------------


def _say(msg: str) -> None:
    from rich.console import Console

    Console(stderr=True).print(msg)


def torch_threads(requested: int | None) -> int:
    """The quickstart's torch threads: ``requested``, or at most 2 of the CPUs this process may use."""
    if requested:
        return requested
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(2, usable)


def run_quickstart(cfg: QuickstartConfig) -> dict[str, Any]:
    import torch

    torch.set_num_threads(torch_threads(cfg.threads))
    t_start, cpu_start = time.perf_counter(), time.process_time()
    out = Path(cfg.output_dir).expanduser()
    timings: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        result = fn(*args)
        timings[name] = time.perf_counter() - t0
        return result

    task_dir, corpus_dir = timed("data", _make_data, cfg, out / "data")
    summary = timed("pretrain", _pretrain, cfg, corpus_dir, out / "pretrain")
    if summary.get("stopped_by_time"):
        _say(f"  time limit reached after {summary['step']} of {cfg.steps} steps")
    pre_ckpt = out / "pretrain" / "model.safetensors"
    rows = timed("zero_shot_eval", _zero_shot, cfg, pre_ckpt, task_dir, out / "results")
    rows += timed("matching_finetune", _finetune_matching, cfg, pre_ckpt, task_dir, out)
    ft_rows, ft = timed("finetune", _finetune_retrieval, cfg, pre_ckpt, task_dir, out)
    rows += ft_rows

    total = time.perf_counter() - t_start
    timings["total"] = total
    summary_out = {
        "rows": rows,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "cpu_s": round(time.process_time() - cpu_start, 1),  # this process only: comparable on a busy machine
        "pretrain_steps": summary["step"],
        "finetune_best": ft.get("best"),
    }
    (out / "quickstart.json").write_text(json.dumps(summary_out, indent=1, default=str) + "\n", encoding="utf-8")
    print_table(rows, total, summary_out["cpu_s"])
    return summary_out


def _make_data(cfg: QuickstartConfig, data_root: Path) -> tuple[Path, Path]:
    """Step 1: zero-toy at the configured sizes (kept when already there with the same seed and sizes)."""
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_corpus_dir, toy_params, toy_task_dir

    sizes = ToySizes(
        corpus=cfg.corpus,
        itr_train=cfg.itr_train,
        itr_val=cfg.itr_val,
        itm_train=cfg.itm_train,
        itm_val=cfg.itm_val,
        flickr_train=cfg.flickr_train,
        flickr_val=cfg.flickr_val,
        flickr_test=cfg.flickr_test,
    )
    marker = toy_task_dir(data_root) / "zero-toy.json"
    wanted = toy_params(cfg.seed, sizes)
    have = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else None
    manifest = toy_corpus_dir(data_root) / "manifest.json"
    corpus_made = json.loads(manifest.read_text(encoding="utf-8")).get("generator") if manifest.is_file() else None
    if have != wanted or corpus_made != wanted | {"family_share": cfg.family_share}:
        _say(f"[bold]1/5[/] generating zero-toy ({cfg.corpus} corpus pairs) in {data_root}")
        generate_zero_toy(root=data_root, seed=cfg.seed, sizes=sizes, family_share=cfg.family_share)
    else:
        _say(f"[bold]1/5[/] zero-toy already in {data_root}")
    return toy_task_dir(data_root), toy_corpus_dir(data_root)


def _pretrain(cfg: QuickstartConfig, corpus_dir: Path, pre_dir: Path) -> dict[str, Any]:
    """Step 2: every objective; TgD ramped up, FGR's negatives uniform for ``fgr_easy_fraction`` of the steps (see
    QuickstartConfig)."""
    from zero_bench_r2d2.training.objectives import ObjectiveConfig
    from zero_bench_r2d2.training.recipes import pretrain

    easy = int(cfg.fgr_easy_fraction * cfg.steps)
    curriculum = f"FGR on uniform negatives for the first {easy} steps" if easy else "FGR on hard negatives"
    _say(
        f"[bold]2/5[/] pre-training {cfg.config} for {cfg.steps} steps x {cfg.batch_size} (GCPR + FGR + MLM + TgD + "
        f"FgD; {curriculum})"
    )
    objective = ObjectiveConfig(
        queue_size=cfg.queue_size,
        mlm_weight=cfg.mlm_weight,
        tgd_rampup_steps=cfg.tgd_rampup_steps,
        fgr_easy_steps=easy,
        seed=cfg.seed,
    )
    return pretrain(
        config=cfg.config,
        corpus=corpus_dir,
        output_dir=pre_dir,
        objective=objective,
        dropout=cfg.dropout,
        text_mix=cfg.text_mix,
        group_by=cfg.group_by,
        train={
            "max_steps": cfg.steps,
            "batch_size": cfg.batch_size,
            "lr": cfg.lr,
            "warmup_steps": cfg.warmup_steps,
            "seed": cfg.seed,
            "num_workers": cfg.num_workers,
            "show_progress": cfg.show_progress,
            "log_every": 10,
            "time_limit_s": cfg.pretrain_time_limit_s,
            "device": "cpu",
        },
    )


def _training_data(cfg: QuickstartConfig) -> str:
    return f"zero-toy corpus ({cfg.corpus} pairs, quickstart)"


def _fine_tuned(cfg: QuickstartConfig, ft_dir: Path, task: str) -> Any:
    """The weights a fine-tuning run selected on val (its last epoch's where none was written as best)."""
    from zero_bench_r2d2.plugin import create_r2d2

    best = ft_dir / "model-best.safetensors"
    checkpoint = best if best.is_file() else ft_dir / "model.safetensors"
    return _toy_trained(
        create_r2d2(
            checkpoint=str(checkpoint), config=cfg.config, fine_tuned_on=task, training_data=_training_data(cfg)
        )
    )


def _toy_trained(model: Any) -> Any:
    """The model with ``info.training_corpora`` naming zero-toy, which every quickstart model was pre-trained on, so
    its Results (and a leaderboard with a zero-toy audit) say so."""
    from zero_bench.models.info import TrainingCorpus

    corpus = TrainingCorpus(name="zero-toy", source="zero-bench train (the zero-bench-r2d2 quickstart pre-training)")
    model.info = model.info.model_copy(update={"training_corpora": [corpus]})
    return model


def _zero_shot(cfg: QuickstartConfig, checkpoint: Path, task_dir: Path, results_dir: Path) -> list[dict[str, Any]]:
    """Step 3: the pre-trained model on the five toy tasks and zero-toy-shapes; ICR and IQR also with the dual encoder
    alone (top_k 0), so the table shows what the re-ranking stage adds for the same model."""
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.plugin import create_r2d2

    _say("[bold]3/5[/] zero-shot evaluation on the five toy tasks and the toy classification set")
    model = _toy_trained(create_r2d2(checkpoint=str(checkpoint), config=cfg.config, training_data=_training_data(cfg)))
    rows: list[dict[str, Any]] = []
    for task in TOY_TASKS:
        spec = get_task(task)
        split = spec.default_split
        chance = chance_metrics(load_split(spec, task_dir, split))
        variants: list[tuple[str, int | None]] = [("zero-shot", None)]
        if task in RANKED_BOTH_WAYS:
            variants = [("zero-shot, dual encoder", 0), ("zero-shot, re-ranked", None)]
        for setting, top_k in variants:
            result = evaluate(model, spec, split, data_dir=task_dir, top_k=top_k, use_cache=False, device="cpu")
            suffix = "-dual" if top_k == 0 else ""
            path = results_dir / f"{task}-zero-shot{suffix}.json"
            result.write(path)
            rows.append(_row(task, split, setting, result, chance, path))
    rows.append(_toy_classification(model, task_dir, results_dir))
    return rows


def _toy_classification(model: Any, task_dir: Path, results_dir: Path) -> dict[str, Any]:
    """zero-toy-shapes (49 shape x colour classes) zero-shot with the toy's own templates.  Protocol clip_benchmark:
    with a templates file and a set it has no names for, what it leaves is 'the set's names, texts as written', and
    it needs no optional package for that."""
    from zero_bench.data.toy_classes import FOLDER
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task

    spec = get_task("zero-toy-shapes")
    templates = task_dir / FOLDER / "templates.json"
    result = evaluate(
        model, spec, data_dir=task_dir, protocol="clip_benchmark", templates=templates, use_cache=False, device="cpu"
    )
    path = results_dir / "zero-toy-shapes-zero-shot.json"
    result.write(path)
    chance = chance_metrics(load_split(spec, task_dir))
    return _row(spec.name, spec.default_split, "zero-shot, toy templates", result, chance, path)


def _finetune_matching(cfg: QuickstartConfig, checkpoint: Path, task_dir: Path, out: Path) -> list[dict[str, Any]]:
    """Step 4a: the matching heads on ICM / IQM train with the official matching recipe (cross-entropy on both heads'
    logits, frozen image encoder; lr and epochs scaled to the toy).  The epoch is selected on val AUC with the
    starting weights as a candidate (the recipe's selection), and val is reported: toy ICM / IQM have train and val
    only, as the real sets, whose official code also evaluates on val."""
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.training.recipes import finetune

    rows: list[dict[str, Any]] = []
    for task in cfg.matching_tasks:
        spec = get_task(task)
        _say(f"[bold]4/5[/] fine-tuning the matching heads on {task} ({cfg.matching_epochs} epochs)")
        ft_dir = out / f"finetune-{task}"
        ft = finetune(
            task=task,
            checkpoint=str(checkpoint),
            config=cfg.config,
            output_dir=ft_dir,
            data_dir=task_dir,
            dropout=cfg.dropout,
            train={
                "epochs": cfg.matching_epochs,
                "lr": cfg.matching_lr,
                "warmup_steps": cfg.matching_warmup,
                "batch_size": cfg.matching_batch_size,
                "seed": cfg.seed,
                "num_workers": cfg.num_workers,
                "show_progress": cfg.show_progress,
                "device": "cpu",
            },
        )
        tuned = _fine_tuned(cfg, ft_dir, task)
        result = evaluate(tuned, spec, "val", data_dir=task_dir, use_cache=False, device="cpu")
        path = out / "results" / f"{task}-fine-tuned.json"
        result.write(path)
        chance = chance_metrics(load_split(spec, task_dir, "val"))
        rows.append(_row(task, "val", "fine-tuned", result, chance, path, ft.get("best")))
    return rows


def _finetune_retrieval(
    cfg: QuickstartConfig, checkpoint: Path, task_dir: Path, out: Path
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Step 4b: retrieval fine-tuning on ``finetune_task`` (epoch selected on val, reported on test where there is
    one)."""
    from zero_bench.evaluation.evaluator import evaluate
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.training.recipes import finetune

    task = cfg.finetune_task
    spec = get_task(task)
    _say(f"[bold]4/5[/] fine-tuning on {task} ({cfg.finetune_epochs} epochs, epoch chosen on val)")
    ft_dir = out / f"finetune-{task}"
    ft = finetune(
        task=task,
        checkpoint=str(checkpoint),
        config=cfg.config,
        output_dir=ft_dir,
        data_dir=task_dir,
        dropout=cfg.dropout,
        train={
            "epochs": cfg.finetune_epochs,
            "lr": cfg.finetune_lr,
            "warmup_steps": cfg.finetune_warmup,
            "batch_size": cfg.finetune_batch_size,
            "seed": cfg.seed,
            "num_workers": cfg.num_workers,
            "show_progress": cfg.show_progress,
            "device": "cpu",
        },
    )
    tuned = _fine_tuned(cfg, ft_dir, task)
    report_split = "test" if "test" in spec.splits else "val"
    result = evaluate(tuned, spec, report_split, data_dir=task_dir, use_cache=False, device="cpu")
    path = out / "results" / f"{task}-fine-tuned.json"
    result.write(path)
    chance = chance_metrics(load_split(spec, task_dir, report_split))
    return [_row(task, report_split, "fine-tuned", result, chance, path, ft.get("best"))], ft


def _row(
    task: str,
    split: str,
    setting: str,
    result,
    chance: dict[str, float],
    path: Path,
    selection: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One table row; ``selection``: a fine-tuning's choice on val (the trainer's ``best``: metric, value, epoch,
    step, kept_start)."""
    metric = next(m for m in ("r_mean", "auc", "acc1") if m in result.metrics)
    return {
        "task": task,
        "split": split,
        "setting": setting,
        "metric": metric,
        "value": float(result.metrics[metric]),
        "chance": float(chance[metric]),
        "metrics": dict(result.metrics),
        "result": str(path),
        "selection": selection,
        "kept_start": bool(selection and selection.get("kept_start")),
    }


def print_table(rows: list[dict[str, Any]], total_s: float | None = None, cpu_s: float | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="zero-bench quickstart: tiny R2D2 on zero-toy", min_width=72)
    for col in ("task", "split", "setting", "metric", "model", "chance", "x chance"):
        table.add_column(col, justify="right" if col in ("model", "chance", "x chance") else "left")
    for r in rows:
        ratio = r["value"] / r["chance"] if r["chance"] > 0 else math.inf
        name = {"r_mean": "R mean (6)", "auc": "AUC", "acc1": "top-1"}[r["metric"]]
        setting = f"{r['setting']}, kept start" if r.get("kept_start") else r["setting"]
        table.add_row(r["task"], r["split"], setting, name, f"{r['value']:.2f}", f"{r['chance']:.2f}", f"{ratio:.1f}")
    console = Console()
    console.print(table)
    console.print(
        "R mean (6): mean of R@1/5/10 in both directions (percent); AUC: ROC-AUC of P(match); "
        "chance: expected value of a random model on the same split"
    )
    console.print(
        "fine-tuned: the epoch chosen on val, the pre-trained weights among the candidates (kept start: no epoch beat "
        "them on val, so the row shows the pre-trained weights); ICM / IQM have no test split and report val"
    )
    for line in ranking_notes(rows):
        console.print(line)
    if total_s is not None:
        cpu = f" ({cpu_s / 60:.1f} min of CPU time in this process)" if cpu_s is not None else ""
        console.print(f"total wall time {total_s / 60:.1f} min{cpu}; result JSONs beside this run's quickstart.json")


# why a re-ranked row can fall below the dual encoder on the toy, and where that was measured
_RANKING_NOTE = {
    "iqr": "on toy IQR the matching heads read a query's shapes about as well as the cosine, so the ranking stage's "
    'gain there is about zero and its sign varies by run (baselines/zero_bench_r2d2/TRAINING.md, "Toy IQR")',
    "icr": "on toy ICR the ranking stage added to every model measured, so this run is unlike them "
    '(baselines/zero_bench_r2d2/TRAINING.md, "Toy IQR: a larger gallery")',
}


def ranking_notes(rows: list[dict[str, Any]]) -> list[str]:
    """One line for each task whose re-ranked row is below its dual-encoder row: the difference, and what was
    measured about it, so that a first run does not leave the reader to think the stage is broken."""
    value = {(r["task"], r["setting"]): r["value"] for r in rows}
    notes = []
    for task in RANKED_BOTH_WAYS:
        dual, reranked = value.get((task, "zero-shot, dual encoder")), value.get((task, "zero-shot, re-ranked"))
        if dual is not None and reranked is not None and reranked < dual:
            notes.append(
                f"{task}: re-ranking is {reranked - dual:+.2f} against the dual encoder on this run; {_RANKING_NOTE[task]}"
            )
    return notes
