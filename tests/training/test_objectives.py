"""The combined objective: each part can be switched off; training-only modules stay out of the model's keys."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zero_bench_r2d2.tokenizer import get_tokenizer
from zero_bench_r2d2.training.masking import whole_word_mask
from zero_bench_r2d2.training.objectives import ObjectiveConfig, RetrievalObjective
from zero_bench_r2d2.training.recipes import build_model

TEXTS = ["红色圆形", "蓝色的大三角形在中间", "背景是浅灰色的渐变", "左下方有一个黑色的小星形"]


def _batch():
    tok = get_tokenizer()
    encs = [whole_word_mask(t, tok, np.random.default_rng(i), rate=0.3) for i, t in enumerate(TEXTS)]
    return {
        "pixels": torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(0)),
        "input_ids": torch.stack([e["original_ids"] for e in encs]),
        "attention_mask": torch.stack([e["attention_mask"] for e in encs]),
        "mlm_input_ids": torch.stack([e["input_ids"] for e in encs]),
        "mlm_labels": torch.stack([e["labels"] for e in encs]),
        "image_ids": torch.arange(4),
        "step": 0,
    }


CASES = {
    "all": ({}, {"gcpr", "fgr", "mlm", "fgd"}),
    "gcpr only": ({"fgr_weight": 0, "mlm_weight": 0, "tgd_alpha": 0, "fgd_weight": 0}, {"gcpr"}),
    "no fgr": ({"fgr_weight": 0}, {"gcpr", "mlm", "fgd"}),
    "no mlm": ({"mlm_weight": 0}, {"gcpr", "fgr", "fgd"}),
    "no distillation": ({"tgd_alpha": 0, "fgd_weight": 0}, {"gcpr", "fgr", "mlm"}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_objective_can_be_switched_off(case):
    overrides, expected = CASES[case]
    torch.manual_seed(0)
    model = build_model("r2d2-tiny", dropout=0.0)
    obj = RetrievalObjective(model, ObjectiveConfig(queue_size=8, **overrides))
    out = obj(_batch())
    assert set(out) - {"loss"} == expected
    assert torch.isfinite(out["loss"])
    out["loss"].backward()
    has_grad = lambda mod: any(p.grad is not None and p.grad.abs().sum() > 0 for p in mod.parameters())  # noqa: E731
    assert has_grad(model.text_proj) and has_grad(model.vision_proj)
    assert has_grad(model.img_joint_layer) == ("fgr" in expected)  # only FGR uses the image-text cross encoder
    assert (obj.mlm_head is not None) == ("mlm" in expected)
    assert (obj.teacher is not None) == bool({"fgd"} & expected or obj.config.tgd_alpha > 0)
    # the weighted total is the sum of the parts with the default weights of 1
    assert torch.allclose(out["loss"], sum(out[k] for k in expected))


def test_training_modules_are_not_model_keys():
    model = build_model("r2d2-tiny")
    obj = RetrievalObjective(model, ObjectiveConfig(queue_size=8))
    extra = obj.training_state()
    assert extra and not any(k.startswith("model.") for k in extra)
    assert {k.split(".")[0] for k in extra} == {"mlm_head", "teacher", "queue"}
    assert not any(k.startswith(("mlm_head", "teacher", "queue")) for k in model.state_dict())


def test_tgd_queue_fills_and_teacher_follows_the_student():
    torch.manual_seed(0)
    model = build_model("r2d2-tiny", dropout=0.0)
    obj = RetrievalObjective(model, ObjectiveConfig(queue_size=6, momentum=0.5))
    obj.train()
    opt = torch.optim.SGD([p for p in obj.parameters() if p.requires_grad], lr=0.1)
    w_student0 = model.text_proj.weight.detach().clone()
    w_teacher0 = obj.teacher.text_proj.weight.detach().clone()
    assert torch.equal(w_student0, w_teacher0)
    out = obj(_batch())
    out["loss"].backward()
    opt.step()
    obj.after_step()
    assert int(obj.queue.filled) == 4
    expected = 0.5 * w_teacher0 + 0.5 * model.text_proj.weight.detach()
    assert torch.allclose(obj.teacher.text_proj.weight, expected, atol=1e-7)
    obj(_batch())
    assert int(obj.queue.filled) == 6
