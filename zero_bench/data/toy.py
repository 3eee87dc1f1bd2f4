"""zero-toy: the Zero / CCMB benchmark in miniature, generated locally and deterministically.

Images (64-96 px) show one to three coloured shapes (colour, size, position on a 3x3 grid) on a solid,
gradient or noise background.  Captions are long Chinese descriptions (like ICR), queries short Chinese keywords
(like IQR); toy Flickr30k-CNA's captions have a register of their own (:mod:`zero_bench.data.toy_flickr`).  Matching negatives differ from the truth in exactly one attribute (hard negatives); labels are
balanced (every matching image appears once with its true text and once with a one-attribute edit, so neither
the image nor the label frequency gives the answer away).

Layout (``<data root>/zero-toy``)::

    corpus/   Arrow pre-training corpus with the Zero columns (see zero_bench.data.corpus)
    ccmb/     IQR_IQM_ICR_ICM_images/, ICR/ IQR/ ICM/ IQM/ {train,val}, Flickr30k-images/,
              {train,val,test}/flickr30k_cna_*.txt  -- exactly the official layout;
              zero-toy-shapes/ -- a shape x colour classification set in the ELEVATER-CN layout

Same seed and sizes -> byte-identical annotation files and images.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from zero_bench.checks import check_count, check_number
from zero_bench.errors import ZeroBenchError
from zero_bench.fileio import atomic_dir, atomic_write_text
from zero_bench.paths import data_root

SHAPES = ("圆形", "正方形", "三角形", "星形", "菱形", "六边形", "十字形")
COLORS = {
    "红色": (220, 30, 30),
    "橙色": (245, 130, 20),
    "黄色": (235, 215, 0),
    "绿色": (20, 160, 50),
    "蓝色": (30, 70, 220),
    "紫色": (140, 40, 190),
    "黑色": (15, 15, 15),
}
SIZES = ("大", "小")
POSITIONS = ("左上方", "正上方", "右上方", "左侧", "中间", "右侧", "左下方", "正下方", "右下方")
TONES = {
    "浅灰色": (208, 208, 208),
    "浅蓝色": (188, 214, 240),
    "浅粉色": (245, 208, 220),
    "米白色": (240, 236, 222),
    "灰绿色": (172, 194, 170),
}
BG_KINDS = {"solid": "纯色", "gradient": "渐变", "noise": "噪点纹理"}
NUMERALS = {1: "一", 2: "两", 3: "三"}
ATTRIBUTES = ("color", "shape", "size", "position", "background")


@dataclass(frozen=True)
class Obj:
    shape: str
    color: str
    size: str
    position: int  # 0..8, row-major 3x3 grid


@dataclass(frozen=True)
class Scene:
    objects: tuple[Obj, ...]
    tone: str
    bg: str  # solid / gradient / noise
    side: int
    noise_seed: int = 0
    jitter: tuple[tuple[int, int], ...] = field(default_factory=tuple)


# ---- scenes and texts ------------------------------------------------------------------------------------------


def random_scene(rng: np.random.Generator, size_range: tuple[int, int] = (64, 96)) -> Scene:
    n = int(rng.choice([1, 2, 3], p=[0.3, 0.4, 0.3]))
    positions = sorted(rng.choice(9, size=n, replace=False).tolist())
    objs = tuple(
        Obj(SHAPES[rng.integers(len(SHAPES))], list(COLORS)[rng.integers(len(COLORS))], SIZES[rng.integers(2)], p)
        for p in positions
    )
    side = int(rng.integers(size_range[0], size_range[1] + 1))
    jitter = tuple((int(rng.integers(-2, 3)), int(rng.integers(-2, 3))) for _ in objs)
    return Scene(
        objs,
        list(TONES)[rng.integers(len(TONES))],
        list(BG_KINDS)[rng.integers(3)],
        side,
        int(rng.integers(1 << 30)),
        jitter,
    )


def _obj_phrase(o: Obj, style: int) -> str:
    pos, color, size, shape = POSITIONS[o.position], o.color, o.size, o.shape
    if style == 0:
        return f"{pos}有一个{color}的{size}{shape}"
    if style == 1:
        return f"{pos}是一个{size}的{color}{shape}"
    if style == 2:
        return f"{color}的{size}{shape}位于{pos}"
    return f"在{pos}可以看到一个{size}{shape}，颜色是{color}"


def caption(scene: Scene, variant: int = 0) -> str:
    """A long Chinese description; ``variant`` 0..4 gives five different phrasings of the same scene."""
    bg = f"{scene.tone}的{BG_KINDS[scene.bg]}"
    objs = list(scene.objects)
    if variant == 0:
        return "画面" + "，".join(_obj_phrase(o, 0) for o in objs) + f"，背景是{bg}"
    if variant == 1:
        return f"这张图片的背景是{bg}，" + "，".join(_obj_phrase(o, 1) for o in objs)
    if variant == 2:
        return f"图中共有{NUMERALS[len(objs)]}个图形：" + "；".join(_obj_phrase(o, 2) for o in objs) + f"。背景为{bg}"
    if variant == 3:
        return f"在{bg}的背景上，" + "，".join(_obj_phrase(o, 3) for o in reversed(objs))
    return "一幅简单的图形画：" + "，".join(_obj_phrase(o, 0) for o in reversed(objs)) + f"，整体背景呈{bg}"


def query(scene: Scene) -> str:
    """A short search query: colour + shape of each object (``红色圆形 蓝色三角形``)."""
    return " ".join(f"{o.color}{o.shape}" for o in scene.objects)


def query_objects(text: str) -> Counter[tuple[str, str]]:
    """The (colour, shape) objects a :func:`query` names, counted; ValueError for a text no query reads as."""
    objects: Counter[tuple[str, str]] = Counter()
    for word in text.split():
        colour = next((c for c in COLORS if word.startswith(c)), None)
        if colour is None or word[len(colour) :] not in SHAPES:
            raise ValueError(f"not a zero-toy query (colour + shape per object): {text!r}")
        objects[(colour, word[len(colour) :])] += 1
    return objects


def keywords(scene: Scene) -> str:
    words: list[str] = []
    for o in scene.objects:
        for w in (o.color, o.shape):
            if w not in words:
                words.append(w)
    return " ".join(words + [BG_KINDS[scene.bg]])


def mutate(scene: Scene, rng: np.random.Generator, attributes: tuple[str, ...] = ATTRIBUTES) -> tuple[Scene, str]:
    """The same scene with exactly one attribute changed (a hard negative); returns (scene, attribute)."""
    attr = attributes[int(rng.integers(len(attributes)))]
    if attr == "background":
        if rng.random() < 0.5:
            tone = [t for t in TONES if t != scene.tone][rng.integers(len(TONES) - 1)]
            return Scene(scene.objects, tone, scene.bg, scene.side, scene.noise_seed, scene.jitter), "background"
        kind = [k for k in BG_KINDS if k != scene.bg][rng.integers(len(BG_KINDS) - 1)]
        return Scene(scene.objects, scene.tone, kind, scene.side, scene.noise_seed, scene.jitter), "background"
    j = int(rng.integers(len(scene.objects)))
    o = scene.objects[j]
    if attr == "color":
        new = Obj(o.shape, [c for c in COLORS if c != o.color][rng.integers(len(COLORS) - 1)], o.size, o.position)
    elif attr == "shape":
        new = Obj([s for s in SHAPES if s != o.shape][rng.integers(len(SHAPES) - 1)], o.color, o.size, o.position)
    elif attr == "size":
        new = Obj(o.shape, o.color, "小" if o.size == "大" else "大", o.position)
    else:
        free = [p for p in range(9) if p not in {x.position for x in scene.objects}]
        new = Obj(o.shape, o.color, o.size, free[rng.integers(len(free))])
    objs = list(scene.objects)
    objs[j] = new
    objs.sort(key=lambda x: x.position)
    return Scene(tuple(objs), scene.tone, scene.bg, scene.side, scene.noise_seed, scene.jitter), attr


# ---- rendering -----------------------------------------------------------------------------------------------------


def _polygon(shape: str, cx: float, cy: float, r: float) -> list[tuple[float, float]] | None:
    if shape == "三角形":
        return [(cx, cy - r), (cx + r * 0.92, cy + r * 0.7), (cx - r * 0.92, cy + r * 0.7)]
    if shape == "菱形":
        return [(cx, cy - r), (cx + r * 0.75, cy), (cx, cy + r), (cx - r * 0.75, cy)]
    if shape == "六边形":
        return [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in np.arange(6) * np.pi / 3]
    if shape == "星形":
        pts = []
        for k in range(10):
            rad = r if k % 2 == 0 else r * 0.42
            a = -np.pi / 2 + k * np.pi / 5
            pts.append((cx + rad * np.cos(a), cy + rad * np.sin(a)))
        return pts
    if shape == "十字形":
        w = r * 0.38
        return [
            (cx - w, cy - r),
            (cx + w, cy - r),
            (cx + w, cy - w),
            (cx + r, cy - w),
            (cx + r, cy + w),
            (cx + w, cy + w),
            (cx + w, cy + r),
            (cx - w, cy + r),
            (cx - w, cy + w),
            (cx - r, cy + w),
            (cx - r, cy - w),
            (cx - w, cy - w),
        ]
    return None


def render(scene: Scene) -> Image.Image:
    s = scene.side
    tone = np.array(TONES[scene.tone], dtype=np.float32)
    if scene.bg == "solid":
        arr = np.broadcast_to(tone, (s, s, 3)).copy()
    elif scene.bg == "gradient":
        t = np.linspace(0.0, 1.0, s, dtype=np.float32)
        ramp = (1.05 - 0.3 * t)[:, None, None] if scene.noise_seed % 2 else (1.05 - 0.3 * t)[None, :, None]
        arr = np.broadcast_to(tone * ramp, (s, s, 3)).copy()
    else:
        noise = np.random.default_rng(scene.noise_seed).normal(0.0, 18.0, size=(s, s, 1)).astype(np.float32)
        arr = tone + noise
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    cell = s / 3.0
    for k, o in enumerate(scene.objects):
        dx, dy = scene.jitter[k] if k < len(scene.jitter) else (0, 0)
        cx = cell * (o.position % 3 + 0.5) + dx
        cy = cell * (o.position // 3 + 0.5) + dy
        r = cell * (0.46 if o.size == "大" else 0.24)
        color = COLORS[o.color]
        poly = _polygon(o.shape, cx, cy, r)
        if o.shape == "圆形":
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=color)
        elif o.shape == "正方形":
            q = r * 0.85
            draw.rectangle([cx - q, cy - q, cx + q, cy + q], fill=color)
        elif poly is not None:
            draw.polygon(poly, fill=color)
        else:
            raise ValueError(f"no outline for shape {o.shape!r}")
    return img


def jpeg_bytes(img: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


# ---- generation --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToySizes:
    corpus: int = 20_000
    itr_train: int = 4_000  # ICR / IQR pairs (one text per image)
    itr_val: int = 500
    itm_train: int = 4_000  # ICM / IQM pairs (half positive)
    itm_val: int = 1_000
    flickr_train: int = 400  # Flickr30k-CNA images (5 captions each)
    flickr_val: int = 100
    flickr_test: int = 100
    shapes_per_class: int = 4  # zero-toy-shapes classification test images per class (49 classes)
    image_min: int = 64
    image_max: int = 96

    def __post_init__(self) -> None:
        """Every count and image side an integer >= 1 (nothing is generated from a size that is not one)."""
        for f in fields(self):
            check_count(f.name, getattr(self, f.name))
        if self.image_max < self.image_min:
            raise ZeroBenchError(f"image_max ({self.image_max}) is below image_min ({self.image_min})")

    def scaled(self, factor: float) -> ToySizes:
        """Every count multiplied by ``factor`` (a positive finite number; each count at least 1); the image sizes
        unchanged."""
        factor = check_number("scale", factor)
        counts = {
            f.name: max(1, round(getattr(self, f.name) * factor))
            for f in fields(self)
            if not f.name.startswith("image_")
        }
        return replace(self, **counts)


# Bumped whenever the same seed and sizes would give other files (3: toy Flickr30k-CNA's own register), so a toy
# kept from an earlier version is not taken for the current one (recorded in zero-toy.json and the corpus manifest).
TOY_VERSION = 3


def toy_params(seed: int, sizes: ToySizes) -> dict:
    """What identifies a generated zero-toy: generator version, seed and sizes (``zero-toy.json``)."""
    return {"version": TOY_VERSION, "seed": seed, "sizes": asdict(sizes)}


def _rng(seed: int, section: str) -> np.random.Generator:
    """An independent stream per section, so changing one size never changes the others' data."""
    digest = hashlib.sha256(f"zero-toy:{seed}:{section}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def toy_dir(root: str | Path | None = None) -> Path:
    return data_root(root) / "zero-toy"


def toy_task_dir(root: str | Path | None = None) -> Path:
    """The toy ccmb folder (``--data-dir`` for evaluating every task on toy data)."""
    return toy_dir(root) / "ccmb"


def toy_corpus_dir(root: str | Path | None = None) -> Path:
    return toy_dir(root) / "corpus"


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _itr(ccmb: Path, folder: str, prefix: str, split: str, n: int, seed: int, size_range, text_kind: str) -> None:
    rng = _rng(seed, f"{folder}-{split}")
    rows = []
    for i in range(n):
        scene = random_scene(rng, size_range)
        name = f"toy_{folder.lower()}_{split}_{i:06d}.jpg"
        (ccmb / "IQR_IQM_ICR_ICM_images" / name).write_bytes(jpeg_bytes(render(scene)))
        text = caption(scene, int(rng.integers(5))) if text_kind == "caption" else query(scene)
        rows.append({"text": text, "image_path": f"IQR_IQM_ICR_ICM_images/{name}"})
    _write_jsonl(ccmb / folder / split / f"{prefix}_{split}.json", rows)


@dataclass(frozen=True)
class MatchingPair:
    """One image of toy ICM / IQM with its positive and one-attribute negative text."""

    image_name: str
    scene: Scene
    negative: Scene
    attribute: str  # the changed attribute (see ATTRIBUTES)
    variant: int  # caption phrasing (captions only)
    negative_first: bool  # row order in the file before the final shuffle

    def text(self, scene: Scene, text_kind: str) -> str:
        return caption(scene, self.variant) if text_kind == "caption" else query(scene)

    @property
    def changed_size(self) -> str:
        """Size of the changed object (大 / 小), or "-" for a background change."""
        changed = [o for o in self.scene.objects if o not in self.negative.objects]
        return changed[0].size if changed else "-"


MATCHING_TASKS = {"icm": ("ICM", "long_itm", "caption"), "iqm": ("IQM", "short_itm", "query")}


def _matching_pairs(rng: np.random.Generator, folder: str, split: str, n_pairs: int, size_range, text_kind: str):
    attrs = ATTRIBUTES if text_kind == "caption" else ("color", "shape")  # a query names only colours and shapes
    for i in range((n_pairs + 1) // 2):
        scene = random_scene(rng, size_range)
        variant = int(rng.integers(5))
        neg, attr = mutate(scene, rng, attrs)
        yield MatchingPair(f"toy_{folder.lower()}_{split}_{i:06d}.jpg", scene, neg, attr, variant, rng.random() < 0.5)


def matching_pairs(
    task: str, split: str, n_pairs: int, seed: int = 0, sizes: ToySizes | None = None
) -> list[MatchingPair]:
    """The pairs behind toy ``task`` (icm / iqm) ``split`` as generated with ``seed`` and ``n_pairs`` rows: which
    attribute each negative changes (for diagnostics; the task files do not record it)."""
    folder, _, text_kind = MATCHING_TASKS[task]
    sizes = sizes or ToySizes()
    rng = _rng(seed, f"{folder}-{split}")
    return list(_matching_pairs(rng, folder, split, n_pairs, (sizes.image_min, sizes.image_max), text_kind))


def _itm(ccmb: Path, task: str, split: str, n_pairs: int, seed: int, size_range) -> None:
    folder, prefix, text_kind = MATCHING_TASKS[task]
    rng = _rng(seed, f"{folder}-{split}")
    rows = []
    for pair in _matching_pairs(rng, folder, split, n_pairs, size_range, text_kind):
        (ccmb / "IQR_IQM_ICR_ICM_images" / pair.image_name).write_bytes(jpeg_bytes(render(pair.scene)))
        two = [
            {
                "image_path": f"IQR_IQM_ICR_ICM_images/{pair.image_name}",
                "text": pair.text(pair.scene, text_kind),
                "label": 1,
            },
            {
                "image_path": f"IQR_IQM_ICR_ICM_images/{pair.image_name}",
                "text": pair.text(pair.negative, text_kind),
                "label": 0,
            },
        ]
        rows += two[::-1] if pair.negative_first else two
    rows = rows[:n_pairs]
    order = rng.permutation(len(rows))
    _write_jsonl(ccmb / folder / split / f"{prefix}_{split}.json", [rows[k] for k in order])


def _flickr(ccmb: Path, split: str, n_images: int, seed: int, size_range, offset: int) -> None:
    from zero_bench.data.toy_flickr import flickr_caption  # its own register (a domain gap to the corpus)

    rng = _rng(seed, f"flickr30k-cna-{split}")
    lines = []
    for i in range(n_images):
        scene = random_scene(rng, size_range)
        image_id = str(1_000_000_000 + offset + i)
        (ccmb / "Flickr30k-images" / f"{image_id}.jpg").write_bytes(jpeg_bytes(render(scene)))
        lines += [f"{image_id}#{k}\t{flickr_caption(scene, k)}" for k in range(5)]
    path = ccmb / split / f"flickr30k_cna_{split}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="\n")


def generate_tasks(out: Path, seed: int, sizes: ToySizes) -> None:
    rng_size = (sizes.image_min, sizes.image_max)
    (out / "IQR_IQM_ICR_ICM_images").mkdir(parents=True, exist_ok=True)
    (out / "Flickr30k-images").mkdir(parents=True, exist_ok=True)
    for split, n in (("train", sizes.itr_train), ("val", sizes.itr_val)):
        _itr(out, "ICR", "long_itr", split, n, seed, rng_size, "caption")
        _itr(out, "IQR", "short_itr", split, n, seed, rng_size, "query")
    for split, n in (("train", sizes.itm_train), ("val", sizes.itm_val)):
        _itm(out, "icm", split, n, seed, rng_size)
        _itm(out, "iqm", split, n, seed, rng_size)
    offset = 0
    for split, n in (("train", sizes.flickr_train), ("val", sizes.flickr_val), ("test", sizes.flickr_test)):
        _flickr(out, split, n, seed, rng_size, offset)
        offset += n
    from zero_bench.data.toy_classes import write_classification_set

    write_classification_set(out, _rng(seed, "shapes-test"), sizes.shapes_per_class, rng_size)


# ---- the pre-training corpus: independent scenes and near-duplicate families ---------------------------------------

FAMILY_KINDS = {"shape": 0.5, "color": 0.2, "size": 0.15, "count": 0.15}  # share of the families of each kind
FAMILY_SIZE = 4  # members of a shape / colour family (size: 2, count: the base scene's 2-3 prefixes)
FAMILY_SHARE = 0.5  # share of the corpus rows in families (measured in TRAINING.md); 0 gives the i.i.d. corpus


@dataclass(frozen=True)
class Family:
    """Scenes that share one source page: the same layout, background and phrasing, differing in ``kind`` only
    (``independent``: a single scene).  ``kind`` shape / color: one object (``varied``; large in shape families)
    takes distinct shapes / colours; size: that object large and small; count: the base scene's first 1, 2, (3)
    objects."""

    page: int
    kind: str
    scenes: tuple[Scene, ...]
    variant: int  # caption phrasing shared by the members
    varied: int = -1  # index of the varied object (shape / color / size)


def _family(rng: np.random.Generator, page: int, size_range: tuple[int, int]) -> Family:
    kinds = list(FAMILY_KINDS)
    kind = kinds[int(rng.choice(len(kinds), p=np.array(list(FAMILY_KINDS.values())) / sum(FAMILY_KINDS.values())))]
    base = random_scene(rng, size_range)
    if kind == "count" and len(base.objects) == 1:
        while len(base.objects) == 1:
            base = random_scene(rng, size_range)
    variant = int(rng.integers(5))
    j = int(rng.integers(len(base.objects)))
    o = base.objects[j]
    if kind == "shape":  # a small object's outline is a few pixels at the model's input size: vary a large one
        o = replace(o, size="大")
    if kind == "count":
        scenes = tuple(
            replace(base, objects=base.objects[:k], jitter=base.jitter[:k]) for k in range(1, len(base.objects) + 1)
        )
        return Family(page, kind, scenes, variant)
    if kind == "size":
        objs = [replace(o, size=s) for s in SIZES]
    else:
        pool = SHAPES if kind == "shape" else tuple(COLORS)
        values = [v for v in pool if v != getattr(o, kind)]
        picks = rng.choice(len(values), size=FAMILY_SIZE - 1, replace=False)
        if kind == "shape":
            objs = [o] + [replace(o, shape=values[int(k)]) for k in picks]
        else:
            objs = [o] + [replace(o, color=values[int(k)]) for k in picks]
    scenes = tuple(replace(base, objects=base.objects[:j] + (x,) + base.objects[j + 1 :]) for x in objs)
    return Family(page, kind, scenes, variant, j)


def corpus_families(
    seed: int, n: int, size_range: tuple[int, int] = (64, 96), family_share: float = FAMILY_SHARE
) -> Iterator[Family]:
    """The corpus's source pages in row order, ``n`` scenes in all (the last family cut short if need be): a page
    holds a family with probability q, so that ``family_share`` of the rows are family members on average.
    ``family_share`` 0 draws exactly the i.i.d. corpus of earlier versions."""
    if not 0.0 <= family_share <= 1.0:
        raise ValueError(f"family_share must be in [0, 1], got {family_share}")
    rng = _rng(seed, "corpus")
    mean_size = 3.46  # expected members per family under FAMILY_KINDS (4, 4, 2, 17/7 for count)
    q = family_share / (mean_size - (mean_size - 1) * family_share) if family_share < 1 else 1.0
    rows = page = 0
    while rows < n:
        if family_share > 0 and rng.random() < q:
            fam = _family(rng, page, size_range)
            fam = replace(fam, scenes=fam.scenes[: n - rows])
        else:
            scene = random_scene(rng, size_range)
            fam = Family(page, "independent", (scene,), int(rng.integers(5)))
        yield fam
        rows += len(fam.scenes)
        page += 1


def corpus_rows(
    seed: int, n: int, size_range: tuple[int, int] = (64, 96), family_share: float = FAMILY_SHARE
) -> Iterator[dict]:
    """Zero-toy's pre-training rows (Zero's columns).  Members of a family share their source page (``url``), as
    the variants of one product on one web page do; each member's title, content and query name its own scene."""
    i = 0
    for fam in corpus_families(seed, n, size_range, family_share):
        v = fam.variant
        for scene in fam.scenes:
            yield {
                "key": f"toy-{i:07d}",
                "image": jpeg_bytes(render(scene)),
                "title": caption(scene, v),
                "content": caption(scene, (v + 1) % 5),
                "query": query(scene),
                "keywords": keywords(scene),
                "url": f"http://zero-toy.invalid/page/{fam.page}",
                "image_url": f"http://zero-toy.invalid/img/{i}.jpg",
                "width": scene.side,
                "height": scene.side,
            }
            i += 1


def generate_zero_toy(
    root: str | Path | None = None,
    seed: int = 0,
    sizes: ToySizes | None = None,
    *,
    corpus: bool = True,
    tasks: bool = True,
    shard_rows: int = 5_000,
    family_share: float = FAMILY_SHARE,
    **size_overrides: int,
) -> Path:
    """Generate zero-toy under ``<root>/zero-toy`` (default data root); returns that folder.

    Sizes come from :class:`ToySizes`; override any with keywords (``generate_zero_toy(corpus=..., itr_val=50)``
    is not allowed: ``corpus`` is the on/off switch, use ``sizes=ToySizes(corpus=...)`` or ``corpus_size=``).
    ``family_share``: the share of corpus rows in near-duplicate families (see :func:`corpus_families`).
    """
    from zero_bench.data.corpus import CorpusWriter, write_manifest
    from zero_bench.data.lock import LockFile

    if "corpus_size" in size_overrides:
        size_overrides["corpus"] = size_overrides.pop("corpus_size")
    sizes = ToySizes(**(asdict(sizes or ToySizes()) | size_overrides))
    base = toy_dir(root)
    params = toy_params(seed, sizes)
    if tasks:
        with atomic_dir(base / "ccmb") as tmp:
            generate_tasks(tmp, seed, sizes)
            atomic_write_text(tmp / "zero-toy.json", json.dumps(params, indent=1) + "\n")
        lock = LockFile.load(base)
        annotation = {
            str(p.relative_to(base)): p for p in sorted((base / "ccmb").rglob("*")) if p.suffix in (".json", ".txt")
        }
        lock.record("zero-toy", annotation, source=f"generated seed={seed}", replace=True)
    if corpus:
        with atomic_dir(base / "corpus") as tmp:
            writer = CorpusWriter(tmp, shard_rows=shard_rows)
            for row in corpus_rows(seed, sizes.corpus, (sizes.image_min, sizes.image_max), family_share):
                writer.write(row)
            shards = writer.close()
            write_manifest(
                tmp,
                {
                    "name": "zero-toy",
                    "generator": params | {"family_share": family_share},
                    "records": {"total": sizes.corpus, "valid": sizes.corpus, "malformed": {}, "malformed_total": 0},
                    "download": {
                        "rows": sizes.corpus,
                        "success": sizes.corpus,
                        "failed": 0,
                        "success_rate": 1.0,
                        "failures": {},
                        "failure_messages": {},
                        "shards": [],
                    },
                    "corpus": {"rows": sizes.corpus, "shards": shards},
                },
            )
    return base
