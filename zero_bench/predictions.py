"""Prediction files and scoring them without a model, so anyone can re-score a result.

Retrieval: JSON Lines, one query per line, ``{"text_id": int, "image_ids": [10 ranked ids]}`` (text-to-image) or
``{"image_id": int, "text_ids": [10 ranked ids]}`` (image-to-text), both directions in one file where the task
evaluates both.  Ids are those of the split (official formats: text line number, image first-appearance order).
Matching: ``{"pair_id": int, "score": float}`` with pair id = 0-based line number of the annotation file.
Classification: ``{"image_id": int, "class_ids": [5 ranked class ids]}`` (all classes when fewer than 5), image id =
the position in the split's read order (or its index.json order; see :mod:`zero_bench.formats.elevater`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

from zero_bench.errors import DataFormatError
from zero_bench.fileio import atomic_path, refuse_overwrite
from zero_bench.formats.canonical import ClassificationData, MatchingData, RetrievalData
from zero_bench.formats.jsonl import read_json_lines
from zero_bench.metrics import classification as cls_metrics
from zero_bench.metrics.matching import matching_metrics
from zero_bench.metrics.retrieval import RetrievalRecall
from zero_bench.taskspec import Direction, TaskSpec

RANKING_LENGTH = 10
MAX_PREDICTIONS_BYTES = 256 << 20  # ~100x the largest task's predictions; a bigger file is refused unread


def ranking_length(n_candidates: int) -> int:
    return min(RANKING_LENGTH, n_candidates)


def write_retrieval_predictions(
    path: str | Path, data: RetrievalData, spec: TaskSpec, i2t: torch.Tensor | None, t2i: torch.Tensor | None
) -> None:
    """``i2t[i]`` / ``t2i[t]``: ranked positions (best first) for every image / text position."""
    ids_img, ids_txt = data.image_ids, data.text_ids
    queries_img, queries_txt = query_positions(data)
    refuse_overwrite(path, data_inputs(data), "predictions file")
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        if Direction.text_to_image in spec.directions and t2i is not None:
            ranked = t2i[:, : ranking_length(data.num_images)].cpu().numpy()
            for t in queries_txt:
                out.write(json.dumps({"text_id": int(ids_txt[t]), "image_ids": ids_img[ranked[t]].tolist()}) + "\n")
        if Direction.image_to_text in spec.directions and i2t is not None:
            ranked = i2t[:, : ranking_length(data.num_texts)].cpu().numpy()
            for i in queries_img:
                out.write(json.dumps({"image_id": int(ids_img[i]), "text_ids": ids_txt[ranked[i]].tolist()}) + "\n")


def write_matching_predictions(path: str | Path, data: MatchingData, scores: np.ndarray) -> None:
    refuse_overwrite(path, data_inputs(data), "predictions file")
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for pair_id, score in zip(data.pair_ids.tolist(), scores.tolist(), strict=False):
            out.write(json.dumps({"pair_id": pair_id, "score": float(score)}) + "\n")


def write_classification_predictions(path: str | Path, data: ClassificationData, ranked: torch.Tensor) -> None:
    """``ranked[i]``: the class ids of image position i, best first."""
    refuse_overwrite(path, data_inputs(data), "predictions file")
    rows = ranked.cpu().numpy().tolist()
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for image_id, classes in zip(data.image_ids.tolist(), rows, strict=True):
            out.write(json.dumps({"image_id": image_id, "class_ids": classes}) + "\n")


def data_inputs(data: RetrievalData | MatchingData | ClassificationData) -> list[str | Path]:
    """The files a split was read from: its annotation file and any image container (TSV)."""
    containers = {item.path for item in data.images if item.offset is not None}
    return [data.source, *sorted(containers)] if data.source else sorted(containers)


def query_positions(data: RetrievalData) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the image queries (images with a gold text) and text queries (texts with a gold image)."""
    return np.unique(data.gold[:, 1]), np.unique(data.gold[:, 0])


def _records(path: Path) -> Iterable[tuple[int, dict]]:
    if path.is_file() and path.stat().st_size > MAX_PREDICTIONS_BYTES:
        raise DataFormatError(
            path, f"predictions file of {path.stat().st_size} bytes is larger than the limit of {MAX_PREDICTIONS_BYTES}"
        )
    return read_json_lines(path, what="predictions file")


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_retrieval_predictions(
    path: str | Path,
    data: RetrievalData,
    spec: TaskSpec,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Validate strictly and return ranked positions (i2t [n_images, L], t2i [n_texts, L]); rows of non-queries
    are -1.  Every query of every evaluated direction must appear exactly once."""
    path = Path(path)
    img_pos = {int(v): p for p, v in enumerate(data.image_ids.tolist())}
    txt_pos = {int(v): p for p, v in enumerate(data.text_ids.tolist())}
    queries_img, queries_txt = query_positions(data)
    directions = set(spec.directions)
    len_i2t, len_t2i = ranking_length(data.num_texts), ranking_length(data.num_images)
    i2t = (
        torch.full((data.num_images, len_i2t), -1, dtype=torch.int64) if Direction.image_to_text in directions else None
    )
    t2i = (
        torch.full((data.num_texts, len_t2i), -1, dtype=torch.int64) if Direction.text_to_image in directions else None
    )
    seen_img: set[int] = set()
    seen_txt: set[int] = set()
    for number, record in _records(path):
        if set(record) == {"text_id", "image_ids"}:
            query_key, list_key, table, ranks, seen, queries, length = (
                "text_id",
                "image_ids",
                txt_pos,
                t2i,
                seen_txt,
                queries_txt,
                len_t2i,
            )
            targets = img_pos
            direction = Direction.text_to_image
        elif set(record) == {"image_id", "text_ids"}:
            query_key, list_key, table, ranks, seen, queries, length = (
                "image_id",
                "text_ids",
                img_pos,
                i2t,
                seen_img,
                queries_img,
                len_i2t,
            )
            targets = txt_pos
            direction = Direction.image_to_text
        else:
            raise DataFormatError(
                path, f"expected keys text_id+image_ids or image_id+text_ids, got {sorted(record)}", number
            )
        if ranks is None:
            raise DataFormatError(
                path, f"task {spec.name} does not evaluate {direction.value} ('{query_key}' lines)", number
            )
        query = record[query_key]
        if not _int(query) or query not in table:
            raise DataFormatError(path, f"{query_key} {query!r} is not an id of {spec.name}/{data.split}", number)
        if query in seen:
            raise DataFormatError(path, f"duplicate query {query_key} {query}", number)
        ranked = record[list_key]
        if not isinstance(ranked, list) or len(ranked) != length:
            got = len(ranked) if isinstance(ranked, list) else type(ranked).__name__
            raise DataFormatError(path, f"{list_key} must list exactly {length} ids, got {got}", number)
        for item in ranked:
            if not _int(item) or item not in targets:
                raise DataFormatError(
                    path, f"{list_key} has {item!r}, which is not an id of {spec.name}/{data.split}", number
                )
        if len(set(ranked)) != len(ranked):
            raise DataFormatError(path, f"{list_key} repeats an id", number)
        seen.add(query)
        ranks[table[query]] = torch.tensor([targets[item] for item in ranked])
    for ranks, seen, queries, ids, key in (
        (t2i, seen_txt, queries_txt, data.text_ids, "text_id"),
        (i2t, seen_img, queries_img, data.image_ids, "image_id"),
    ):
        if ranks is None:
            continue
        missing = [int(ids[q]) for q in queries if int(ids[q]) not in seen]
        if missing:
            raise DataFormatError(path, f"missing {len(missing)} {key} queries, e.g. {key} {missing[0]}")
    return i2t, t2i


def retrieval_metrics_from_rankings(
    data: RetrievalData, i2t: torch.Tensor | None, t2i: torch.Tensor | None, ks: tuple[int, ...] = (1, 5, 10)
) -> dict[str, float]:
    recall = RetrievalRecall(data.gold, data.num_images, data.num_texts, ks)
    queries_img, queries_txt = query_positions(data)
    if i2t is not None:
        q = torch.from_numpy(queries_img)
        recall.update_image_queries(q, i2t[q])
    if t2i is not None:
        q = torch.from_numpy(queries_txt)
        recall.update_text_queries(q, t2i[q])
    return recall.compute()


def read_matching_predictions(path: str | Path, data: MatchingData) -> np.ndarray:
    path = Path(path)
    scores = np.full(data.num_pairs, np.nan)
    seen = np.zeros(data.num_pairs, dtype=bool)
    for number, record in _records(path):
        if set(record) != {"pair_id", "score"}:
            raise DataFormatError(path, f"expected keys pair_id+score, got {sorted(record)}", number)
        pair, score = record["pair_id"], record["score"]
        if not _int(pair) or not 0 <= pair < data.num_pairs:
            raise DataFormatError(
                path, f"pair_id {pair!r} is not a pair of {data.task}/{data.split} (0..{data.num_pairs - 1})", number
            )
        if seen[pair]:
            raise DataFormatError(path, f"duplicate pair_id {pair}", number)
        if isinstance(score, bool) or not isinstance(score, (int, float)) or not _finite(score):
            raise DataFormatError(path, f"score {score!r} is not a finite number", number)
        seen[pair] = True
        scores[pair] = float(score)
    if not seen.all():
        missing = int(np.flatnonzero(~seen)[0])
        raise DataFormatError(path, f"missing {int((~seen).sum())} pairs, e.g. pair_id {missing}")
    return scores


def _check_class_ranking(path: Path, ranked: object, length: int, n_classes: int, number: int) -> list[int]:
    if not isinstance(ranked, list) or len(ranked) != length:
        got = len(ranked) if isinstance(ranked, list) else type(ranked).__name__
        raise DataFormatError(path, f"class_ids must list exactly {length} class ids, got {got}", number)
    for item in ranked:
        if not _int(item) or not 0 <= item < n_classes:
            raise DataFormatError(path, f"class_ids has {item!r}, which is not a class id (0..{n_classes - 1})", number)
    if len(set(ranked)) != len(ranked):
        raise DataFormatError(path, "class_ids repeats a class id", number)
    return ranked


def read_classification_predictions(path: str | Path, data: ClassificationData) -> np.ndarray:
    """Validate strictly: every image exactly once, each with ``min(5, classes)`` distinct known class ids."""
    path = Path(path)
    length = cls_metrics.ranking_length(data.num_classes)
    ranked = np.full((data.num_images, length), -1, dtype=np.int64)
    seen = np.zeros(data.num_images, dtype=bool)
    for number, record in _records(path):
        if set(record) != {"image_id", "class_ids"}:
            raise DataFormatError(path, f"expected keys image_id+class_ids, got {sorted(record)}", number)
        image = record["image_id"]
        if not _int(image) or not 0 <= image < data.num_images:
            raise DataFormatError(
                path,
                f"image_id {image!r} is not an image of {data.task}/{data.split} (0..{data.num_images - 1})",
                number,
            )
        if seen[image]:
            raise DataFormatError(path, f"duplicate image_id {image}", number)
        ranked[image] = _check_class_ranking(path, record["class_ids"], length, data.num_classes, number)
        seen[image] = True
    if not seen.all():
        missing = int(np.flatnonzero(~seen)[0])
        raise DataFormatError(path, f"missing {int((~seen).sum())} images, e.g. image_id {missing}")
    return ranked


def score_predictions(
    spec: TaskSpec, data: RetrievalData | MatchingData | ClassificationData, path: str | Path
) -> dict[str, float]:
    """The task's metrics computed from a predictions file alone."""
    if isinstance(data, ClassificationData):
        ranked = read_classification_predictions(path, data)
        metrics = cls_metrics.classification_metrics(data.labels, ranked, data.num_classes)
    elif isinstance(data, MatchingData):
        metrics = matching_metrics(data.labels, read_matching_predictions(path, data))
    else:
        i2t, t2i = read_retrieval_predictions(path, data, spec)
        metrics = retrieval_metrics_from_rankings(data, i2t, t2i)
    return {key: value for key, value in metrics.items() if key in spec.metrics}
