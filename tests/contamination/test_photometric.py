"""The second look at a near miss (``contamination/photometric.py``): what it undoes (a saturation change, JPEG's
colour bleeding) and what it must not (a change of hue, a shape that is not there), and that the audit uses it for
near misses only."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageEnhance

from zero_bench.contamination.images import aligned_diffs, blurred, normalised
from zero_bench.contamination.photometric import chroma_blurred, resaturated, second_look
from zero_bench.contamination.thresholds import Thresholds

SIDE = 24
RANGE = Thresholds().image_saturation


def _scene(seed: int, side: int = 72) -> Image.Image:
    """Coloured shapes on a grey, slightly noisy ground (where a saturation change shows most); no channel near 0 or
    255, so that a saturation of 1.25 does not clip."""
    rng = np.random.default_rng(seed)
    ground = rng.normal(150, 12, (side, side, 3)).clip(0, 255).astype(np.uint8)
    img = Image.fromarray(ground)
    draw = ImageDraw.Draw(img)
    for _ in range(3):
        x, y = rng.integers(0, side - 20, 2)
        size = int(rng.integers(10, 22))
        fill = tuple(int(c) for c in rng.permutation([int(rng.integers(160, 200)), int(rng.integers(50, 90)), 100]))
        draw.ellipse((int(x), int(y), int(x) + size, int(y) + size), fill=fill)
    return img


def _pixels(img: Image.Image, side: int = SIDE) -> np.ndarray:
    return np.asarray(img.resize((side, side), Image.Resampling.BOX), dtype=np.float32)


def _plain(cut: np.ndarray, target: np.ndarray) -> float:
    return float(aligned_diffs(blurred(normalised(target[None]))[0], blurred(normalised(cut[None])))[0])


@given(st.integers(0, 2**16), st.floats(0.82, 1.22))  # inside the accepted range, not at its edge
@settings(max_examples=25, deadline=None)
def test_a_saturation_change_is_fitted_and_undone(seed, factor) -> None:
    img = _scene(seed)
    changed = ImageEnhance.Color(img).enhance(factor)  # Pillow blends each pixel with its own grey ("L")
    cut, target = _pixels(img), _pixels(changed)
    _, saturation = resaturated(cut, target)
    assert saturation == pytest.approx(factor, abs=0.02)
    assert second_look(cut, target, RANGE) <= 1.0
    if abs(factor - 1.0) >= 0.1:
        assert _plain(cut, target) > 2 * second_look(cut, target, RANGE)  # the channel-wise normalisation cannot


@given(st.integers(0, 2**16))
@settings(max_examples=20, deadline=None)
def test_the_fit_equals_least_squares_over_every_pixel_and_channel(seed) -> None:
    """:func:`resaturated` solves the 5 x 5 normal equations; numpy's least squares over the full design (one row
    per pixel and channel) gives the same blend."""
    from zero_bench.contamination.photometric import LUMA

    rng = np.random.default_rng(seed)
    cut = rng.uniform(0, 255, (SIDE, SIDE, 3)).astype(np.float32)
    target = (cut * rng.uniform(0.7, 1.3) + rng.normal(0, 20, cut.shape)).clip(0, 255).astype(np.float32)
    x = cut.reshape(-1, 3).astype(np.float64)
    design = np.zeros((x.size, 5))
    design[:, 0] = x.reshape(-1)
    design[:, 1] = np.repeat(x @ LUMA.astype(np.float64), 3)
    design[:, 2:] = np.tile(np.eye(3), (len(x), 1))
    solution = np.linalg.lstsq(design, target.reshape(-1).astype(np.float64), rcond=None)[0]
    expected = np.clip(design @ solution, 0, 255).reshape(cut.shape)
    fitted, saturation = resaturated(cut, target)
    np.testing.assert_allclose(fitted, expected, atol=1e-2)
    assert saturation == pytest.approx(solution[0] / (solution[0] + solution[1]), rel=1e-6)


def test_a_saturation_change_out_of_range_is_not_fitted() -> None:
    img = _scene(3)
    cut, target = _pixels(img), _pixels(ImageEnhance.Color(img).enhance(0.4))
    assert resaturated(cut, target)[1] == pytest.approx(0.4, abs=0.02)
    query, stored = blurred(normalised(target[None])), blurred(normalised(cut[None]))
    chroma_only = float(aligned_diffs(chroma_blurred(query[0]), chroma_blurred(stored))[0])
    assert second_look(cut, target, RANGE) == pytest.approx(chroma_only)  # the fit is not used ...
    assert second_look(cut, target, (0.3, 3.0)) <= 1.0 < chroma_only / 3  # ... though it would undo the change


def test_no_blend_turns_one_hue_into_another() -> None:
    base = Image.new("RGB", (72, 72), (150, 150, 150))
    red, blue = base.copy(), base.copy()
    ImageDraw.Draw(red).ellipse((20, 20, 50, 50), fill=(220, 30, 30))
    ImageDraw.Draw(blue).ellipse((20, 20, 50, 50), fill=(30, 30, 220))
    assert second_look(_pixels(red), _pixels(blue), RANGE) > 3 * Thresholds().image_thumb_diff


def test_a_missing_shape_still_differs_in_brightness() -> None:
    img = _scene(5)
    other = img.copy()
    ImageDraw.Draw(other).rectangle((4, 4, 20, 20), fill=(20, 20, 20))
    assert second_look(_pixels(img), _pixels(other), RANGE) > 2 * Thresholds().image_thumb_diff


def test_chroma_blur_keeps_the_grey_and_blurs_only_the_colour() -> None:
    rng = np.random.default_rng(0)
    grey = np.repeat(rng.normal(0, 40, (1, SIDE, SIDE, 1)), 3, axis=-1).astype(np.float32)
    np.testing.assert_allclose(chroma_blurred(grey), grey, atol=1e-4)  # no colour part
    colour = rng.normal(0, 40, (1, SIDE, SIDE, 3)).astype(np.float32)
    out = chroma_blurred(colour)
    np.testing.assert_allclose(out.mean(-1), colour.mean(-1), atol=1e-3)  # the grey untouched
    assert (
        np.abs(out - out.mean(-1, keepdims=True)).mean() < 0.6 * np.abs(colour - colour.mean(-1, keepdims=True)).mean()
    )


def test_reports_from_before_the_second_look_read_as_without_it() -> None:
    now = Thresholds().as_dict()
    assert Thresholds.from_dict(now) == Thresholds()
    old = {k: v for k, v in now.items() if k not in ("image_second_look", "image_saturation")}
    assert Thresholds.from_dict(old) == replace(Thresholds(), image_second_look=1.0)


@pytest.fixture(scope="module")
def small_toy(tmp_path_factory):
    from zero_bench.contamination.audit import task_splits
    from zero_bench.contamination.evalside import build_index
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_task_dir
    from zero_bench.formats import load_split
    from zero_bench.taskspec import get_task

    sizes = ToySizes(itr_train=4, itr_val=40, itm_train=4, itm_val=80, flickr_train=2, flickr_val=2, flickr_test=20)
    root = tmp_path_factory.mktemp("toy")
    generate_zero_toy(root=root, seed=0, sizes=sizes, corpus=False)
    splits = task_splits(["ccmb"])
    index = build_index(splits, toy_task_dir(root), Thresholds())
    raws = []
    for name, split in splits:
        raws += [item.read_bytes() for item in load_split(get_task(name), toy_task_dir(root), split).images]
    assert len(raws) == len(index.stored)
    return index, raws


def test_the_audit_confirms_near_misses_of_edited_copies_by_the_second_look(small_toy) -> None:
    """Colour-shifted and JPEG 20-40 copies of toy evaluation images (the planted edits, re-encoded at quality
    95 as the download does): the second look finds copies the plain comparison misses, and loses none."""
    from zero_bench.contamination import plant
    from zero_bench.contamination.images import decode_reduced, perceptual_hashes
    from zero_bench.contamination.scan import match_image

    index, raws = small_toy
    with_look, without = index.thresholds, replace(index.thresholds, image_second_look=1.0)
    rng = np.random.default_rng(11)
    found = {True: set(), False: set()}
    for k, raw in enumerate(raws * 2):
        edit = plant.IMAGE_EDITS["colour_contrast" if k % 2 else "jpeg_q20_40"]
        buf = io.BytesIO()
        Image.open(io.BytesIO(edit(raw, rng))).convert("RGB").save(buf, "JPEG", quality=95)
        img = decode_reduced(buf.getvalue())
        phash = perceptual_hashes([img])[0]
        g = k % len(raws)
        for look, th in ((True, with_look), (False, without)):
            index.thresholds = th
            matches = match_image(index, img, phash)
            if g in matches:
                assert matches[g][2] <= th.image_thumb_diff
                found[look].add(k)
    index.thresholds = with_look
    assert found[False] <= found[True]
    assert len(found[True]) - len(found[False]) >= 3, (len(found[True]), len(found[False]), 2 * len(raws))


def test_the_summary_says_how_near_misses_were_looked_at() -> None:
    from zero_bench.contamination.report import summary

    report = {"corpus": {"name": "c", "fingerprint": "0" * 64}, "rows_scanned": 1, "seconds": 0.1, "tasks": {}}
    now = summary(report | {"thresholds": Thresholds().as_dict()})
    assert "within 1.5x of it: the same with the colour blurred once more, or re-saturated by 0.8-1.25" in now
    before = Thresholds.from_dict({k: v for k, v in Thresholds().as_dict().items() if k != "image_second_look"})
    assert "re-saturated" not in summary(report | {"thresholds": before.as_dict()})
