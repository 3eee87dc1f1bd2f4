"""Test doubles shared by the test suite, the benchmarks and plugin authors' own tests: small datasets in the
official layouts with real image files, a real (tiny) colour model implementing the Model protocol, and the
official R2D2 evaluation (``compute_cross_score`` + ``itm_eval``) restated one query at a time, to compare the
evaluator against.  Nothing in the toolkit itself imports this module."""

from __future__ import annotations

import base64
import io
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch
from PIL import Image

from zero_bench.models.protocol import Encoded, ModelInfo


def skip_or_fail(reason: str) -> NoReturn:
    """Skip a test whose data or tool is missing here; under ``CI=true`` fail instead, since CI must run it."""
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"cannot run under CI: {reason}")
    pytest.skip(reason)


COLOURS = {  # name -> RGB
    "红色": (220, 30, 30),
    "绿色": (30, 200, 40),
    "蓝色": (30, 40, 220),
    "黄色": (230, 220, 30),
    "紫色": (150, 40, 200),
    "青色": (30, 210, 210),
    "橙色": (240, 140, 20),
    "灰色": (128, 128, 128),
    "黑色": (15, 15, 15),
    "白色": (245, 245, 245),
    "粉色": (250, 160, 200),
    "棕色": (120, 70, 20),
}
NAMES = list(COLOURS)


def colour_image(index: int, size: int = 24) -> Image.Image:
    rgb = np.array(COLOURS[NAMES[index % len(NAMES)]], dtype=np.int16)
    rng = np.random.default_rng(index)
    pixels = np.clip(rgb + rng.integers(-12, 13, size=(size, size, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def write_jpeg(path: Path, image: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="JPEG", quality=95)


def make_itr_folder(
    root: Path, n_images: int = 12, per_image: int = 2, task: str = "ICR", prefix: str = "long", split: str = "val"
) -> Path:
    """ICR/IQR layout: every image i shows colour i; its texts name that colour."""
    lines = []
    for i in range(n_images):
        write_jpeg(root / "IQR_IQM_ICR_ICM_images" / f"img{i:04d}.jpg", colour_image(i))
    for j in range(per_image):
        for i in range(n_images):
            lines.append(
                {"text": f"一张{NAMES[i % len(NAMES)]}的图片，第{j}种说法", "image_path": f"images/img{i:04d}.jpg"}
            )
    path = root / task / split / f"{prefix}_itr_{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def make_itm_folder(root: Path, n_pairs: int = 24, task: str = "ICM", prefix: str = "long", split: str = "val") -> Path:
    lines = []
    for p in range(n_pairs):
        i = p % len(NAMES)
        write_jpeg(root / "IQR_IQM_ICR_ICM_images" / f"img{i:04d}.jpg", colour_image(i))
        label = p % 2
        colour = NAMES[i] if label else NAMES[(i + 3) % len(NAMES)]
        lines.append({"image_path": f"img{i:04d}.jpg", "text": f"{colour}的东西", "label": label})
    path = root / task / split / f"{prefix}_itm_{split}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    return path


def make_cn_clip_folder(root: Path, split: str = "valid", n_images: int = 6, distractors: int = 2) -> Path:
    """Chinese-CLIP layout; image ids are not 0-based and some gallery images have no text."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{split}_imgs.tsv", "w", encoding="utf-8") as tsv:
        for i in range(n_images + distractors):
            buffer = io.BytesIO()
            colour_image(i).save(buffer, format="JPEG")
            tsv.write(f"{1000 + i}\t{base64.b64encode(buffer.getvalue()).decode()}\n")
    with open(root / f"{split}_texts.jsonl", "w", encoding="utf-8") as texts:
        for i in range(n_images):
            texts.write(
                json.dumps(
                    {"text_id": 500 + i, "text": f"{NAMES[i]}的商品", "image_ids": [1000 + i]}, ensure_ascii=False
                )
                + "\n"
            )
    return root


def make_elevater_folder(
    root: Path,
    name: str = "cifar-10",
    n_classes: int = 10,
    per_class: int = 3,
    *,
    index: bool = False,
    split: str = "test",
) -> Path:
    """ELEVATER-CN layout (``root/<name>/label_cn.txt``, ``test/<id>/``): class c shows colour c (mod the number of
    colours) and is named after it (later classes repeat colours with a suffix), so :class:`ColourModel` classifies
    it."""
    folder = root / name
    width = 1 if n_classes <= 10 else 3
    names = [NAMES[c % len(NAMES)] + ("" if c < len(NAMES) else f"{c}") for c in range(n_classes)]
    for c in range(n_classes):
        for k in range(per_class):
            write_jpeg(folder / split / str(c).zfill(width) / f"img_{k:03d}.jpg", colour_image(c + len(NAMES) * k))
    (folder / "label_cn.txt").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    (folder / "label.txt").write_text("".join(f"class {c}\n" for c in range(n_classes)), encoding="utf-8")
    if index:
        order = np.random.default_rng(0).permutation(n_classes * per_class).tolist()
        (folder / "index.json").write_text(json.dumps(order), encoding="utf-8")
    return folder


class ColourModel(torch.nn.Module):
    """A real (tiny) dual encoder: images by mean colour, texts by the colour word they contain.

    With ``cross=True`` it also has a cross encoder whose P(match) compares the two directly; ``noise`` mixes in
    a fixed random projection so that the dual encoder is imperfect and re-ranking has something to fix.
    """

    rerank_with_similarity = True
    prototypes: torch.Tensor
    mix_image: torch.Tensor
    mix_text: torch.Tensor

    def __init__(
        self,
        cross: bool = False,
        noise: float = 0.0,
        checkpoint_sha256: str | None = "ab" * 32,
        info: ModelInfo | None = None,
    ) -> None:
        super().__init__()
        protos = torch.tensor([COLOURS[n] for n in NAMES], dtype=torch.float32) / 255.0
        self.register_buffer("prototypes", protos)
        gen = torch.Generator().manual_seed(7)
        # Different distortions of the two towers make the dual encoder imperfect.
        self.register_buffer("mix_image", torch.randn(len(NAMES), len(NAMES), generator=gen) * noise)
        self.register_buffer("mix_text", torch.randn(len(NAMES), len(NAMES), generator=gen) * noise)
        self.scale = torch.nn.Parameter(torch.tensor(20.0))
        self.calls = {"images": 0, "texts": 0, "pairs": 0}
        self.info = info or ModelInfo(
            name="colour-test-model",
            parameters=1,
            training_data="none (test model)",
            checkpoint_sha256=checkpoint_sha256,
        )
        if not cross:
            self.score_pairs = None  # type: ignore[assignment]

    @staticmethod
    def preprocess_image(image: Image.Image) -> torch.Tensor:
        return torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0).mean(dim=(0, 1))

    def _colour_logits(self, rgb: torch.Tensor) -> torch.Tensor:
        # the direct distance: cdist's default switches to a matrix product above 25 rows, so a pair's score would
        # depend on how many pairs share its batch (and 2 ranks would not equal 1 process bit for bit)
        return -torch.cdist(rgb, self.prototypes, compute_mode="donot_use_mm_for_euclid_dist") * self.scale

    def encode_images(self, pixels: torch.Tensor) -> Encoded:
        self.calls["images"] += pixels.shape[0]
        probs = torch.softmax(self._colour_logits(pixels.float()), dim=-1)
        emb = torch.nn.functional.normalize(probs + probs @ self.mix_image, dim=-1)
        return Encoded(emb, {"rgb": pixels.float()})

    def encode_texts(self, texts: list[str]) -> Encoded:
        self.calls["texts"] += len(texts)
        ids = torch.tensor(
            [next((k for k, n in enumerate(NAMES) if n in t), 0) for t in texts], device=self.prototypes.device
        )
        onehot = torch.nn.functional.one_hot(ids, len(NAMES)).float()
        return Encoded(torch.nn.functional.normalize(onehot + onehot @ self.mix_text, dim=-1), {"colour": ids})

    def score_pairs(self, image_states: dict[str, torch.Tensor], text_states: dict[str, torch.Tensor]) -> torch.Tensor:
        self.calls["pairs"] += image_states["rgb"].shape[0]
        logits = self._colour_logits(image_states["rgb"])
        return torch.softmax(logits, dim=-1).gather(1, text_states["colour"][:, None]).squeeze(1)


# -- the official re-ranking and recalls, restated --------------------------------------------------------------


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
def official_cross_scores(
    model: Any,
    sim: torch.Tensor,
    image_tokens: torch.Tensor,
    text_tokens: torch.Tensor,
    text_mask: torch.Tensor,
    top_k: int,
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


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """One intra-op torch thread inside the block, the previous count restored after it: on a small shared CPU,
    OpenMP threads spin-waiting on each other make the tests' tiny batches many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
