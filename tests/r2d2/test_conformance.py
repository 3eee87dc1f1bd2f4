"""Conformance against the official tiny fixture: every array in outputs.npz is reproduced.

Everything (texts, sizes, which outputs exist, the labelling) is read from the fixture folder, so another folder of
the same layout works unchanged.  An output key this test does not know how to reproduce is a failure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

HIDDEN_ATOL = 1e-5
SMALL_ATOL = 1e-6
FILL = -100.0


def cross_scores_official(
    model, sim: torch.Tensor, image_tokens, text_tokens, text_mask, top_k: int, i2t: bool
) -> torch.Tensor:
    """The official compute_cross_score: per query, its top_k candidates by cosine get ITM + cosine, the rest -100.

    ``sim`` is [images, texts].  Runs the cross encoders per query on that query's candidates (as the official
    code does), not a precomputed ITM matrix.
    """
    scores = sim if i2t else sim.t()
    out = torch.full_like(scores, FILL)
    for q in range(scores.shape[0]):
        top_sim, top_idx = scores[q].topk(k=top_k, dim=0)
        if i2t:
            itm = model.itm_score(image_tokens[q].expand(top_k, -1, -1), text_tokens[top_idx], text_mask[top_idx])
        else:
            itm = model.itm_score(
                image_tokens[top_idx], text_tokens[q].expand(top_k, -1, -1), text_mask[q].expand(top_k, -1)
            )
        out[q, top_idx] = itm + top_sim
    return out


class Reproducer:
    def __init__(self, fixture: Path) -> None:
        from zero_bench_r2d2.plugin import create_r2d2
        from zero_bench_r2d2.tokenizer import R2D2Tokenizer

        self.fixture = fixture
        self.inputs = np.load(fixture / "inputs.npz")
        self.meta = json.loads((fixture / "fixture_meta.json").read_text(encoding="utf-8"))
        self.plugin = create_r2d2(checkpoint=str(fixture / "checkpoint.pt"), config=str(fixture))
        assert self.plugin.load_report.ok, self.plugin.load_report.summary()
        self.model = self.plugin.model.eval()
        self.texts = [str(t) for t in self.inputs["texts"]]
        self.tokenizer_short = R2D2Tokenizer(max_length=self.inputs["input_ids"].shape[1])
        self.tokenizer_64 = R2D2Tokenizer(max_length=self.inputs["input_ids_len64"].shape[1])
        self.pi = torch.from_numpy(self.inputs["pair_image_index"]).long()
        self.pt = torch.from_numpy(self.inputs["pair_text_index"]).long()
        self.n_img = self.inputs["pixel_values"].shape[0]
        self.n_txt = len(self.texts)
        self._cache: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            self._compute()

    # the core computation for one tokenization
    def _core(self, ids: torch.Tensor, mask: torch.Tensor, suffix: str) -> None:
        m, c = self.model, self._cache
        text_tokens = m.encode_text(ids, mask)
        c["text_output" + suffix] = text_tokens
        c["text_mask" + suffix] = mask
        c["text_embed" + suffix] = m.text_embed(text_tokens)
        c["sim" + suffix] = m.similarity(c["image_embed"], c["text_embed" + suffix])
        img, txt, msk = c["image_output"][self.pi], text_tokens[self.pt], mask[self.pt]
        c["itm_score" + suffix] = self._matrix(m.itm_score(img, txt, msk))

    def _matrix(self, pair_values: torch.Tensor) -> torch.Tensor:
        out = torch.full((self.n_img, self.n_txt, *pair_values.shape[1:]), float("nan"), dtype=pair_values.dtype)
        out[self.pi, self.pt] = pair_values
        return out

    def _compute(self) -> None:
        m, c = self.model, self._cache
        pixels = torch.from_numpy(self.inputs["pixel_values"])
        c["image_output"] = m.encode_image(pixels)
        c["vision_hidden_states"] = torch.stack(m.image_hidden_states(pixels))
        c["image_embed"] = m.image_embed(c["image_output"])

        short = self.tokenizer_short(self.texts)
        long = self.tokenizer_64(self.texts)
        self.tokenization = {
            "input_ids": short["input_ids"],
            "attention_mask": short["attention_mask"],
            "input_ids_len64": long["input_ids"],
            "attention_mask_len64": long["attention_mask"],
        }
        ids, mask = short["input_ids"], short["attention_mask"]
        c["text_hidden_states"] = torch.stack(m.text_hidden_states(ids, mask))
        self._core(ids, mask, "")
        self._core(long["input_ids"], long["attention_mask"], "_len64")

        img, txt, msk = c["image_output"][self.pi], c["text_output"][self.pt], mask[self.pt]
        c["text_joint_last_hidden_state"] = m.text_image_cross(txt, msk, img)
        c["img_joint_input"] = m.img_joint_proj(img)
        c["img_joint_last_hidden_state"] = m.image_text_cross(img, txt, msk)
        lt, li = m.text_image_logits(img, txt, msk), m.image_text_logits(img, txt, msk)
        c["itm_logits_text_head"], c["itm_logits_img_head"] = self._matrix(lt), self._matrix(li)
        c["itm_probs_text_head"] = self._matrix(torch.softmax(lt, dim=-1))
        c["itm_probs_img_head"] = self._matrix(torch.softmax(li, dim=-1))
        c["matching_pred"] = self._matrix(m.itm_probs(img, txt, msk))
        c["sim_over_temp"] = c["sim"] / m.temp
        # the demo's form: per image, einsum of the repeated image embedding with every text embedding, / temp
        c["sim_einsum_demo_form"] = torch.stack(
            [
                torch.einsum("ij,ij->i", c["image_embed"][i].expand(self.n_txt, -1), c["text_embed"]) / m.temp
                for i in range(self.n_img)
            ]
        )
        target = torch.zeros(self.n_img, self.n_txt, dtype=torch.long)
        for image, texts in self.meta["img2txt"].items():
            target[int(image), texts] = 1
        c["matching_target"] = target
        c["matching_loss"] = F.cross_entropy(c["matching_pred"].reshape(-1, 2), target.reshape(-1))

    def expected(self, key: str) -> tuple[torch.Tensor, float]:
        """(our value, atol) for an outputs.npz key; raises KeyError for a key we cannot reproduce."""
        c, _m = self._cache, self.model
        if key in ("demo_itm_score_len64",):
            return c["itm_score_len64"], SMALL_ATOL
        if key in c and key not in ("text_mask", "text_mask_len64"):
            hidden = key.endswith(("_output", "_last_hidden_state", "_hidden_states")) or key == "img_joint_input"
            atol = HIDDEN_ATOL if hidden or key in ("sim_over_temp", "sim_einsum_demo_form") else SMALL_ATOL
            return c[key], atol
        match = re.fullmatch(r"cross_score_(i2t|t2i)_topk(\d+)", key)
        if match:
            return self._cross("", int(match.group(2)), match.group(1) == "i2t"), SMALL_ATOL
        match = re.fullmatch(r"official_eval_len64_topk(\d+)_(i2t|t2i)", key)
        if match:
            return self._cross("_len64", int(match.group(1)), match.group(2) == "i2t"), SMALL_ATOL
        raise KeyError(key)

    def _cross(self, suffix: str, k: int, i2t: bool) -> torch.Tensor:
        c = self._cache
        with torch.no_grad():
            return cross_scores_official(
                self.model,
                c["sim" + suffix],
                c["image_output"],
                c["text_output" + suffix],
                c["text_mask" + suffix],
                k,
                i2t,
            )


@pytest.fixture(scope="module")
def repro(r2d2_fixture_dir: Path) -> Reproducer:
    return Reproducer(r2d2_fixture_dir)


def test_tokenization_matches_fixture_inputs(repro: Reproducer) -> None:
    for key, ours in repro.tokenization.items():
        assert np.array_equal(ours.numpy(), repro.inputs[key]), key


def test_every_output_is_reproduced(repro: Reproducer, r2d2_fixture_dir: Path) -> None:
    outputs = np.load(r2d2_fixture_dir / "outputs.npz")
    assert outputs.files, "outputs.npz is empty"
    failures = []
    for key in outputs.files:
        reference = torch.from_numpy(np.asarray(outputs[key]))
        try:
            ours, atol = repro.expected(key)
        except KeyError:
            failures.append(f"{key}: no known way to reproduce this output")
            continue
        ours = ours.detach()
        if tuple(ours.shape) != tuple(reference.shape):
            failures.append(f"{key}: shape {tuple(ours.shape)} != {tuple(reference.shape)}")
            continue
        if not reference.is_floating_point():
            if not torch.equal(ours.to(reference.dtype), reference):
                failures.append(f"{key}: integer values differ")
            continue
        fill = reference == FILL
        if not torch.equal(ours == FILL, fill):
            failures.append(f"{key}: -100 fill cells (top-k selection) differ")
            continue
        diff = (ours.double() - reference.double()).abs().max().item()
        if not diff <= atol:
            failures.append(f"{key}: max abs diff {diff:.3g} > {atol:g}")
    assert not failures, "\n".join(failures)


def test_float64_reference_agrees(repro: Reproducer, r2d2_fixture_dir: Path) -> None:
    """The float32 outputs are also within tolerance of the float64 recomputation (where it exists)."""
    path = r2d2_fixture_dir / "outputs_fp64.npz"
    if not path.is_file():
        pytest.skip("no outputs_fp64.npz in this fixture")
    ref64 = np.load(path)
    for key in ref64.files:
        ours, atol = repro.expected(key)
        diff = np.abs(ours.detach().double().numpy() - ref64[key]).max()
        assert diff <= atol, f"{key}: {diff:.3g}"
