"""Where the R2D2 ranking stage wins or loses: each matching head alone, their mean, and the official fusion.

For one R2D2 checkpoint and a retrieval split (toy ICR val by default), scores every (image, text) pair with the
dual-encoder cosine, the text-query head (``itm_head``: text tokens attend to the image), the image-query head
(``itm_head_i``), their mean P(match), and the official re-ranking score P(match) + cosine, and prints for each:
mean recall of 6 when that score ranks the whole gallery, and ROC-AUC of that score over the cosine's top-k
candidates of each text (the pairs the re-ranking stage actually reorders).  A head whose AUC among those candidates
is below the cosine's can only add noise to P(match) + cosine.

With ``--misses`` (toy IQR, whose queries list each object's colour and shape), it also sorts each score's top-1
misses in both directions by how the objects of what it put first differ from the query's: the same objects (a tie
the query cannot break), a superset, the same colours with other shapes, the same shapes with other colours,
another number of objects, or otherwise.

    python benchmarks/ranking_heads.py CHECKPOINT --config r2d2-toy --data-dir .../zero-toy/ccmb
    python benchmarks/ranking_heads.py CHECKPOINT --data-dir .../zero-toy/ccmb --task iqr --misses
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np
import torch


def pair_scores(plugin, data, batch: int = 256) -> dict[str, np.ndarray]:
    """[images, texts] matrices: cosine, both heads' P(match), and the official fusions."""
    model = plugin.model.eval()
    pixels = torch.stack([plugin.preprocess_image(item.open()) for item in data.images])
    with torch.no_grad():
        image_tokens = model.encode_image(pixels)
        enc = plugin.tokenizer(list(data.texts))
        text_tokens = model.encode_text(enc["input_ids"], enc["attention_mask"])
        cosine = (model.image_embed(image_tokens) @ model.text_embed(text_tokens).t()).numpy()
        n_img, n_txt = cosine.shape
        p_text = np.zeros_like(cosine)
        p_image = np.zeros_like(cosine)
        for i in range(n_img):
            for start in range(0, n_txt, batch):
                rows = slice(start, min(n_txt, start + batch))
                img = image_tokens[i : i + 1].expand(rows.stop - rows.start, -1, -1)
                txt, mask = text_tokens[rows], enc["attention_mask"][rows]
                p_text[i, rows] = torch.softmax(model.text_image_logits(img, txt, mask), -1)[:, 1].numpy()
                p_image[i, rows] = torch.softmax(model.image_text_logits(img, txt, mask), -1)[:, 1].numpy()
    mean = (p_text + p_image) / 2
    return {
        "cosine": cosine,
        "text-query head": p_text,
        "image-query head": p_image,
        "P(match)": mean,
        "P(match) + cosine": mean + cosine,
    }


MISS_KINDS = ("same objects", "superset", "other shapes", "other colours", "other count", "otherwise")


def miss_kind(query: Counter[tuple[str, str]], image: Counter[tuple[str, str]]) -> str:
    """How the objects of an image ranked first differ from those a query names (one of :data:`MISS_KINDS`)."""
    if query == image:
        return "same objects"
    if all(image[obj] >= n for obj, n in query.items()):
        return "superset"
    if query.total() != image.total():
        return "other count"
    if Counter(c for c, _ in query.elements()) == Counter(c for c, _ in image.elements()):
        return "other shapes"
    if Counter(s for _, s in query.elements()) == Counter(s for _, s in image.elements()):
        return "other colours"
    return "otherwise"


def top1_misses(matrix: np.ndarray, texts: list[str], t2i: np.ndarray) -> dict[str, Counter[str]]:
    """Top-1 hits ("hit") and misses by :func:`miss_kind` in each direction: text to image (the image put first
    against the query) and image to text (the query put first against the image; an identical query of another
    image is a "same objects" miss).  An image's objects are those of its own query (one query an image in toy
    IQR)."""
    from zero_bench.data.toy import query_objects

    objects = [query_objects(t) for t in texts]
    of_image = {int(i): objects[t] for t, i in enumerate(t2i)}
    out: dict[str, Counter[str]] = {"text to image": Counter(), "image to text": Counter()}
    for t, gold in enumerate(t2i):
        first = int(np.argmax(matrix[:, t]))
        out["text to image"]["hit" if first == gold else miss_kind(objects[t], of_image[first])] += 1
    for i, image in of_image.items():
        first = int(np.argmax(matrix[i]))
        out["image to text"]["hit" if t2i[first] == i else miss_kind(objects[first], image)] += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--config", default="r2d2-toy")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--task", default="icr")
    ap.add_argument("--split", default="val")
    ap.add_argument("--top-k", type=int, default=64, help="candidates per text for the AUC (the task's re-ranking k)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--misses", action="store_true", help="toy IQR: top-1 misses by kind, both ways")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from sklearn.metrics import roc_auc_score

    from zero_bench.errors import ZeroBenchError
    from zero_bench.formats import load_split
    from zero_bench.metrics.retrieval import retrieval_metrics_from_scores
    from zero_bench.taskspec import get_task
    from zero_bench_r2d2.plugin import create_r2d2

    try:  # a checkpoint, task, split or data folder that is not there: one line, exit 1
        task = get_task(args.task)
        plugin = create_r2d2(checkpoint=args.checkpoint, config=args.config)
        data = load_split(task, args.data_dir, args.split)
        scores = pair_scores(plugin, data)
    except ZeroBenchError as err:
        ap.exit(1, f"ranking_heads.py: {err}\n")
    t2i = data.text_to_image()
    gold = np.zeros(scores["cosine"].shape, dtype=bool)
    gold[t2i, np.arange(len(t2i))] = True
    candidates = np.zeros_like(gold)
    top = np.argsort(-scores["cosine"], axis=0, kind="stable")[: args.top_k]
    candidates[top, np.arange(gold.shape[1])[None, :]] = True
    print(f"{args.task}/{args.split}: {gold.shape[0]} images x {gold.shape[1]} texts; {args.checkpoint}")
    print(f"| score | mean recall (whole gallery) | txt R@1 | img R@1 | AUC among each text's top {args.top_k} |")
    print("|---|---|---|---|---|")
    for name, matrix in scores.items():
        m = retrieval_metrics_from_scores(matrix, t2i)
        auc = 100 * roc_auc_score(gold[candidates], matrix[candidates])
        print(f"| {name} | {m['r_mean']:.2f} | {m['txt_r1']:.1f} | {m['img_r1']:.1f} | {auc:.1f} |")
    if args.misses:
        print_misses(ap, scores, list(data.texts), np.asarray(t2i))


def print_misses(ap: argparse.ArgumentParser, scores: dict[str, np.ndarray], texts: list[str], t2i: np.ndarray) -> None:
    try:
        counts = {name: top1_misses(matrix, texts, t2i) for name, matrix in scores.items()}
    except ValueError as err:
        ap.exit(1, f"ranking_heads.py: --misses: {err}\n")
    for direction in ("text to image", "image to text"):
        print()
        print(f"{direction}, top-1: hits, and misses by how the item put first differs (objects the query names)")
        print("| score | hit | " + " | ".join(MISS_KINDS) + " |")
        print("|---|---|" + "---|" * len(MISS_KINDS))
        for name, both in counts.items():
            c = both[direction]
            print(f"| {name} | {c['hit']} | " + " | ".join(str(c[k]) for k in MISS_KINDS) + " |")


if __name__ == "__main__":
    main()
