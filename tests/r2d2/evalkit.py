"""Helpers for the R2D2 evaluation tests and the re-ranking benchmark: a tiny random checkpoint in the official
format, and the official re-ranking (``compute_cross_score`` + ``itm_eval``) restated one query at a time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch


def save_random_checkpoint(path: Path, config: str = "r2d2-tiny", seed: int = 1234, scale: float = 0.1) -> Path:
    """A random R2D2 saved as the official ``{"model": state_dict}`` .pt file.

    As in the official tiny fixture, every parameter (but ``temp``) gets ``scale * randn`` added so that the
    cross-encoder scores are far from constant and rankings have no near-ties.
    """
    from zero_bench_r2d2.plugin import create_r2d2

    torch.manual_seed(seed)
    model = create_r2d2(config=config).model
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name != "temp":
                param.add_(scale * torch.randn(param.shape, generator=gen))
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict()}, path)
    return path


def read_itr(annotation: Path, image_dir: Path) -> tuple[list[Path], list[str], dict[int, list[int]]]:
    """The official ICR/IQR file read directly: images in first-appearance order, texts in line order."""
    images: list[Path] = []
    index: dict[str, int] = {}
    texts: list[str] = []
    img2txt: dict[int, list[int]] = {}
    for t, line in enumerate(annotation.read_text(encoding="utf-8").splitlines()):
        record = json.loads(line)
        name = Path(record["image_path"]).name
        if name not in index:
            index[name] = len(images)
            images.append(image_dir / name)
        texts.append(record["text"])
        img2txt.setdefault(index[name], []).append(t)
    return images, texts, img2txt


@torch.no_grad()
def encode_all(plugin, image_paths: list[Path], texts: list[str], batch: int = 32):
    """Image tokens, text tokens + mask and the raw cosine matrix, through the module methods."""
    from PIL import Image

    model = plugin.model
    pixels = torch.stack([plugin.preprocess_image(Image.open(p).convert("RGB")) for p in image_paths])
    image_tokens = torch.cat([model.encode_image(pixels[s : s + batch]) for s in range(0, len(pixels), batch)])
    tok = plugin.tokenizer(list(texts))
    text_tokens = torch.cat(
        [
            model.encode_text(tok["input_ids"][s : s + batch], tok["attention_mask"][s : s + batch])
            for s in range(0, len(texts), batch)
        ]
    )
    sim = model.similarity(model.image_embed(image_tokens), model.text_embed(text_tokens))
    return image_tokens, text_tokens, tok["attention_mask"], sim


@torch.no_grad()
def official_cross_scores(
    model, sim: torch.Tensor, image_tokens: torch.Tensor, text_tokens: torch.Tensor, text_mask: torch.Tensor, top_k: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """The official ``compute_cross_score`` both ways: per query, its top-k by cosine get ITM + cosine, every other
    cell -100; each query scored on its own (image repeated k times, or text repeated k times), directions apart.
    Returns (i2t [images, texts], t2i [texts, images], pairs scored)."""
    n_img, n_txt = sim.shape
    i2t = torch.full((n_img, n_txt), -100.0)
    t2i = torch.full((n_txt, n_img), -100.0)
    pairs = 0
    k_i = min(top_k, n_txt)
    for i in range(n_img):
        top = sim[i].topk(k_i)
        itm = model.itm_score(image_tokens[i].expand(k_i, -1, -1), text_tokens[top.indices], text_mask[top.indices])
        i2t[i, top.indices.cpu()] = (itm + top.values.to(itm.device)).cpu()
        pairs += k_i
    k_t = min(top_k, n_img)
    for t in range(n_txt):
        top = sim[:, t].topk(k_t)
        itm = model.itm_score(
            image_tokens[top.indices], text_tokens[t].expand(k_t, -1, -1), text_mask[t].expand(k_t, -1)
        )
        t2i[t, top.indices.cpu()] = (itm + top.values.to(itm.device)).cpu()
        pairs += k_t
    return i2t.numpy(), t2i.numpy(), pairs


def official_rankings(i2t: np.ndarray, t2i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descending order of the official score matrices.

    The official ``itm_eval`` uses ``np.argsort(score)[::-1]``, whose order among the equal -100 cells is not
    specified by numpy; like the evaluator we put those in ascending index order (a stable sort of -score).  The
    candidates themselves have distinct scores, so their order is the official one exactly.
    """
    return np.argsort(-i2t, axis=1, kind="stable"), np.argsort(-t2i, axis=1, kind="stable")


def official_recalls(
    rank_i2t: np.ndarray, rank_t2i: np.ndarray, img2txt: dict[int, list[int]], txt2img: dict[int, int]
) -> dict[str, float]:
    """The official ``itm_eval``: best rank of any gold item per query, R@1/5/10 in percent, means."""
    ranks_i = np.array([min(int(np.where(rank_i2t[i] == t)[0][0]) for t in img2txt[i]) for i in sorted(img2txt)])
    ranks_t = np.array([int(np.where(rank_t2i[t] == txt2img[t])[0][0]) for t in sorted(txt2img)])
    out = {}
    for k in (1, 5, 10):
        out[f"txt_r{k}"] = 100.0 * float(np.mean(ranks_i < k))
        out[f"img_r{k}"] = 100.0 * float(np.mean(ranks_t < k))
    out["txt_r_mean"] = (out["txt_r1"] + out["txt_r5"] + out["txt_r10"]) / 3
    out["img_r_mean"] = (out["img_r1"] + out["img_r5"] + out["img_r10"]) / 3
    out["r_mean"] = (out["txt_r_mean"] + out["img_r_mean"]) / 2
    return out
