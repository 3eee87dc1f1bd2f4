"""The r2d2 / prd2 plugins satisfy the zero_bench Model protocol and score pairs like the nn.Module path."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from zero_bench.errors import ZeroBenchError
from zero_bench.models.protocol import Model, has_pair_scorer

TEXTS = ["一只猫趴在沙发上", "两只小狗在草地上奔跑", "A man骑着自行车, 2022年！"]


@pytest.fixture(scope="module")
def plugin(r2d2_fixture_dir: Path):
    from zero_bench_r2d2.plugin import create_r2d2

    return create_r2d2(checkpoint=str(r2d2_fixture_dir / "checkpoint.pt"), config=str(r2d2_fixture_dir))


def _images(n: int, seed: int = 0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, size=(40 + 7 * i, 50, 3), dtype=np.uint8)) for i in range(n)]


def test_protocol_and_info(plugin, r2d2_fixture_dir: Path) -> None:
    assert isinstance(plugin, Model) and has_pair_scorer(plugin)
    assert plugin.rerank_with_similarity is True
    assert plugin.info.parameters == sum(p.numel() for p in plugin.model.parameters())
    assert plugin.info.checkpoint == str(r2d2_fixture_dir / "checkpoint.pt")
    from zero_bench.fileio import sha256_file

    assert plugin.info.checkpoint_sha256 == sha256_file(r2d2_fixture_dir / "checkpoint.pt")
    transform = pickle.loads(pickle.dumps(plugin.preprocess_image))
    assert transform(_images(1)[0]).shape == (3, 32, 32)


def test_score_pairs_equals_direct_itm(plugin) -> None:
    pixels = torch.stack([plugin.preprocess_image(img) for img in _images(3)])
    enc_i, enc_t = plugin.encode_images(pixels), plugin.encode_texts(TEXTS)
    assert enc_i.embeddings.shape == (3, 16) and enc_t.embeddings.shape == (3, 16)
    assert torch.allclose(enc_i.embeddings.norm(dim=-1), torch.ones(3), atol=1e-6)
    assert set(enc_i.states) == {"image_tokens"} and enc_i.states["image_tokens"].shape == (3, 5, 64)
    assert set(enc_t.states) == {"text_tokens", "text_mask"} and enc_t.states["text_mask"].shape == (3, 64)
    pi = torch.tensor([0, 0, 1, 2, 2, 1, 0])
    pt = torch.tensor([0, 2, 1, 1, 0, 2, 1])
    scores = plugin.score_pairs(
        {k: v[pi] for k, v in enc_i.states.items()}, {k: v[pt] for k, v in enc_t.states.items()}
    )
    # the same pixels and texts through the nn.Module directly
    model, tok = plugin.model, plugin.tokenizer(TEXTS)
    with torch.no_grad():
        img = model.encode_image(pixels)
        txt = model.encode_text(tok["input_ids"], tok["attention_mask"])
        direct = model.itm_score(img[pi], txt[pt], tok["attention_mask"][pt])
        lt = model.text_image_logits(img[pi], txt[pt], tok["attention_mask"][pt]).softmax(-1)[:, 1]
        li = model.image_text_logits(img[pi], txt[pt], tok["attention_mask"][pt]).softmax(-1)[:, 1]
    assert scores.shape == (7,)
    assert torch.allclose(scores, direct, atol=1e-6, rtol=0)
    assert torch.allclose(scores, (lt + li) / 2, atol=1e-6, rtol=0)
    empty = plugin.encode_texts([])
    assert empty.embeddings.shape == (0, 16) and empty.states["text_tokens"].shape == (0, 64, 32)
    assert plugin.score_pairs({"image_tokens": enc_i.states["image_tokens"][:0]}, empty.states).shape == (0,)
    # pair batching does not change the result
    plugin.pair_batch_size = 2
    try:
        again = plugin.score_pairs(
            {k: v[pi] for k, v in enc_i.states.items()}, {k: v[pt] for k, v in enc_t.states.items()}
        )
    finally:
        plugin.pair_batch_size = 256
    assert torch.allclose(scores, again, atol=1e-6, rtol=0)


def test_score_pairs_reproduces_fixture_itm(plugin, r2d2_fixture_dir: Path) -> None:
    """Fixture pixels + fixture texts through the plugin (64-token tokenization) give the official ITM and sim."""
    inputs, outputs = np.load(r2d2_fixture_dir / "inputs.npz"), np.load(r2d2_fixture_dir / "outputs.npz")
    enc_i = plugin.encode_images(torch.from_numpy(inputs["pixel_values"]))
    enc_t = plugin.encode_texts([str(t) for t in inputs["texts"]])
    pi, pt = torch.from_numpy(inputs["pair_image_index"]), torch.from_numpy(inputs["pair_text_index"])
    itm = plugin.score_pairs({k: v[pi] for k, v in enc_i.states.items()}, {k: v[pt] for k, v in enc_t.states.items()})
    expected = torch.from_numpy(outputs["itm_score_len64"])[pi, pt]
    assert (itm - expected).abs().max().item() <= 1e-6
    sim = enc_i.embeddings @ enc_t.embeddings.t()
    assert (sim - torch.from_numpy(outputs["sim_len64"])).abs().max().item() <= 1e-6


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_autocast(plugin, dtype: torch.dtype) -> None:
    pixels = torch.stack([plugin.preprocess_image(img) for img in _images(2)])
    ref_i, ref_t = plugin.encode_images(pixels), plugin.encode_texts(TEXTS[:2])
    ref = plugin.score_pairs(ref_i.states, ref_t.states)
    with torch.autocast("cpu", dtype=dtype):
        enc_i, enc_t = plugin.encode_images(pixels), plugin.encode_texts(TEXTS[:2])
        scores = plugin.score_pairs(enc_i.states, enc_t.states)
    assert torch.isfinite(scores).all() and scores.shape == (2,)
    assert (scores.float() - ref).abs().max().item() < 0.03
    assert (enc_i.embeddings.float() - ref_i.embeddings).abs().max().item() < 0.05


def test_prd2_and_random_init() -> None:
    from zero_bench_r2d2.plugin import create_prd2, create_r2d2

    prd2 = create_prd2(config="r2d2-tiny")
    assert isinstance(prd2, Model) and not has_pair_scorer(prd2)
    assert not hasattr(prd2, "rerank_with_similarity")
    assert prd2.info.training_data == "random init" and "random init" in prd2.info.checkpoint
    assert prd2.info.checkpoint_sha256 is None
    enc = prd2.encode_texts(TEXTS)
    assert enc.embeddings.shape == (3, 16) and enc.states == {}
    r2d2 = create_r2d2(config="r2d2-tiny")
    assert r2d2.info.parameters > prd2.info.parameters
    with pytest.raises(ZeroBenchError, match="unknown option"):
        create_r2d2(config="r2d2-tiny", precision="fp16")
    with pytest.raises(ZeroBenchError, match="unknown R2D2 config"):
        create_r2d2(config="r2d2-vit-xxl")


def test_registry_entry_point() -> None:
    from zero_bench.models.registry import create_model, list_models

    assert {"r2d2", "prd2"} <= set(list_models())
    with pytest.raises(ZeroBenchError, match="--random-init"):
        create_model("prd2", config="r2d2-tiny")  # no checkpoint: random weights only on purpose
    model = create_model("prd2", config="r2d2-tiny", random_init=True)
    assert isinstance(model, Model) and model.info.random_init


def test_gradient_checkpointing_gives_same_gradients() -> None:
    from zero_bench_r2d2.config import load_config
    from zero_bench_r2d2.modeling import R2D2Model
    from zero_bench_r2d2.tokenizer import R2D2Tokenizer

    torch.manual_seed(0)
    model = R2D2Model(load_config("r2d2-tiny"))
    model.train()
    for m in model.modules():  # deterministic: no dropout
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    for m in model.modules():
        if hasattr(m, "dropout_p"):
            m.dropout_p = 0.0
    tok = R2D2Tokenizer(max_length=12)(TEXTS[:2])
    pixels = torch.randn(2, 3, 32, 32)

    def grads() -> dict[str, torch.Tensor]:
        model.zero_grad()
        out = model(pixels, tok["input_ids"], tok["attention_mask"])
        loss = (out["sim"] / model.temp).logsumexp(-1).mean()
        loss = loss + model.itm_probs(out["image_tokens"], out["text_tokens"], tok["attention_mask"])[:, 1].sum()
        loss.backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    calls: dict[str, int] = {}
    watched = {
        "vision": model.visual_encoder.encoder.layers[0].mlp,
        "text": model.text_encoder.encoder.layer[0].intermediate,
        "joint": model.text_joint_layer.encoder.layer[0].intermediate,
    }

    def counting(name: str, forward):
        def wrapped(*args, **kwargs):
            calls[name] = calls.get(name, 0) + 1
            return forward(*args, **kwargs)

        return wrapped

    for name, module in watched.items():  # a block inside each layer (HF wraps the layer's class forward)
        module.forward = counting(name, module.forward)
    plain = grads()
    plain_calls, calls = dict(calls), {}
    model.set_gradient_checkpointing(True)
    checked = grads()
    checked_calls, calls = dict(calls), {}
    model.set_gradient_checkpointing(False)
    grads()
    # checkpointing re-runs each layer's forward in the backward pass
    assert all(checked_calls[k] == 2 * plain_calls[k] for k in watched), (plain_calls, checked_calls)
    assert calls == plain_calls
    assert plain.keys() == checked.keys() and len(plain) > 100
    assert all(torch.allclose(plain[k], checked[k], atol=1e-6) for k in plain)


def test_toy_config_is_tiny_with_a_finer_patch_grid_and_two_joint_layers() -> None:
    """r2d2-toy (the quickstart's) differs from r2d2-tiny only in its input and patch size (48 px in 6 x 6 image
    tokens, not 32 px in 2 x 2) and its joint depth (2 layers, not the official 6 that every other config gets)."""
    from zero_bench_r2d2.config import load_config

    tiny, toy = load_config("r2d2-tiny").to_dict(), load_config("r2d2-toy").to_dict()
    assert (tiny["vision"].pop("patch_size"), toy["vision"].pop("patch_size")) == (16, 8)
    assert (tiny["vision"].pop("image_size"), toy["vision"].pop("image_size")) == (32, 48)
    assert (tiny["joint"].pop("num_hidden_layers"), toy["joint"].pop("num_hidden_layers")) == (6, 2)
    assert load_config("r2d2-vit-b").joint["num_hidden_layers"] == 6
    for cfg in (tiny, toy):
        cfg.pop("name"), cfg.pop("source")
    assert tiny == toy
    assert load_config("r2d2-toy").num_patches == 36 and load_config("r2d2-tiny").num_patches == 4


@pytest.mark.parametrize("value", [0, -1, 2.5, "2", True])
def test_a_joint_depth_that_is_not_a_count_is_refused(tmp_path, value) -> None:
    """A config folder's ``joint_layers`` that is not an integer >= 1: one line naming the file, no model."""
    import json
    import shutil

    from zero_bench_r2d2.config import configs_dir, load_config

    folder = tmp_path / "cfg"
    shutil.copytree(configs_dir() / "r2d2-toy", folder)
    path = folder / "bert_config.json"
    path.write_text(json.dumps(json.loads(path.read_text()) | {"joint_layers": value}))
    with pytest.raises(ZeroBenchError, match=r"bert_config\.json: joint_layers must be an integer >= 1"):
        load_config(folder)


@pytest.mark.parametrize("joint_layers", [1, 2, 6])
def test_pair_logits_equal_the_heads_on_the_full_cross_encoders(joint_layers: int) -> None:
    """The ITM logits of pairs (image row pair_image[k], text k), each image's own work once and the last layer for
    [CLS] alone, equal the heads on the full cross encoders' outputs over the expanded rows, in value and in every
    gradient (weights, image and text states)."""
    from zero_bench_r2d2.config import load_config
    from zero_bench_r2d2.modeling import R2D2Model

    torch.manual_seed(0)
    config = load_config("r2d2-tiny")
    config.joint["num_hidden_layers"] = joint_layers
    model = R2D2Model(config)
    model.train()
    for m in model.modules():  # deterministic: no dropout
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
        if hasattr(m, "dropout_p"):
            m.dropout_p = 0.0
    images = torch.randn(3, 5, 64, requires_grad=True)
    texts = torch.randn(7, 9, 32, requires_grad=True)
    mask = torch.ones(7, 9, dtype=torch.long)
    mask[1, 4:] = mask[5, 2:] = 0
    pair_image = torch.tensor([2, 0, 0, 1, 2, 2, 0])

    def run(shared: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        model.zero_grad()
        images.grad = texts.grad = None
        if shared:
            logits_t = model.text_image_logits(images, texts, mask, pair_image)
            logits_i = model.image_text_logits(images, texts, mask, pair_image)
        else:
            rows = images[pair_image]
            logits_t = model.itm_head(model.text_image_cross(texts, mask, rows)[:, 0])
            logits_i = model.itm_head_i(model.image_text_cross(rows, texts, mask)[:, 0])
        logits = torch.cat([logits_t, logits_i], dim=1)
        (logits * torch.linspace(-1, 1, logits.numel()).view_as(logits)).sum().backward()
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
        return logits.detach(), grads | {"images": images.grad.clone(), "texts": texts.grad.clone()}

    full, full_grads = run(False)
    shared, shared_grads = run(True)
    assert torch.allclose(shared, full, atol=1e-5, rtol=0)
    assert shared_grads.keys() == full_grads.keys() and len(full_grads) > 20
    for name, grad in full_grads.items():
        assert torch.allclose(shared_grads[name], grad, atol=1e-5, rtol=1e-4), name
    model.set_gradient_checkpointing(True)
    checked, checked_grads = run(True)
    assert torch.allclose(checked, shared, atol=1e-6, rtol=0)
    assert all(torch.allclose(checked_grads[n], g, atol=1e-6) for n, g in shared_grads.items())
    with pytest.raises(ValueError, match="6 pair images for 7 text rows"):
        model.text_image_logits(images, texts, mask, pair_image[:6])
