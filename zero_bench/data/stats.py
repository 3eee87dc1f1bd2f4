"""``zero-bench stats NAME``: rows, success rate and failure reasons, text lengths (characters and jieba words),
most frequent words, image sizes; optional histograms (matplotlib, Agg)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zero_bench.paths import cache_dir

STOPWORDS = {
    "的",
    "有",
    "是",
    "一个",
    "，",
    "。",
    "、",
    "；",
    "：",
    " ",
    "在",
    "了",
    "和",
    "与",
    "（",
    "）",
    "(",
    ")",
    ",",
    ".",
    "-",
}


def _jieba():
    import jieba

    folder = cache_dir() / "jieba"
    folder.mkdir(parents=True, exist_ok=True)
    jieba.dt.tmp_dir = str(folder)
    jieba.setLogLevel(60)
    return jieba


def describe(values: list[int] | np.ndarray) -> dict:
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        return {"n": 0}
    q = np.percentile(arr, [5, 50, 95])
    return {
        "n": int(arr.size),
        "mean": round(float(arr.mean()), 2),
        "min": int(arr.min()),
        "p5": round(float(q[0]), 1),
        "median": round(float(q[1]), 1),
        "p95": round(float(q[2]), 1),
        "max": int(arr.max()),
    }


@dataclass
class Stats:
    name: str
    rows: int
    sampled: int
    success_rate: float | None = None
    failures: dict[str, int] = field(default_factory=dict)
    malformed: dict[str, int] = field(default_factory=dict)
    text_chars: dict[str, list[int]] = field(default_factory=dict)
    text_words: dict[str, list[int]] = field(default_factory=dict)
    top_words: list[tuple[str, int]] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    heights: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "name": self.name,
            "rows": self.rows,
            "sampled_for_text": self.sampled,
            "success_rate": self.success_rate,
            "failures": self.failures,
            "malformed_records": self.malformed,
            "text_chars": {k: describe(v) for k, v in self.text_chars.items()},
            "text_words": {k: describe(v) for k, v in self.text_words.items()},
            "top_words": self.top_words,
            "image_width": describe(self.widths),
            "image_height": describe(self.heights),
        }


def _text_stats(stats: Stats, texts: dict[str, list[str]], top: int) -> None:
    jieba = _jieba()
    words: Counter = Counter()
    for col, values in texts.items():
        stats.text_chars[col] = [len(t) for t in values]
        lens = []
        for t in values:
            toks = [w for w in jieba.lcut(t) if w.strip()]
            lens.append(len(toks))
            words.update(w for w in toks if w not in STOPWORDS)
        stats.text_words[col] = lens
    stats.top_words = words.most_common(top)


def corpus_stats(name: str, root=None, *, sample: int = 10_000, top: int = 20, seed: int = 0) -> Stats:
    from zero_bench.data.corpus import corpus_dir, load_corpus, read_manifest

    folder = corpus_dir(name, root)
    manifest = read_manifest(folder)
    ds = load_corpus(name, root)
    table = ds.with_format("arrow")
    n = len(ds)
    stats = Stats(name=str(name), rows=n, sampled=min(n, sample))
    dl = manifest.get("download", {})
    stats.success_rate = dl.get("success_rate")
    stats.failures = dl.get("failures", {})
    stats.malformed = manifest.get("records", {}).get("malformed", {})
    if n:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=stats.sampled, replace=False)).tolist()
        picked = table[idx]
        sizes = ds.select_columns(["width", "height"]).with_format("arrow")[:] if n <= 5_000_000 else picked
        stats.widths = sizes["width"].to_pylist()  # every row up to 5M rows, the sample beyond
        stats.heights = sizes["height"].to_pylist()
        _text_stats(
            stats, {c: [t or "" for t in picked[c].to_pylist()] for c in ("title", "content", "query", "keywords")}, top
        )
    return stats


def task_stats(name: str, root=None, *, sample: int = 10_000, top: int = 20) -> Stats:
    """Text statistics of a task dataset's annotation files (all splits)."""
    from zero_bench.data.registry import get_entry
    from zero_bench.formats import iter_annotations
    from zero_bench.paths import data_root
    from zero_bench.taskspec import get_task

    spec = get_task(name)
    base = data_root(root) / get_entry(name).folder
    texts: dict[str, list[str]] = {}
    total = 0
    for split, s in spec.splits.items():
        path = base / s.annotation
        if not path.exists():  # a file, or a folder of parquet shards (hf-parquet-retrieval)
            continue
        values = [record.text for record in iter_annotations(spec, path)]
        total += len(values)
        texts[split] = values[:sample]
    stats = Stats(name=name, rows=total, sampled=sum(len(v) for v in texts.values()))
    _text_stats(stats, texts, top)
    return stats


def plot(stats: Stats, path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for col, vals in stats.text_chars.items():
        if vals:
            axes[0].hist(vals, bins=40, alpha=0.5, label=col)
    axes[0].set_title("text length (characters)")
    axes[0].legend()
    for col, vals in stats.text_words.items():
        if vals:
            axes[1].hist(vals, bins=40, alpha=0.5, label=col)
    axes[1].set_title("text length (jieba words)")
    axes[1].legend()
    if stats.widths:
        axes[2].hist2d(stats.widths, stats.heights, bins=30)
    axes[2].set_title("image size (width x height)")
    axes[2].set_xlabel("width")
    axes[2].set_ylabel("height")
    fig.suptitle(f"{stats.name}: {stats.rows} rows")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
