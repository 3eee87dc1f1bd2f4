"""``python -m zero_bench_r2d2.convert SRC DST``: official R2D2 ``.pt``/``.pth`` checkpoint -> safetensors."""

from __future__ import annotations

import argparse
import sys

from zero_bench.errors import ZeroBenchError
from zero_bench_r2d2.checkpoints import convert_checkpoint, read_state_dict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zero_bench_r2d2.convert", description=__doc__)
    parser.add_argument("src", help="official checkpoint ({'model': state_dict}) or safetensors file")
    parser.add_argument("dst", help="output .safetensors path (written atomically)")
    args = parser.parse_args(argv)
    try:
        out = convert_checkpoint(args.src, args.dst)
        print(f"wrote {out} ({len(read_state_dict(out))} tensors)")
    except ZeroBenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
