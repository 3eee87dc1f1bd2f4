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


# -- classification: a tiny ELEVATER-CN set and a Result for it ----------------------------------------------------

CIFAR_NAMES = ["飞机", "汽车", "鸟", "猫", "鹿", "狗", "青蛙", "马", "船", "卡车"]
IMAGES_PER_CLASS = [1, 2, 3, 1, 2, 3, 1, 2, 3, 1]  # 19 images, unequal classes: mean per-class recall != acc1


def make_elevater(folder: Path) -> Path:
    """``folder`` (the ``elevater-cn`` data folder) with ``cifar-10/label_cn.txt`` and ``cifar-10/test/0..9/``."""
    root = folder / "cifar-10"
    for c, count in enumerate(IMAGES_PER_CLASS):
        (root / "test" / str(c)).mkdir(parents=True)
        for k in range(count):
            Image.new("RGB", (8, 8), COLOURS[c]).save(root / "test" / str(c) / f"img_{k}.jpg", format="JPEG")
    (root / "label_cn.txt").write_text("".join(f"{n}\n" for n in CIFAR_NAMES), encoding="utf-8")
    (root / "label.txt").write_text("".join(f"class {c}\n" for c in range(10)), encoding="utf-8")
    return folder


def cifar_predictions(path: Path, data_dir: Path, right: int = 5, outside_top5: int = 9) -> Path:
    """Images of classes below ``right`` rank their class first, the others second; the images of classes from
    ``outside_top5`` on do not have it in their top 5 at all."""
    spec = get_task("cifar-10-cn")
    data = load_split(spec, data_dir, spec.default_split)
    with open(path, "w", encoding="utf-8") as out:
        for image_id, gold in zip(data.image_ids.tolist(), data.labels.tolist(), strict=True):
            others = [c for c in range(10) if c != gold]
            if gold >= outside_top5:
                ranked = others[:5]
            elif gold < right:
                ranked = [gold, *others[:4]]
            else:
                ranked = [others[0], gold, *others[1:4]]
            out.write(json.dumps({"image_id": image_id, "class_ids": ranked}) + "\n")
    return path


def protocol_record(protocol: str = "cn_clip") -> dict:
    return {
        "protocol": protocol,
        "class_names_source": "cifar-10-cn cifar-10/label_cn.txt",
        "class_names_sha256": "1" * 64,
        "templates_source": "cn_clip cvinw_zeroshot_templates.openai_templates",
        "templates_sha256": "2" * 64,
        "prompts_per_class": 183,
        "text_preprocessing": "cn_clip.eval.data._preprocess_text",
    }


def classification_result(data_dir: Path, predictions: Path | None, card: dict | None = None) -> dict:
    """A Result of ``cifar-10-cn`` as ``zero-bench evaluate`` writes it, metrics from the predictions."""
    raw = result_dict("cifar-10-cn", data_dir, predictions, card)
    raw["num_queries"] = {"images": sum(IMAGES_PER_CLASS), "classes": 10}
    raw["classification"] = protocol_record()
    return raw
