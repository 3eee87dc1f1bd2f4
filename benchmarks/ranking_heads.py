"""Where the R2D2 ranking stage wins or loses: each matching head alone, their mean, and the official fusion.

For one R2D2 checkpoint and a retrieval split (toy ICR val by default), scores every (image, text) pair with the
dual-encoder cosine, the text-query head (``itm_head``: text tokens attend to the image), the image-query head
(``itm_head_i``), their mean P(match), and the official re-ranking score P(match) + cosine, and prints for each:
mean recall of 6 when that score ranks the whole gallery, and ROC-AUC of that score over the cosine's top-k
candidates of each text (the pairs the re-ranking stage actually reorders).  A head whose AUC among those candidates
is below the cosine's can only add noise to P(match) + cosine.

    python benchmarks/ranking_heads.py CHECKPOINT --config r2d2-toy --data-dir .../zero-toy/ccmb
"""

from __future__ import annotations

import argparse

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


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--config", default="r2d2-toy")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--task", default="icr")
    ap.add_argument("--split", default="val")
    ap.add_argument("--top-k", type=int, default=64, help="candidates per text for the AUC (the task's re-ranking k)")
    ap.add_argument("--threads", type=int, default=1)
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
        scores = pair_scores(plugin, data := load_split(task, args.data_dir, args.split))
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


if __name__ == "__main__":
    main()
