"""The R2D2 nn.Module has exactly the official state_dict layout (built on the meta device)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch


def _read_tsv(path: Path) -> list[tuple[str, list[int], str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["key", "shape", "dtype"], "header line expected first"
    rows = []
    for line in lines[1:]:
        key, shape, dtype = line.split("\t")
        rows.append((key, json.loads(shape), dtype))
    return rows


@pytest.mark.parametrize(
    ("config", "table", "counts_key"), [("r2d2-vit-b", "vit_b", "vit_b"), ("r2d2-vit-l", "vit_l", "vit_l")]
)
def test_state_dict_matches_official_table(reference_data: Path, config: str, table: str, counts_key: str) -> None:
    from zero_bench_r2d2.config import load_config
    from zero_bench_r2d2.modeling import R2D2Model

    with torch.device("meta"):
        model = R2D2Model(load_config(config))
    ours = [(k, list(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()]
    reference = _read_tsv(reference_data / f"r2d2_state_dict_keys_{table}.tsv")
    assert [r[0] for r in ours] == [r[0] for r in reference], "key list or order differs"
    assert ours == reference, [(a, b) for a, b in zip(ours, reference, strict=False) if a != b][:5]
    assert ours[0][0] == "temp" and ours[0][1] == []

    counts = json.loads((reference_data / "r2d2_param_counts.json").read_text(encoding="utf-8"))[counts_key]
    assert len(ours) == counts["n_state_dict_entries"]
    assert sum(p.numel() for p in model.parameters()) == counts["total_parameters"]
    assert sum(v.numel() for v in model.state_dict().values()) == counts["total_state_dict_elements"]
    for name, n in counts["per_top_module_parameters"].items():
        assert sum(p.numel() for p in getattr(model, name).parameters()) == n, name
    assert model.config.num_patches == counts["num_patches"]
    buffers = dict(model.named_buffers())
    for name, n in counts["buffers"].items():
        assert buffers[name].numel() == n, name
    for name in counts["non_persistent_buffers"]:
        assert name in buffers and name not in model.state_dict()


def test_prd2_is_the_dual_encoder_subset() -> None:
    from zero_bench_r2d2.config import load_config
    from zero_bench_r2d2.modeling import R2D2Model

    with torch.device("meta"):
        r2d2 = R2D2Model(load_config("r2d2-vit-b"))
        prd2 = R2D2Model(load_config("r2d2-vit-b"), cross_encoders=False)
    cross = ("text_joint_layer.", "img_joint_layer.", "img_joint_proj.", "itm_head.", "itm_head_i.")
    assert list(prd2.state_dict()) == [k for k in r2d2.state_dict() if not k.startswith(cross)]
    with pytest.raises(RuntimeError, match="no cross encoders"):
        prd2.text_image_cross(
            torch.zeros(1, 1, 768, device="meta"),
            torch.ones(1, 1, device="meta"),
            torch.zeros(1, 1, 768, device="meta"),
        )
