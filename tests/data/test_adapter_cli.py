from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from torch.utils.data import DataLoader

from zero_bench.data.torch_adapter import CorpusIterable
from zero_bench.data.toy import ToySizes, generate_zero_toy

N = 103


@pytest.fixture(scope="module")
def toy_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("adapter")
    generate_zero_toy(root, seed=1, sizes=ToySizes(corpus=N), tasks=False, shard_rows=40)  # 3 shards
    return root


def _epoch(root, rank, world, epoch, workers=2):
    ds = CorpusIterable(
        "zero-toy",
        root=root,
        transform=lambda s: (s["index"], s["key"], s["image"].size),
        rank=rank,
        world_size=world,
        seed=7,
    )
    ds.set_epoch(epoch)
    loader = DataLoader(ds, batch_size=None, num_workers=workers)
    return [item for item in loader]


def test_two_ranks_two_workers_read_every_sample_once(toy_root):
    seen = []
    for rank in range(2):
        seen += _epoch(toy_root, rank, 2, epoch=0)
    counts = Counter(i for i, _, _ in seen)
    assert sorted(counts) == list(range(N)) and set(counts.values()) == {1}
    assert all(k == f"toy-{i:07d}" for i, k, _ in seen)


def test_set_epoch_reshuffles_deterministically(toy_root):
    a0 = [i for i, _, _ in _epoch(toy_root, 0, 2, epoch=0, workers=0)]
    again = [i for i, _, _ in _epoch(toy_root, 0, 2, epoch=0, workers=0)]
    a1 = [i for i, _, _ in _epoch(toy_root, 0, 2, epoch=1, workers=0)]
    assert a0 == again and a0 != a1
    both = set(a1) | {i for i, _, _ in _epoch(toy_root, 1, 2, epoch=1, workers=0)}
    assert both == set(range(N))


def test_default_sample_is_a_decoded_dict(toy_root):
    ds = CorpusIterable("zero-toy", root=toy_root, shuffle=False)
    sample = next(iter(ds))
    assert sample["index"] == 0 and sample["image"].mode == "RGB" and sample["title"] and sample["query"]
    assert len(ds) == N and not torch.distributed.is_initialized()


def _run(*args, env_root):
    import os

    env = os.environ | {"ZERO_BENCH_HOME": str(env_root)}
    return subprocess.run(
        [sys.executable, "-m", "zero_bench.cli.app", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_toy_stats_verify_and_manual_steps(tmp_path):
    r = _run("download", "zero-toy", "--scale", "0.01", "--quiet", env_root=tmp_path)
    assert r.returncode == 0, r.stderr
    r = _run("stats", "zero-toy", "--plot", str(tmp_path / "h.png"), env_root=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "rows" in r.stdout and "200" in r.stdout and (tmp_path / "h.png").stat().st_size > 1000
    r = _run("stats", "zero-toy", "--json", env_root=tmp_path)
    import json

    summary = json.loads(r.stdout)
    assert summary["rows"] == 200 and summary["text_words"]["title"]["mean"] > summary["text_words"]["query"]["mean"]
    assert (tmp_path / "cache" / "jieba").is_dir()
    r = _run("verify", "zero-toy", env_root=tmp_path)
    assert r.returncode == 0 and "0 missing, 0 changed" in r.stdout
    r = _run("download", "icr", env_root=tmp_path)
    assert r.returncode == 2 and "manual steps" in r.stdout and "zero.so.com" in r.stdout
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")
    r = _run("download", "zero-23m", env_root=tmp_path)
    assert r.returncode == 2 and "records" in r.stderr
    r = _run("datasets", env_root=tmp_path)
    assert r.returncode == 0 and "zero-250m" in r.stdout and "aic-icc" in r.stdout


def _dist_worker(rank: int, world: int, port: int, root: str, out: str) -> None:
    import json

    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        ds = CorpusIterable(
            "zero-toy", root=root, transform=lambda s: s["index"], seed=11
        )  # rank from torch.distributed
        ds.set_epoch(3)
        got = list(DataLoader(ds, batch_size=None, num_workers=2))
        with open(f"{out}.{rank}", "w") as f:
            json.dump(got, f)
    finally:
        dist.destroy_process_group()


def test_torch_distributed_ranks_are_detected(toy_root, tmp_path):
    import json
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = str(tmp_path / "idx")
    mp.start_processes(_dist_worker, args=(2, port, str(toy_root), out), nprocs=2, start_method="fork", join=True)
    parts = [json.loads(Path(f"{out}.{r}").read_text()) for r in range(2)]
    assert sorted(parts[0] + parts[1]) == list(range(N))
    assert abs(len(parts[0]) - len(parts[1])) <= 1
