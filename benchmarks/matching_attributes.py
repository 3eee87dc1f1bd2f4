"""Which one-attribute negatives of toy ICM / IQM an R2D2 checkpoint tells apart, and whether its image encoder
knows object shape and colour at all.

For one checkpoint and the val split of a zero-toy made with ``--toy-seed`` (the quickstart's: 0), the toy generator
replays which attribute each negative changes (colour, shape, size, position, background) and for every image the
script prints how often each score ranks the positive text above its own negative (pairwise accuracy, chance 50),
by changed attribute and by the changed object's size, and the ROC-AUC over all rows (the task metric for
``P(match)``).  Scores: the dual-encoder cosine, the text-query head (``itm_head``), the image-query head
(``itm_head_i``) and their mean P(match), the official matching score.

``--probe`` adds a linear probe: logistic regression from the frozen image encoder's tokens (the [CLS] token; all
tokens) to the shape and to the colour of a single large object on 1,500 rendered scenes (1,000 to fit, 500 to
score; chance 14.3 for 7 classes each), for the checkpoint and for the initialisation pre-training starts from
(seed 0), so that what pre-training added is read against what random features already give.

    python benchmarks/matching_attributes.py CHECKPOINT --config r2d2-toy --data-dir .../zero-toy/ccmb --task iqm \
        --pairs 200 --probe
"""

from __future__ import annotations

import argparse
import collections
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

SCORES = ("cosine", "text-query head", "image-query head", "P(match)")


def load_pairs(data_dir: Path, task: str, n_pairs: int, seed: int) -> tuple[list[dict], dict[str, Any]]:
    """The val rows and, per image name, the generator's pair (checked against the file's texts)."""
    from zero_bench.data.toy import MATCHING_TASKS, matching_pairs

    folder, prefix, kind = MATCHING_TASKS[task]
    path = data_dir / folder / "val" / f"{prefix}_val.json"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if len(rows) != n_pairs:
        raise SystemExit(f"{path}: {len(rows)} rows, but --pairs {n_pairs} was given (the toy's itm_val)")
    pairs = {p.image_name: p for p in matching_pairs(task, "val", n_pairs, seed)}
    for line, row in enumerate(rows, 1):
        pair = pairs.get(Path(row["image_path"]).name)
        want = None if pair is None else pair.text(pair.scene if row["label"] else pair.negative, kind)
        if want != row["text"]:
            raise SystemExit(f"{path}:{line}: not the toy generated with --toy-seed {seed} and --pairs {n_pairs}")
    return rows, pairs


def row_scores(plugin, data_dir: Path, rows: list[dict]) -> dict[str, np.ndarray]:
    from PIL import Image

    model = plugin.model.eval()
    names = sorted({row["image_path"] for row in rows})
    index = {name: k for k, name in enumerate(names)}
    pixels = torch.stack([plugin.preprocess_image(Image.open(data_dir / n).convert("RGB")) for n in names])
    with torch.no_grad():
        image_tokens = model.encode_image(pixels)[[index[row["image_path"]] for row in rows]]
        enc = plugin.tokenizer([row["text"] for row in rows])
        text_tokens = model.encode_text(enc["input_ids"], enc["attention_mask"])
        cosine = (model.image_embed(image_tokens) * model.text_embed(text_tokens)).sum(-1)
        mask = enc["attention_mask"]
        p_text = torch.softmax(model.text_image_logits(image_tokens, text_tokens, mask), -1)[:, 1]
        p_image = torch.softmax(model.image_text_logits(image_tokens, text_tokens, mask), -1)[:, 1]
    values = (cosine, p_text, p_image, (p_text + p_image) / 2)
    return {name: v.numpy() for name, v in zip(SCORES, values, strict=True)}


def attribute_table(rows: list[dict], pairs: dict[str, Any], scores: dict[str, np.ndarray]) -> list[str]:
    from sklearn.metrics import roc_auc_score

    by_image: dict[str, dict[int, int]] = collections.defaultdict(dict)
    for k, row in enumerate(rows):
        by_image[Path(row["image_path"]).name][int(row["label"])] = k
    groups: dict[str, list[tuple[int, int]]] = collections.defaultdict(list)
    for name, ks in by_image.items():
        if len(ks) == 2:  # the file keeps itm_val rows: the last image may have lost its second row
            pair = pairs[name]
            for group in ("all", pair.attribute, f"{pair.attribute}, changed object {pair.changed_size}"):
                groups[group].append((ks[1], ks[0]))
    labels = np.array([int(row["label"]) for row in rows])
    lines = [
        "| negatives | pairs | " + " | ".join(SCORES) + " |",
        "|---|---|" + "---|" * len(SCORES),
        "| AUC over all rows | "
        + str(len(rows))
        + " | "
        + " | ".join(f"{100 * roc_auc_score(labels, scores[s]):.1f}" for s in SCORES)
        + " |",
    ]
    for group in sorted(groups, key=lambda g: (g != "all", g)):
        pos, neg = (np.array(x) for x in zip(*groups[group], strict=True))
        accuracy = [100 * float(np.mean(scores[s][pos] > scores[s][neg])) for s in SCORES]
        lines.append(f"| {group} | {len(pos)} | " + " | ".join(f"{a:.1f}" for a in accuracy) + " |")
    return lines


def probe_scenes(n: int = 1500, seed: int = 123) -> list[Any]:
    """``n`` rendered-scene descriptions with one large object each (the probe's inputs)."""
    from zero_bench.data import toy

    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(n):
        s = toy.random_scene(rng)
        o = s.objects[0]
        big = toy.Obj(o.shape, o.color, "大", o.position)
        scenes.append(toy.Scene((big,), s.tone, s.bg, s.side, s.noise_seed, s.jitter[:1]))
    return scenes


def probe_accuracy(model, plugin, scenes: list[Any], fit: int) -> dict[tuple[str, str], float]:
    """Linear-probe accuracy (percent of the scenes after the first ``fit``) of the object's shape and colour from
    ``model``'s image tokens: {(target, "cls" | "all"): accuracy}."""
    from sklearn.linear_model import LogisticRegression

    from zero_bench.data import toy

    pixels = torch.stack([plugin.preprocess_image(toy.render(s)) for s in scenes])
    with torch.no_grad():
        tokens = model.eval().encode_image(pixels)
    features = {"cls": tokens[:, 0].numpy(), "all": tokens.flatten(1).numpy()}
    out = {}
    for target in ("shape", "color"):
        y = np.array([getattr(s.objects[0], target) for s in scenes])
        for k, f in features.items():
            out[target, k] = 100 * LogisticRegression(max_iter=2000).fit(f[:fit], y[:fit]).score(f[fit:], y[fit:])
    return out


def probe(plugin, config: str, n: int = 1500, fit: int = 1000, seed: int = 123) -> list[str]:
    """Linear-probe accuracy (percent) for shape and colour of one large object: the checkpoint's image encoder and a
    random one."""
    from zero_bench_r2d2.training.recipes import build_model

    scenes = probe_scenes(n, seed)
    lines = ["| image encoder | target | [CLS] token | all tokens |", "|---|---|---|---|"]
    torch.manual_seed(0)  # the initialisation pre-training with seed 0 starts from
    for label, model in (("this checkpoint", plugin.model), ("pre-training's init", build_model(config, None))):
        acc = probe_accuracy(model, plugin, scenes, fit)
        for target in ("shape", "color"):
            lines.append(f"| {label} | {target} | {acc[target, 'cls']:.1f} | {acc[target, 'all']:.1f} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--config", default="r2d2-toy")
    ap.add_argument("--data-dir", type=Path, required=True, help="the zero-toy ccmb folder")
    ap.add_argument("--task", choices=("icm", "iqm"), default="iqm")
    ap.add_argument("--pairs", type=int, default=200, help="rows of the val file (the toy's itm_val)")
    ap.add_argument("--toy-seed", type=int, default=0)
    ap.add_argument("--probe", action="store_true", help="also the shape / colour linear probe")
    ap.add_argument("--probe-scenes", type=int, default=1500, help="rendered scenes; two thirds fit the probe")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from zero_bench_r2d2.plugin import create_r2d2

    rows, pairs = load_pairs(args.data_dir, args.task, args.pairs, args.toy_seed)
    plugin = create_r2d2(checkpoint=args.checkpoint, config=args.config)
    print(f"{args.task}/val: {len(rows)} rows; {args.checkpoint}")
    print("pairwise accuracy (positive above its own negative), percent; first row: ROC-AUC")
    print("\n".join(attribute_table(rows, pairs, row_scores(plugin, args.data_dir, rows))))
    if args.probe:
        n, fit = args.probe_scenes, 2 * args.probe_scenes // 3
        print(f"\nlinear probe, one large object, 7 classes (chance 14.3), percent of {n - fit} held-out scenes")
        print("\n".join(probe(plugin, args.config, n=n, fit=fit)))


if __name__ == "__main__":
    main()
