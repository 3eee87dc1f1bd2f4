"""One ``evaluate(model, task, split)`` for every task, retrieval and matching alike."""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast

import numpy as np
import torch

from zero_bench.errors import ZeroBenchError
from zero_bench.evaluation.cache import ChunkCache, cache_key
from zero_bench.evaluation.distributed import init_from_env, rank_and_world
from zero_bench.evaluation.encode import AUTOCAST_DTYPES, EncodedSplit, encode_split
from zero_bench.evaluation.rerank import candidate_keys, candidate_scores, rerank_rankings, score_candidate_pairs
from zero_bench.evaluation.states import STATE_CHUNK_BATCHES
from zero_bench.fileio import sha256_file
from zero_bench.formats import ClassificationData, MatchingData, RetrievalData, SplitData, load_split
from zero_bench.metrics.classification import (
    class_vectors,
    classification_metrics,
    classification_tie_range,
    rank_classes,
)
from zero_bench.metrics.matching import matching_metrics
from zero_bench.metrics.ranking import TopK
from zero_bench.metrics.retrieval import cosine_rows, retrieval_topk
from zero_bench.metrics.rules import TieRule, check_tie_rule
from zero_bench.metrics.ties import (
    Rows,
    metrics_and_tie_range,
    rankings_under_rule,
    reranked_rows,
    reranked_values,
)
from zero_bench.models.protocol import Model, has_pair_scorer
from zero_bench.paths import cache_dir
from zero_bench.predictions import (
    ranking_length,
    retrieval_metrics_from_rankings,
    write_classification_predictions,
    write_matching_predictions,
    write_retrieval_predictions,
)
from zero_bench.prompts import ClassificationProtocol, check_options, class_prompts
from zero_bench.results import Result, RunInfo, TaskRef
from zero_bench.taskspec import TaskSpec, get_task
from zero_bench.version import __version__

Precision = Literal["fp32", "fp16", "bf16"]


def pick_device(device: str | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError as exc:
        raise ZeroBenchError(f"unknown device {device!r}") from exc
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ZeroBenchError("device cuda requested but no CUDA GPU is available")
    return chosen


class _Run:
    """Shared settings of one evaluation."""

    def __init__(
        self,
        model: Model,
        spec: TaskSpec,
        data: SplitData,
        *,
        batch_size: int,
        pair_batch_size: int | None,
        num_workers: int,
        device: torch.device,
        precision: str,
        use_cache: bool,
        show_progress: bool,
    ) -> None:
        self.model, self.spec, self.data = model, spec, data
        self.batch_size, self.pair_batch_size, self.num_workers = batch_size, pair_batch_size, num_workers
        self.device, self.precision, self.use_cache, self.show_progress = device, precision, use_cache, show_progress
        # Classification uses the dual encoder only: no states are kept for a cross encoder there.
        self.cross = has_pair_scorer(model) and not isinstance(data, ClassificationData)
        self.scratch = tempfile.TemporaryDirectory(prefix="zero-bench-states-")

    def encode(self, kind: str, items: list, *, content_sha256: str | None = None) -> EncodedSplit:
        """Encode a split's images or texts; ``content_sha256`` keys the cache for other texts (class prompts)."""
        key = (
            cache_key(
                self.model.info,
                self.spec.name,
                self.spec.version,
                self.data.split,
                content_sha256 or self.data.annotation_sha256,
                kind,
                self.precision,
            )
            if self.use_cache
            else None
        )
        # a chunk is held whole until written: with token states, fewer batches to a chunk (see states.py)
        chunk = self.batch_size * (STATE_CHUNK_BATCHES if self.cross else 16)
        # Without a persistent cache the chunks (states) go to a folder that is deleted with the run.
        root = cache_dir() / "encoded" if key else Path(self.scratch.name)
        encoded = encode_split(
            kind,
            self.model,
            items,
            batch_size=self.batch_size,
            num_workers=self.num_workers,
            device=self.device,
            precision=self.precision,
            store=ChunkCache(root, key or kind, chunk),
            cached=key is not None,
            keep_states=self.cross,
            chunk_size=chunk,
            show_progress=self.show_progress,
        )
        if kind == "texts" and encoded.states is not None:
            encoded.states.share_all()  # any rank's images may pair with any text
        return encoded


def evaluate(
    model: Model,
    task: str | TaskSpec,
    split: str | None = None,
    *,
    data_dir: str | Path | None = None,
    top_k: int | None = None,
    batch_size: int = 64,
    pair_batch_size: int | None = None,
    num_workers: int = 0,
    device: str | None = None,
    precision: str = "fp32",
    use_cache: bool = True,
    predictions: str | Path | None = None,
    seed: int = 0,
    show_progress: bool = False,
    tie_rule: TieRule = "index",
    protocol: str = "cn_clip",
    templates: str | Path | None = None,
) -> Result:
    """Evaluate ``model`` on one split of ``task`` and return the Result (and write predictions if asked).

    Retrieval: encode every image and text once, rank by cosine in chunks, and where the model has a cross
    encoder re-rank each query's top ``top_k`` (task default; 0 = dual encoder only), ``pair_batch_size`` pairs at a
    time (None: from the size of the states, :func:`~zero_bench.evaluation.rerank.default_pair_batch`).  Matching:
    the cross encoder's score per pair, or the cosine similarity without one; ROC-AUC.  Classification: class
    embeddings from ``protocol``'s class names and templates (or ``templates``, a JSON file), top-k accuracy and mean
    per-class recall.
    """
    spec = get_task(task) if isinstance(task, str) else task
    check_options(spec, protocol, templates, tie_rule)
    if precision not in AUTOCAST_DTYPES:
        raise ZeroBenchError(f"precision must be one of {', '.join(AUTOCAST_DTYPES)}, got {precision!r}")
    if top_k is not None and top_k < 0:
        raise ZeroBenchError("--top-k must be >= 0")
    try:
        tie_rule = check_tie_rule(tie_rule)
    except ValueError as exc:
        raise ZeroBenchError(str(exc)) from exc
    data = load_split(spec, data_dir, split)  # validates everything before any model work
    chosen = pick_device(device)
    if chosen.type == "cuda" and chosen.index is None and "LOCAL_RANK" in os.environ:
        chosen = torch.device("cuda", int(os.environ["LOCAL_RANK"]))  # one GPU per torchrun process
    init_from_env(chosen)
    torch.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    model.to(chosen)
    if hasattr(model, "eval"):
        model.eval()
    run = _Run(
        model,
        spec,
        data,
        batch_size=batch_size,
        pair_batch_size=pair_batch_size,
        num_workers=num_workers,
        device=chosen,
        precision=precision,
        use_cache=use_cache,
        show_progress=show_progress,
    )
    began = time.perf_counter()
    rank, world = rank_and_world()
    write = predictions is not None and rank == 0
    with run.scratch:
        if isinstance(data, ClassificationData):
            metrics, tie_range, counts, record = _evaluate_classification(
                run, data, protocol, templates, predictions if write else None
            )
            k = 0
        else:
            metrics, tie_range, counts, k = _evaluate(run, data, top_k, predictions if write else None, tie_rule)
            record = None
    wall = time.perf_counter() - began
    info = model.info
    return Result(
        task=TaskRef(name=spec.name, version=spec.version, split=data.split, annotation_sha256=data.annotation_sha256),
        model=info,
        setting="fine-tuned" if info.fine_tuned_on == spec.name else "zero-shot",
        metrics={key: value for key, value in metrics.items() if key in spec.metrics},
        tie_rule=tie_rule,
        tie_range={key: value for key, value in tie_range.items() if key in spec.metrics},
        mean_recall=spec.mean_recall,
        rerank_top_k=k,
        num_queries=counts,
        classification=record,
        predictions_sha256=sha256_file(predictions) if write and predictions is not None else None,
        run=RunInfo(
            toolkit_version=__version__,
            torch_version=torch.__version__,
            device=str(chosen),
            precision=cast(Precision, precision),  # checked against AUTOCAST_DTYPES above
            world_size=world,
            seed=seed,
            wall_time_s=round(wall, 3),
            timestamp=datetime.now(UTC).replace(microsecond=0),
        ),
    )


def _class_embeddings(
    run: _Run, data: ClassificationData, protocol: str, templates: str | Path | None
) -> tuple[torch.Tensor, ClassificationProtocol]:
    prompts = class_prompts(run.spec, data, protocol, templates)
    texts, owners = prompts.flat()
    digest = hashlib.sha256(json.dumps(texts, ensure_ascii=False).encode()).hexdigest()
    encoded = run.encode("class-prompts", texts, content_sha256=digest).embeddings
    return class_vectors(encoded, owners, data.num_classes), prompts.record


def _evaluate_classification(
    run: _Run,
    data: ClassificationData,
    protocol: str,
    templates: str | Path | None,
    predictions: str | Path | None,
) -> tuple[dict[str, float], dict[str, tuple[float, float]], dict[str, int], ClassificationProtocol]:
    classes, record = _class_embeddings(run, data, protocol, templates)
    images = run.encode("images", data.images).embeddings
    if not (torch.isfinite(images).all() and torch.isfinite(classes).all()):
        raise ZeroBenchError(f"model {run.model.info.name} produced non-finite embeddings")
    ranking = rank_classes(images, classes, torch.from_numpy(data.labels))
    if predictions is not None:
        write_classification_predictions(predictions, data, ranking.ranked)
    metrics = classification_metrics(data.labels, ranking.ranked.numpy(), data.num_classes)
    tie_range = classification_tie_range(data.labels, ranking, data.num_classes)
    return metrics, tie_range, {"images": data.num_images, "classes": data.num_classes}, record


def _evaluate(
    run: _Run,
    data: RetrievalData | MatchingData,
    top_k: int | None,
    predictions: str | Path | None,
    tie_rule: TieRule,
) -> tuple[dict[str, float], dict[str, tuple[float, float]], dict[str, int], int]:
    """Metrics, their tie ranges, counts and the re-ranking depth used; writes the predictions when given a path."""
    if isinstance(data, RetrievalData):
        k = 0 if not run.cross else run.spec.rerank_top_k if top_k is None else top_k
        metrics, tie_range, counts, ranked = _evaluate_retrieval(run, data, k, tie_rule)
        if predictions is not None:
            write_retrieval_predictions(predictions, data, run.spec, *ranked)
        return metrics, tie_range, counts, k
    metrics, counts, scores = _evaluate_matching(run, data)
    if predictions is not None:
        write_matching_predictions(predictions, data, scores)
    return metrics, {}, counts, 0


def topk_keeping_threads(images: torch.Tensor, texts: torch.Tensor, depth: int) -> tuple[TopK, TopK]:
    """``retrieval_topk``, with torch's intra-op thread count restored after it: a kernel library that starts its
    own thread pool can reset it to every core, and the cross encoder then runs (much slower) on contending threads."""
    threads = torch.get_num_threads()
    try:
        return retrieval_topk(images, texts, depth)
    finally:
        torch.set_num_threads(threads)


def _evaluate_retrieval(
    run: _Run,
    data: RetrievalData,
    k: int,
    tie_rule: TieRule = "index",
) -> tuple[dict[str, float], dict[str, tuple[float, float]], dict[str, int], tuple[torch.Tensor, torch.Tensor]]:
    images = run.encode("images", data.images)
    texts = run.encode("texts", data.texts)
    length_i2t, length_t2i = ranking_length(data.num_texts), ranking_length(data.num_images)
    depth = max(k, length_i2t, length_t2i)
    # One more than needed, so that a tie across the end of a ranking shows.
    i2t, t2i = topk_keeping_threads(images.embeddings, texts.embeddings, depth + 1)
    if k > 0:
        keys = candidate_keys(i2t, t2i, k, data.num_texts)
        assert images.states is not None and texts.states is not None  # a cross encoder keeps its states
        pair_scores = score_candidate_pairs(
            run.model,
            keys,
            images.states,
            texts.states,
            data.num_texts,
            batch_size=run.pair_batch_size,
            device=run.device,
            precision=run.precision,
            show_progress=run.show_progress,
        )
        add = bool(getattr(run.model, "rerank_with_similarity", False))
        ranked_i2t = rerank_rankings(
            i2t,
            min(k, data.num_texts),
            keys,
            pair_scores,
            queries_are_images=True,
            n_texts=data.num_texts,
            n_candidates=data.num_texts,
            add_similarity=add,
            length=length_i2t,
        )
        ranked_t2i = rerank_rankings(
            t2i,
            min(k, data.num_images),
            keys,
            pair_scores,
            queries_are_images=False,
            n_texts=data.num_texts,
            n_candidates=data.num_images,
            add_similarity=add,
            length=length_t2i,
        )
        counts = {"pairs_scored": int(keys.numel())}
        ties = (
            _reranked_ties(i2t, min(k, data.num_texts), keys, pair_scores, True, data, add, length_i2t),
            _reranked_ties(t2i, min(k, data.num_images), keys, pair_scores, False, data, add, length_t2i),
        )
    else:
        ranked_i2t, ranked_t2i = i2t.indices[:, :length_i2t], t2i.indices[:, :length_t2i]
        counts = {}
        ties = (
            (i2t.scores, cosine_rows(images.embeddings, texts.embeddings)),
            (t2i.scores, cosine_rows(texts.embeddings, images.embeddings)),
        )
    gold_text, gold_image = data.gold[:, 0], data.gold[:, 1]
    ranked_i2t, ranks_i2t = rankings_under_rule(
        ranked_i2t.cpu(), *ties[0], gold_image, gold_text, data.num_texts, tie_rule
    )
    ranked_t2i, ranks_t2i = rankings_under_rule(
        ranked_t2i.cpu(), *ties[1], gold_text, gold_image, data.num_images, tie_rule
    )
    metrics = retrieval_metrics_from_rankings(data, ranked_i2t, ranked_t2i)
    tie_range = metrics_and_tie_range({"txt": ranks_i2t, "img": ranks_t2i}, (1, 5, 10))[1]
    counts.update(
        {"image_queries": int(np.unique(data.gold[:, 1]).size), "text_queries": int(np.unique(data.gold[:, 0]).size)}
    )
    return metrics, tie_range, counts, (ranked_i2t, ranked_t2i)


def _reranked_ties(
    topk: TopK,
    k: int,
    keys: torch.Tensor,
    pair_scores: torch.Tensor,
    queries_are_images: bool,
    data: RetrievalData,
    add: bool,
    length: int,
) -> tuple[torch.Tensor, Rows]:
    """(re-ranked scores best first, full official rows) of every query, for the tie rule and tie range."""
    cand, scores = candidate_scores(
        topk, k, keys, pair_scores, queries_are_images=queries_are_images, n_texts=data.num_texts, add_similarity=add
    )
    n_items = data.num_texts if queries_are_images else data.num_images
    cand_np, scores_np, values = reranked_values(cand.cpu(), scores.float().cpu(), n_items, length + 1)
    return values, reranked_rows(cand_np, scores_np, n_items)


def _evaluate_matching(run: _Run, data: MatchingData) -> tuple[dict[str, float], dict[str, int], np.ndarray]:
    images = run.encode("images", data.images)
    texts = run.encode("texts", data.texts)
    pair_image = torch.from_numpy(data.pair_image).to(run.device)
    if run.cross:
        # Text i belongs to pair i, so pair keys are image * n_texts + pair.
        keys = pair_image * data.num_pairs + torch.arange(data.num_pairs, device=run.device)
        assert images.states is not None and texts.states is not None
        scores = score_candidate_pairs(
            run.model,
            keys,
            images.states,
            texts.states,
            data.num_pairs,
            batch_size=run.pair_batch_size,
            device=run.device,
            precision=run.precision,
            show_progress=run.show_progress,
        )
    else:
        img = torch.nn.functional.normalize(images.embeddings[pair_image], dim=-1)
        txt = torch.nn.functional.normalize(texts.embeddings, dim=-1)
        scores = (img * txt).sum(dim=-1)
    scores_np = scores.cpu().double().numpy()
    if not np.isfinite(scores_np).all():
        raise ZeroBenchError(f"model {run.model.info.name} produced non-finite matching scores")
    metrics = matching_metrics(data.labels, scores_np)
    if not run.cross:
        metrics.pop("accuracy")  # a cosine has no calibrated threshold
    return metrics, {"pairs": data.num_pairs}, scores_np
