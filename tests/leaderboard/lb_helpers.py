"""Small ICR / ICM folders in the official layout, predictions with known scores, and Result JSONs."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
from pathlib import Path

from PIL import Image

from zero_bench.formats import load_split
from zero_bench.predictions import score_predictions
from zero_bench.taskspec import get_task

REPO = Path(__file__).resolve().parents[2]
N_IMAGES = 10
TEXTS_PER_IMAGE = 50  # 500 texts: 206 right at rank 1 gives text-to-image R@1 = 41.2
N_PAIRS = 20
COLOURS = [
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 0),
    (0, 255, 255),
    (255, 0, 255),
    (128, 0, 0),
    (0, 128, 0),
    (0, 0, 128),
    (128, 128, 128),
]


def make_ccmb(folder: Path) -> Path:
    """``folder`` with IQR_IQM_ICR_ICM_images/, ICR/val/long_itr_val.json and ICM/val/long_itm_val.json."""
    images = folder / "IQR_IQM_ICR_ICM_images"
    images.mkdir(parents=True)
    for i, colour in enumerate(COLOURS[:N_IMAGES]):
        Image.new("RGB", (16, 16), colour).save(images / f"img{i}.jpg", format="JPEG")
    (folder / "ICR" / "val").mkdir(parents=True)
    with open(folder / "ICR" / "val" / "long_itr_val.json", "w", encoding="utf-8") as out:
        for t in range(N_IMAGES * TEXTS_PER_IMAGE):
            out.write(
                json.dumps(
                    {
                        "text": f"图片 {t // TEXTS_PER_IMAGE} 的描述 {t}",
                        "image_path": f"x/img{t // TEXTS_PER_IMAGE}.jpg",
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
    (folder / "ICM" / "val").mkdir(parents=True)
    with open(folder / "ICM" / "val" / "long_itm_val.json", "w", encoding="utf-8") as out:
        for p in range(N_PAIRS):
            out.write(
                json.dumps(
                    {"text": f"配对 {p}", "image_path": f"img{p % N_IMAGES}.jpg", "label": p % 2}, ensure_ascii=False
                )
                + "\n"
            )
    return folder


def icr_predictions(path: Path, t2i_hits: int = 206) -> Path:
    """The first ``t2i_hits`` texts rank their gold image first, the others second; images rank gold texts first."""
    n_texts = N_IMAGES * TEXTS_PER_IMAGE
    with open(path, "w", encoding="utf-8") as out:
        for t in range(n_texts):
            gold = t // TEXTS_PER_IMAGE
            others = [i for i in range(N_IMAGES) if i != gold]
            ranked = [gold, *others] if t < t2i_hits else [others[0], gold, *others[1:]]
            out.write(json.dumps({"text_id": t, "image_ids": ranked}) + "\n")
        for i in range(N_IMAGES):
            ranked = list(range(i * TEXTS_PER_IMAGE, i * TEXTS_PER_IMAGE + 10))
            out.write(json.dumps({"image_id": i, "text_ids": ranked}) + "\n")
    return path


def icm_predictions(path: Path) -> Path:
    with open(path, "w", encoding="utf-8") as out:
        for p in range(N_PAIRS):  # label p % 2; a few mistakes so AUC < 100
            score = 0.9 if p % 2 else 0.1
            if p in (3, 4):
                score = 0.5
            out.write(json.dumps({"pair_id": p, "score": score}) + "\n")
    return path


CARD = {
    "name": "Tiny Test Model",
    "parameters": 1234,
    "training_data": "synthetic test pairs",
    "checkpoint": None,
    "checkpoint_sha256": None,
    "organisation": "zero-bench tests",
    "link": "https://example.org/tiny",
    "fine_tuned_on": None,
}


def result_dict(task: str, data_dir: Path, predictions: Path | None, card: dict | None = None) -> dict:
    """A Result JSON (as ``zero-bench evaluate`` writes it) whose metrics are the predictions' true scores."""
    spec = get_task(task)
    data = load_split(spec, data_dir, spec.default_split)
    metrics = score_predictions(spec, data, predictions) if predictions is not None else None
    return {
        "schema_version": 1,
        "task": {
            "name": task,
            "version": spec.version,
            "split": data.split,
            "annotation_sha256": data.annotation_sha256,
        },
        "model": copy.deepcopy(card or CARD),
        "setting": "zero-shot",
        "metrics": metrics,
        "mean_recall": spec.mean_recall.value if spec.mean_recall else None,
        "rerank_top_k": 0,
        "num_queries": {},
        "predictions_sha256": hashlib.sha256(predictions.read_bytes()).hexdigest() if predictions else None,
        "run": {
            "toolkit_version": "0.1.0",
            "torch_version": "2.13.0",
            "device": "cpu",
            "precision": "fp32",
            "world_size": 1,
            "seed": 0,
            "wall_time_s": 1.5,
            "timestamp": "2026-11-29T07:00:00Z",
        },
    }


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def copy_leaderboard(dest: Path) -> Path:
    """A temp copy of the repository's leaderboard/ folder."""
    shutil.copytree(REPO / "leaderboard", dest)
    return dest


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
