"""images/s of `zero-bench download` (our layer) vs a bare img2dataset call with the same settings, same loopback
server; plus the Arrow build's rows/s.  Run: python benchmarks/download.py [--images 2000]"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo, for tests.data.imageserver


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=16)
    ap.add_argument("--samples-per-shard", type=int, default=500)
    ap.add_argument(
        "--repeat", type=int, default=2, help="alternate bare / ours this many times, keep the best of each"
    )
    args = ap.parse_args()
    import pyarrow as pa
    import pyarrow.parquet as pq
    from img2dataset import download

    from tests.data.imageserver import ImageServer, record, write_records
    from zero_bench.data.corpus import build_corpus, download_corpus
    from zero_bench.data.fetch import FetchOptions

    server = ImageServer().start()
    tmp = Path(tempfile.mkdtemp(prefix="zb-bench-dl-"))
    try:
        n = args.images
        opts = FetchOptions(
            processes=args.processes,
            threads=args.threads,
            samples_per_shard=args.samples_per_shard,
            retries=0,
            timeout=10,
            show_progress=False,
        )
        # bare img2dataset, same settings, same URLs
        urls = [f"{server.base}/img/{i}.jpg" for i in range(n)]
        pq.write_table(
            pa.table({"url": urls, "row": list(range(n)), "image_key": [f"k{i}" for i in range(n)]}),
            tmp / "bare.parquet",
        )
        write_records(tmp / "src" / "r.jsonl", [record(f"k{i}", urls[i], i) for i in range(n)])
        bare = ours = float("inf")
        for rep in range(args.repeat):
            t = time.perf_counter()
            download(
                url_list=str(tmp / "bare.parquet"),
                output_folder=str(tmp / f"bare{rep}"),
                input_format="parquet",
                url_col="url",
                save_additional_columns=["row", "image_key"],
                output_format="parquet",
                enable_wandb=False,
                compute_hash=None,
                **opts.img2dataset_kwargs(),
            )
            bare = min(bare, time.perf_counter() - t)
            # our layer: records parsing + img2dataset + Arrow build
            t = time.perf_counter()
            result = download_corpus(
                "zero-2.3m", source=str(tmp / "src"), root=tmp / f"data{rep}", options=opts, echo=lambda *a: None
            )
            ours = min(ours, time.perf_counter() - t)
        t = time.perf_counter()
        rebuilt = build_corpus(tmp / "data0" / "zero-2.3m", "zero-2.3m")
        build = time.perf_counter() - t
    finally:
        server.stop()
    print(f"images: {n}, processes {args.processes} x threads {args.threads}, shard {args.samples_per_shard}")
    print(f"best of {args.repeat} alternating runs each")
    print(f"bare img2dataset      : {n / bare:8.1f} images/s ({bare:.1f} s)")
    print(f"zero-bench download   : {n / ours:8.1f} images/s ({ours:.1f} s, records + img2dataset + Arrow build)")
    print(f"ratio ours/bare       : {bare / ours:8.3f}  (target >= 0.9)")
    print(f"Arrow build           : {rebuilt.rows / build:8.0f} rows/s ({rebuilt.rows} rows, {build:.2f} s)")
    assert result.rows == n


if __name__ == "__main__":
    main()
