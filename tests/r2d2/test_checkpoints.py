"""Checkpoint key report, safetensors export/round trip, and the registry of released checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from zero_bench.errors import ZeroBenchError


@pytest.fixture(scope="module")
def official_sd(r2d2_fixture_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(r2d2_fixture_dir / "checkpoint.pt", map_location="cpu", weights_only=True)["model"]


@pytest.fixture(scope="module")
def fixture_inputs(r2d2_fixture_dir: Path):
    return np.load(r2d2_fixture_dir / "inputs.npz")


def _outputs(plugin, inputs) -> dict[str, torch.Tensor]:
    enc_i = plugin.encode_images(torch.from_numpy(inputs["pixel_values"]))
    enc_t = plugin.encode_texts([str(t) for t in inputs["texts"]])
    pi, pt = torch.from_numpy(inputs["pair_image_index"]), torch.from_numpy(inputs["pair_text_index"])
    itm = plugin.score_pairs({k: v[pi] for k, v in enc_i.states.items()}, {k: v[pt] for k, v in enc_t.states.items()})
    return {"image": enc_i.embeddings, "text": enc_t.embeddings, "itm": itm, "tokens": enc_i.states["image_tokens"]}


def _save(sd: dict[str, torch.Tensor], path: Path) -> str:
    torch.save({"model": sd}, path)
    return str(path)


def test_missing_unexpected_and_shape_errors_name_the_key(official_sd, r2d2_fixture_dir: Path, tmp_path: Path) -> None:
    from zero_bench_r2d2.plugin import create_r2d2

    cfg = str(r2d2_fixture_dir)
    missing = {k: v for k, v in official_sd.items() if k != "itm_head.bias"}
    extra = dict(official_sd, **{"extra_head.weight": torch.zeros(3)})
    wrong = dict(official_sd, **{"vision_proj.bias": torch.zeros(17)})
    cases = [
        (missing, "itm_head.bias", "missing"),
        (extra, "extra_head.weight", "unexpected"),
        (wrong, "vision_proj.bias", "shape"),
    ]
    for i, (sd, key, word) in enumerate(cases):
        path = _save(sd, tmp_path / f"case{i}.pt")
        with pytest.raises(ZeroBenchError) as err:
            create_r2d2(checkpoint=path, config=cfg)
        message = str(err.value)
        assert key in message and word in message and "\n" not in message, message
        plugin = create_r2d2(checkpoint=path, config=cfg, allow_mismatch=True)
        assert not plugin.load_report.ok
    # all three at once: the report lists each; matching keys are loaded
    combined = {k: v for k, v in wrong.items() if k != "itm_head.bias"}
    combined["extra_head.weight"] = torch.zeros(3)
    plugin = create_r2d2(checkpoint=_save(combined, tmp_path / "all.pt"), config=cfg, allow_mismatch=True)
    report = plugin.load_report
    assert report.missing == ["itm_head.bias"] and report.unexpected == ["extra_head.weight"]
    assert [k for k, _, _ in report.shape_mismatch] == ["vision_proj.bias"]
    assert torch.equal(plugin.model.state_dict()["itm_head.weight"], official_sd["itm_head.weight"])
    assert report.loaded == len(official_sd) - 2


def test_position_ids_may_be_absent(official_sd, r2d2_fixture_dir: Path, fixture_inputs, tmp_path: Path) -> None:
    """Checkpoints written with transformers >= 4.31 lack the position_ids buffers: tolerated, nothing else."""
    from zero_bench_r2d2.modeling import POSITION_ID_KEYS
    from zero_bench_r2d2.plugin import create_r2d2

    stripped = {k: v for k, v in official_sd.items() if k not in POSITION_ID_KEYS}
    assert len(stripped) == len(official_sd) - 4
    full = create_r2d2(checkpoint=str(r2d2_fixture_dir / "checkpoint.pt"), config=str(r2d2_fixture_dir))
    plugin = create_r2d2(checkpoint=_save(stripped, tmp_path / "nopos.pt"), config=str(r2d2_fixture_dir))
    assert plugin.load_report.ok and sorted(plugin.load_report.position_ids_filled) == sorted(POSITION_ID_KEYS)
    a, b = _outputs(full, fixture_inputs), _outputs(plugin, fixture_inputs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # but a corrupted position_ids buffer is not silently accepted
    bad = dict(official_sd)
    bad["text_encoder.embeddings.position_ids"] = torch.zeros_like(bad["text_encoder.embeddings.position_ids"])
    with pytest.raises(ZeroBenchError, match=r"text_encoder\.embeddings\.position_ids"):
        create_r2d2(checkpoint=_save(bad, tmp_path / "badpos.pt"), config=str(r2d2_fixture_dir))


def test_safetensors_round_trip(r2d2_fixture_dir: Path, fixture_inputs, tmp_path: Path) -> None:
    from zero_bench_r2d2.checkpoints import convert_checkpoint, read_state_dict, save_safetensors
    from zero_bench_r2d2.convert import main as convert_main
    from zero_bench_r2d2.plugin import create_r2d2

    src = r2d2_fixture_dir / "checkpoint.pt"
    original = create_r2d2(checkpoint=str(src), config=str(r2d2_fixture_dir))
    converted = convert_checkpoint(src, tmp_path / "r2d2.safetensors")
    from_st = create_r2d2(checkpoint=str(converted), config=str(r2d2_fixture_dir))
    assert from_st.load_report.ok and from_st.info.checkpoint_sha256 != original.info.checkpoint_sha256
    a, b = _outputs(original, fixture_inputs), _outputs(from_st, fixture_inputs)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # export of a (loaded) model, and the CLI entry
    exported = save_safetensors(original.model, tmp_path / "export.safetensors")
    sd = read_state_dict(exported)
    ref = original.model.state_dict()
    assert set(sd) == set(ref) and all(torch.equal(sd[k], ref[k]) for k in ref)
    assert convert_main([str(src), str(tmp_path / "cli.safetensors")]) == 0
    assert convert_main([str(tmp_path / "nope.pt"), str(tmp_path / "x.safetensors")]) == 1
    assert not (tmp_path / "x.safetensors").exists()


def test_unreadable_files_give_one_line_errors(tmp_path: Path) -> None:
    from zero_bench_r2d2.checkpoints import read_state_dict

    for name, data in (("garbage.pt", b"not a checkpoint"), ("garbage.safetensors", b"\x00\x01")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ZeroBenchError, match=name):
            read_state_dict(tmp_path / name)
    torch.save({"model": {"a": 1}}, tmp_path / "nontensor.pt")
    with pytest.raises(ZeroBenchError, match="state dict of tensors"):
        read_state_dict(tmp_path / "nontensor.pt")


def test_registry_lists_released_checkpoints_and_explains_manual_download(tmp_path: Path, monkeypatch) -> None:
    from zero_bench_r2d2.checkpoints import REGISTRY, resolve_checkpoint
    from zero_bench_r2d2.plugin import create_prd2, create_r2d2

    monkeypatch.setenv("ZERO_BENCH_HOME", str(tmp_path / "home"))
    assert sorted(REGISTRY) == sorted(
        [
            "r2d2-vit-l-250m",
            "r2d2-vit-l-23m",
            "prd2-vit-l-250m",
            "r2d2-vit-b-23m-flickr30k-cna",
            "r2d2-vit-b-23m-iqr",
            "r2d2-vit-b-23m-icr",
            "r2d2-vit-b-23m-iqm",
            "r2d2-vit-b-23m-icm",
        ]
    )
    assert all(
        e.sha256 is None and "Google Drive" in e.source and "yuxie11/R2D2" in e.source for e in REGISTRY.values()
    )
    with pytest.raises(ZeroBenchError) as err:
        create_r2d2(checkpoint="r2d2-vit-l-250m")
    message = str(err.value)
    expected_path = tmp_path / "home" / "checkpoints" / "r2d2-vit-l-250m.pth"
    assert "Google Drive" in message and str(expected_path) in message and "\n" not in message
    with pytest.raises(ZeroBenchError, match="neither an existing file nor a registered name"):
        create_r2d2(checkpoint="no-such-checkpoint")
    # a file placed where the steps say is found; a PRD2 checkpoint is refused by the r2d2 factory
    expected_path.parent.mkdir(parents=True)
    expected_path.write_bytes(b"placeholder")
    path, entry = resolve_checkpoint("r2d2-vit-l-250m")
    assert path == expected_path and entry is not None and entry.config == "r2d2-vit-l"
    prd2_file = expected_path.parent / "prd2-vit-l-250m.safetensors"
    prd2_file.write_bytes(b"placeholder")
    with pytest.raises(ZeroBenchError, match="use the 'prd2' model"):
        create_r2d2(checkpoint="prd2-vit-l-250m")
    with pytest.raises(ZeroBenchError, match="use the 'r2d2' model"):
        create_prd2(checkpoint="r2d2-vit-l-250m")
