"""rows/s of plain iteration, samples/s through the torch adapter (2 workers), RSS growth of opening a 1M-row
corpus.  Run: python benchmarks/corpus.py [--rows 1000000]"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def build_big(folder: Path, rows: int, shard_rows: int = 100_000) -> None:
    """A 1M-row corpus written directly in Arrow (one shared 1-pixel JPEG: fast, the layout is what counts)."""
    import io
    import json

    from PIL import Image

    from zero_bench.data.corpus import COLUMNS, corpus_features, write_manifest
    from zero_bench.fileio import sha256_file

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, "JPEG")
    jpg = buf.getvalue()
    schema = corpus_features().arrow_schema
    folder.mkdir(parents=True, exist_ok=True)
    shards = []
    n_shards = -(-rows // shard_rows)
    for s in range(n_shards):
        lo, hi = s * shard_rows, min(rows, (s + 1) * shard_rows)
        k = hi - lo
        cols = {
            "key": [f"k{i}" for i in range(lo, hi)],
            "image": [{"bytes": jpg, "path": None}] * k,
            "title": [f"标题 {i} 一只红色的圆形" for i in range(lo, hi)],
            "content": ["内容"] * k,
            "query": ["红色圆形"] * k,
            "keywords": ["红色 圆形"] * k,
            "url": ["http://x.invalid/"] * k,
            "image_url": ["http://x.invalid/i.jpg"] * k,
            "width": [8] * k,
            "height": [8] * k,
            "sha256": ["0" * 64] * k,
        }
        name = f"data-{s:05d}-of-{n_shards:05d}.arrow"
        with pa.OSFile(str(folder / name), "wb") as sink, pa.ipc.new_stream(sink, schema) as w:
            w.write_table(pa.Table.from_pydict({c: cols[c] for c in COLUMNS}, schema=schema), max_chunksize=1000)
        shards.append(
            {"file": name, "rows": k, "sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
        )
    write_manifest(folder, {"name": "bench", "corpus": {"rows": rows, "shards": shards}, "download": {}, "records": {}})
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": s["file"]} for s in shards]}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--toy-rows", type=int, default=5000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zb-bench-corpus-"))
    big = tmp / "big" / "corpus"
    t = time.perf_counter()
    build_big(big, args.rows)
    print(
        f"built {args.rows} rows in {time.perf_counter() - t:.1f} s ({sum(f.stat().st_size for f in big.iterdir()) / 2**20:.0f} MiB)"
    )
    # RSS growth measured in a fresh interpreter (libraries imported first, not counted)
    import subprocess
    import sys

    import datasets  # noqa: F401  (import cost not counted in the RSS growth)
    import torch
    from torch.utils.data import DataLoader

    from zero_bench import load_corpus
    from zero_bench.data.corpus import iter_rows
    from zero_bench.data.torch_adapter import CorpusIterable
    from zero_bench.data.toy import ToySizes, generate_zero_toy

    probe = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); from corpus import rss_mb; import datasets, zero_bench.data.corpus as c; "
        f"b = rss_mb(); ds = c.load_corpus({str(big)!r}); n = len(ds); _ = ds[n - 1]['key']; a = rss_mb(); print(n, a - b)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    print(f"open {int(out[0])} rows (and read the last row): RSS +{float(out[1]):.1f} MB (target < 100 MB)")
    ds = load_corpus(str(big))
    before = rss_mb()
    t = time.perf_counter()
    count = sum(1 for _ in iter_rows(ds, columns=("key", "title", "query"), batch_size=10_000))
    dt = time.perf_counter() - t
    print(f"plain iteration (key/title/query): {count / dt:,.0f} rows/s; RSS now +{rss_mb() - before:.1f} MB")
    generate_zero_toy(tmp / "toy", seed=0, sizes=ToySizes(corpus=args.toy_rows), tasks=False)
    toy = load_corpus("zero-toy", root=tmp / "toy")
    t = time.perf_counter()
    count = sum(1 for _ in iter_rows(toy, batch_size=1000))
    print(
        f"plain iteration with image bytes (zero-toy, {len(toy)} rows): {count / (time.perf_counter() - t):,.0f} rows/s"
    )

    def transform(s):
        import numpy as np

        return torch.from_numpy(np.array(s["image"].resize((64, 64)), dtype=np.uint8)).permute(2, 0, 1), s["title"]

    loader = DataLoader(CorpusIterable(toy, transform), batch_size=64, num_workers=2)
    t = time.perf_counter()
    count = sum(len(b[1]) for b in loader)
    print(
        f"torch adapter, 2 workers, decode + resize to 64 px, batch 64: {count / (time.perf_counter() - t):,.0f} samples/s"
    )


if __name__ == "__main__":
    main()
