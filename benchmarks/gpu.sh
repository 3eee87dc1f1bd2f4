#!/usr/bin/env bash
# R2D2 on one device, one table: ViT-L bf16 image and text encoding, re-ranking pairs/s and the pre-training step
# (samples/s, MFU), each next to the official way where there is one.  Details: benchmarks/gpu.py.
#
#   bash benchmarks/gpu.sh                # one CUDA GPU, under 10 minutes
#   bash benchmarks/gpu.sh --device cpu   # smoke mode on CPU (r2d2-tiny, tiny sizes)
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec python benchmarks/gpu.py "$@"
