"""zero-toy's classification set: one shape of one colour per image, classes shape x colour (``红色圆形``), in the
ELEVATER-CN layout (see :mod:`zero_bench.formats.elevater`), with the toy's own prompt templates.

Written by :func:`zero_bench.data.toy.generate_tasks` into ``<zero-toy>/ccmb/zero-toy-shapes/``; task
``zero-toy-shapes`` reads it.  Size, position, jitter and background vary within a class, so the class is the only
thing the image and its name share.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from zero_bench.data.toy import BG_KINDS, COLORS, SHAPES, SIZES, TONES, Obj, Scene, jpeg_bytes, render

FOLDER = "zero-toy-shapes"
# English names, for the layout's reference-only label.txt.
SHAPE_EN = dict(zip(SHAPES, ("circle", "square", "triangle", "star", "diamond", "hexagon", "cross"), strict=True))
COLOR_EN = dict(zip(COLORS, ("red", "orange", "yellow", "green", "blue", "purple", "black"), strict=True))
# The toy's own templates (``{c}`` = a class name): the query style and the caption style of the toy's texts.
TEMPLATES = ("{c}", "一个{c}", "图中有一个{c}", "画面里是一个{c}", "一张{c}的图片")


def classes() -> list[tuple[str, str]]:
    """(colour, shape) of every class, class id order: colours outer, shapes inner."""
    return [(color, shape) for color in COLORS for shape in SHAPES]


def class_name(color: str, shape: str) -> str:
    return f"{color}{shape}"


def _scene(rng: np.random.Generator, color: str, shape: str, size_range: tuple[int, int]) -> Scene:
    obj = Obj(shape, color, SIZES[int(rng.integers(2))], int(rng.integers(9)))
    return Scene(
        (obj,),
        list(TONES)[int(rng.integers(len(TONES)))],
        list(BG_KINDS)[int(rng.integers(len(BG_KINDS)))],
        int(rng.integers(size_range[0], size_range[1] + 1)),
        int(rng.integers(1 << 30)),
        ((int(rng.integers(-2, 3)), int(rng.integers(-2, 3))),),
    )


def write_classification_set(
    out: Path, rng: np.random.Generator, per_class: int, size_range: tuple[int, int], split: str = "test"
) -> Path:
    """``out/zero-toy-shapes/``: label_cn.txt, label.txt, templates.json and ``<split>/<id>/`` with ``per_class``
    images per class (ids 000-048: more than 10 classes, so three digits)."""
    folder = out / FOLDER
    listing = classes()
    for class_id, (color, shape) in enumerate(listing):
        target = folder / split / f"{class_id:03d}"
        target.mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            (target / f"toy_{class_id:03d}_{k:04d}.jpg").write_bytes(
                jpeg_bytes(render(_scene(rng, color, shape, size_range)))
            )
    (folder / "label_cn.txt").write_text("".join(class_name(c, s) + "\n" for c, s in listing), encoding="utf-8")
    (folder / "label.txt").write_text("".join(f"{COLOR_EN[c]} {SHAPE_EN[s]}\n" for c, s in listing), encoding="utf-8")
    (folder / "templates.json").write_text(json.dumps(list(TEMPLATES), ensure_ascii=False) + "\n", encoding="utf-8")
    return folder
