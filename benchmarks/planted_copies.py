"""What the contamination audit finds, through the normal download path: planted copies of zero-toy evaluation
images and captions (``zero_bench.contamination.plant``: every image edit of issue 24 with random parameters,
and the caption edits) mixed into zero-toy corpus rows, served by a loopback HTTP server, downloaded with
``zero-bench download`` (records -> img2dataset with the default settings: shorter side 256, aspect kept, never
upscaled, JPEG re-encoded -> Arrow corpus), audited against the five toy tasks; prints recall per edit and the
false-positive rate on the other rows.  No network: the server listens on 127.0.0.1.

Run:  python benchmarks/planted_copies.py [--planted 480] [--corpus 1500]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo, for tests.data.imageserver


def planted_records(base: Path, server, planted: int, corpus: int, seed: int) -> list:
    """Write the records file of the toy corpus rows with the planted rows mixed in; serve their images."""
    from tests.data.imageserver import write_records
    from zero_bench.contamination.audit import task_splits
    from zero_bench.contamination.plant import PLANT_SIZES, planted_rows
    from zero_bench.data.toy import ToySizes, corpus_rows, generate_zero_toy, toy_task_dir

    generate_zero_toy(root=base, seed=0, sizes=ToySizes(**PLANT_SIZES), corpus=False)
    rows, truth = planted_rows(task_splits(["ccmb"]), toy_task_dir(base), planted, seed=seed)
    mixed = list(corpus_rows(7, corpus))
    for k, row in enumerate(rows):  # spread the planted rows evenly
        mixed.insert(round(k * len(mixed) / len(rows)), row)
    records = []
    for row in mixed:
        name = f"{row['key']}.jpg"
        server.files[name] = row["image"]
        records.append(
            {
                "ImageKey": row["key"],
                "ImageUrl": f"{server.base}/file/{name}",
                "Title": row["title"],
                "Content": row["content"],
                "Keywords": row["keywords"],
                "Url": row["url"],
                "ImageQuery": row["query"],
            }
        )
    write_records(base / "src" / "records.jsonl", records)
    return truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--planted", type=int, default=480, help="planted rows (cycling through the edit pairs)")
    ap.add_argument("--corpus", type=int, default=1500, help="unplanted zero-toy corpus rows")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    from tests.data.imageserver import ImageServer
    from zero_bench.contamination.audit import audit
    from zero_bench.contamination.plant import score
    from zero_bench.contamination.thresholds import Thresholds
    from zero_bench.data.corpus import download_corpus
    from zero_bench.data.fetch import FetchOptions
    from zero_bench.data.toy import toy_task_dir

    server = ImageServer().start()
    with tempfile.TemporaryDirectory(prefix="zb-planted-") as tmp:
        base = Path(tmp)
        try:
            truth = planted_records(base, server, args.planted, args.corpus, args.seed)
            start = time.perf_counter()
            options = FetchOptions(processes=2, threads=8, retries=0, timeout=10, show_progress=False)
            built = download_corpus("zero-2.3m", source=str(base / "src"), root=base / "data", options=options)
            download_s = time.perf_counter() - start
        finally:
            server.stop()
        thresholds = replace(Thresholds(), max_matches=50)  # keep every planted copy in the report's lists
        start = time.perf_counter()
        report, _, _ = audit(
            "zero-2.3m",
            ["ccmb"],
            root=base / "data",
            data_dir=toy_task_dir(base),
            thresholds=thresholds,
            workers=args.workers,
        )
        audit_s = time.perf_counter() - start
    figures = score(report, truth) | {"downloaded_rows": built.rows, "thresholds": report["thresholds"]}
    print(f"downloaded {built.rows} of {args.planted + args.corpus} rows in {download_s:.0f} s; audit {audit_s:.0f} s")
    print("image edit          recall")
    for edit, value in figures["image_recall"].items():
        print(f"  {edit:18s} {value:.3f}")
    print("text edit           recall")
    for edit, value in figures["text_recall"].items():
        print(f"  {edit:18s} {value:.3f}")
    print(
        f"false positives: {figures['image_false_positive_rows']:.4f} of the {figures['other_rows']} other rows "
        f"matched an evaluation image, {figures['near_text_false_positive_rows']:.4f} a text nearly"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
