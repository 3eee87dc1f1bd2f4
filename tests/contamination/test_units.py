"""The parts: text normalisation, the Hamming index, bounded match keeping, thumbnails, the comparison side and
the cached cut weights."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zero_bench.contamination.hamming import HammingIndex
from zero_bench.contamination.images import thumb_diffs
from zero_bench.contamination.normalise import jaccard, normalise, shingles
from zero_bench.contamination.scan import Found, make_match


def test_normalise_folds_width_punctuation_and_space() -> None:
    caption = "画面左上方有一个红色的大圆形，背景是浅灰色的纯色。"
    variants = [
        "画面 左上方有一个红色的大圆形, 背景是浅灰色的纯色!",
        "画面\u3000左上方有一个红色的大圆形\uff0c背景是浅灰色的纯色\uff01",
        "  画面左上方有一个红色的大圆形；背景是浅灰色的纯色\t\n",
    ]
    assert all(normalise(v) == normalise(caption) for v in variants)
    assert normalise("ＡＢＣ１２３ abc") == "abc123abc"
    assert normalise("红色圆形") != normalise("蓝色圆形")


def test_shingles_and_jaccard() -> None:
    assert shingles("abcd", 3) == {"abc", "bcd"}
    assert shingles("ab", 3) == {"ab"}
    assert shingles("", 3) == set()
    assert jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=60),
    st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=10),
    st.integers(0, 20),
    st.randoms(use_true_random=False),
)
def test_hamming_index_finds_exactly_the_hashes_within_the_radius(hashes, queries, radius, rnd) -> None:
    # near neighbours of the stored hashes, so some queries fall inside the radius
    queries += [h ^ (1 << rnd.randrange(64)) ^ (1 << rnd.randrange(64)) for h in hashes[:5]]
    index = HammingIndex(np.asarray(hashes, dtype=np.uint64), radius)
    for q in queries:
        expected = sorted((i, (h ^ q).bit_count()) for i, h in enumerate(hashes) if (h ^ q).bit_count() <= radius)
        entries, distances = index.query(q)
        assert sorted(zip(entries.tolist(), distances.tolist(), strict=True)) == expected  # each entry once
        assert entries.tolist() == _hamming_order(hashes, q, radius)


def _hamming_order(hashes: list[int], query: int, radius: int) -> list[int]:
    """The order HammingIndex.query promises, from its definition: block b holds bits b, b + count, ... (count =
    radius // 2 + 1); block by block, the query's block value and then each one-bit change of it, lowest bit first;
    the entries with that block value by entry; each entry within the radius the first time it is met."""
    count = radius // 2 + 1

    def block(value: int, b: int) -> int:
        return sum(((value >> bit) & 1) << k for k, bit in enumerate(range(b, 64, count)))

    seen: list[int] = []
    for b in range(count):
        width = len(range(b, 64, count))
        key = block(query, b)
        for probe in (key, *(key ^ (1 << i) for i in range(width))):
            for entry, h in enumerate(hashes):
                if block(h, b) == probe and (h ^ query).bit_count() <= radius and entry not in seen:
                    seen.append(entry)
    return seen


def test_found_keeps_the_best_matches_and_counts_all() -> None:
    a, b = Found(limit=2), Found(limit=2)
    a.add("images", 0, make_match("r1", False, 7))
    a.add("images", 0, make_match("r2", True, 0))
    b.add("images", 0, make_match("r3", False, 3))
    b.add("images", 0, make_match("r4", False, 9))
    a.merge(b)
    count, best = a.matches("images", 0)
    assert count == 4
    assert [m.corpus_key for m in best] == ["r2", "r3"]
    assert a.keys["images"] == {"r1", "r2", "r3", "r4"}


def test_thumb_diff_sees_a_small_object_a_mean_would_miss() -> None:
    background = np.full((16, 16, 3), 200, dtype=np.uint8)
    with_object = background.copy()
    with_object[7:9, 7:9] = (220, 30, 30)  # 4 of 256 pixels
    noisy = np.clip(background.astype(int) + np.random.default_rng(0).integers(-3, 4, background.shape), 0, 255)
    diffs = thumb_diffs(background, np.stack([with_object, noisy.astype(np.uint8)]))
    assert diffs[0] > 50 and diffs[1] <= 3


def test_batched_perceptual_hashes_equal_imagehash_phash() -> None:
    from PIL import Image, ImageDraw

    from zero_bench.contamination.images import perceptual_hash, perceptual_hashes

    rng = np.random.default_rng(0)
    images = []
    for k in range(40):
        size = (int(rng.integers(20, 120)), int(rng.integers(20, 120)))
        img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
        if k % 2:
            img = Image.new("RGB", size, tuple(int(c) for c in rng.integers(0, 256, 3)))
            ImageDraw.Draw(img).ellipse([2, 2, size[0] // 2, size[1] // 2], fill=(200, 20, 20))
        images.append(img)
    assert perceptual_hashes(images) == [perceptual_hash(img) for img in images]
    assert perceptual_hashes([]) == []


@given(st.integers(1, 400), st.integers(1, 400), st.sampled_from([16, 24, 32]))
def test_compare_side_is_a_third_of_a_small_copy_and_never_more_than_it(width, height, largest) -> None:
    from PIL import Image

    from zero_bench.contamination.confirm import MIN_SIDE, compare_side

    short = min(width, height)
    side = compare_side(largest, Image.new("RGB", (width, height)))
    assert 1 <= side <= min(largest, short)
    assert side >= min(MIN_SIDE, short)
    if short >= 3 * largest:
        assert side == largest
    elif short >= 3 * MIN_SIDE:
        assert side == short // 3


@given(st.integers(0, 2**32 - 1), st.integers(2, 30), st.booleans())
@settings(max_examples=60, deadline=None)
def test_compiled_cut_distances_equal_the_numpy_steps(seed, side, near) -> None:
    """The alignment's compiled distance (``_align.pyx``) equals its definition in numpy, aligned_diffs of the
    blurred, normalised cuts, for any image size, side and boxes (on and off the lattice), and for a query cut
    from the same image (distances near 0, where the threshold is) as for an unrelated one."""
    from zero_bench.contamination.images import aligned_diffs, blurred, cut_distances, cuts, integral, normalised

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, tuple(rng.integers(side, 120, 2)) + (3,), dtype=np.uint8)
    boxes = np.where(rng.random((8, 4)) < 0.5, rng.integers(0, 13, (8, 4)) * 0.0125, rng.uniform(0, 0.16, (8, 4)))
    raw = cuts(pixels, boxes[:1], side) if near else rng.integers(0, 256, (1, side, side, 3)).astype(np.float32)
    query = blurred(normalised(raw))[0]
    expected = aligned_diffs(query, blurred(normalised(cuts(pixels, boxes, side))))
    np.testing.assert_allclose(cut_distances(pixels, boxes, query), expected, atol=2e-3)
    np.testing.assert_allclose(cut_distances(pixels, boxes, query, integral(pixels)), expected, atol=2e-3)


@given(st.integers(0, 2**32 - 1), st.integers(0, 300), st.booleans())
@settings(max_examples=60, deadline=None)
def test_compiled_loose_check_equals_the_numpy_steps(seed, count, at_limit) -> None:
    """The near-image look-up's loose check, compiled (``_kernels.loose_diffs``), keeps exactly the candidates its
    numpy definition keeps, in the same order: variants near the query in colour, grain and thumbnail and far from
    it, repeated variants (equal distances: ties kept in look-up order), and limits set exactly at one candidate's
    colour shift and thumbnail distance (compared in float32 as numpy compares them)."""
    from dataclasses import replace

    from zero_bench.contamination.confirm import loose_candidates, loose_candidates_numpy
    from zero_bench.contamination.evalside import EvalIndex, packed_thumbs, unpacked_thumbs
    from zero_bench.contamination.images import THUMB, aligned_diffs
    from zero_bench.contamination.thresholds import Thresholds

    rng = np.random.default_rng(seed)
    entries = 64
    thumbs = rng.normal(0, 40, (entries, THUMB, THUMB, 3)).astype(np.float32)
    thumbs[entries // 2 :] = thumbs[0] + rng.normal(0, 6, (entries - entries // 2, THUMB, THUMB, 3))  # lookalikes
    colour = np.full(3, 1 / 3, dtype=np.float32)
    index = EvalIndex(Thresholds(), [])
    index.variant_thumb = packed_thumbs(thumbs)
    index.variant_colour = (colour + rng.normal(0, 0.02, (entries, 3))).astype(np.float32)
    index.variant_texture = rng.uniform(0, 1, entries).astype(np.float32)
    looks = (thumbs[0] + rng.normal(0, 3, thumbs[0].shape).astype(np.float32), colour, np.float32(0.5))
    variants = rng.integers(0, entries, count).astype(np.int64)  # the same entry may come twice
    if at_limit and count:
        first = int(variants[0])
        shift = float(np.abs(index.variant_colour[first] - colour).max())
        loose = float(aligned_diffs(looks[0], unpacked_thumbs(index.variant_thumb[first : first + 1]))[0])
        index.thresholds = replace(index.thresholds, image_colour_diff=3 * shift, image_loose_diff=loose)
    expected = loose_candidates_numpy(index, variants, looks)
    np.testing.assert_array_equal(loose_candidates(index, variants, looks), expected)
    assert expected.dtype == np.int64
    empty = EvalIndex(Thresholds(), [])  # an evaluation side without images: nothing to compare, no error
    assert len(loose_candidates(empty, np.zeros(0, dtype=np.int64), looks)) == 0


def test_unbuilt_kernels_are_one_line_saying_how_to_build_them(monkeypatch) -> None:
    import sys

    from zero_bench.contamination import compiled
    from zero_bench.errors import ZeroBenchError

    compiled.kernels.cache_clear()
    monkeypatch.delattr("zero_bench.contamination._kernels", raising=False)
    monkeypatch.setitem(sys.modules, "zero_bench.contamination._kernels", None)  # import fails as if never built
    try:
        with pytest.raises(ZeroBenchError, match="build_ext --inplace"):
            compiled.kernels()
    finally:
        compiled.kernels.cache_clear()


@pytest.mark.parametrize("height, width", [(77, 91), (300, 250)])  # float32 sums; past 2**24, float64
def test_summed_area_table_is_exact(height: int, width: int) -> None:
    from zero_bench.contamination.images import integral

    pixels = np.random.default_rng(height).integers(0, 256, (height, width, 3), dtype=np.uint8)
    pixels[:40, :40] = 255  # the largest sums
    reference = np.zeros((height + 1, width + 1, 3), dtype=np.int64)
    reference[1:, 1:] = pixels.astype(np.int64).cumsum(axis=0).cumsum(axis=1)
    table = integral(pixels)
    assert table.dtype == (np.float32 if height * width * 255 < 2**24 else np.float64)
    assert np.array_equal(table, reference.transpose(0, 2, 1))


def test_cuts_from_the_summed_area_table_equal_products_with_the_box_weights() -> None:
    """The cuts read off the summed-area table equal two products with Pillow's dense box-filter weights, and
    the span cache (with its rounding of the cut fractions to 1e-9) changes no cut: on the alignment's lattice,
    off it, and for the same cut reached by different sums of steps."""
    from zero_bench.contamination.images import _box_weights, cuts

    rng = np.random.default_rng(3)
    pixels = rng.integers(0, 256, (77, 91, 3), dtype=np.uint8)
    lattice = rng.integers(0, 13, (40, 4)) * 0.0125
    boxes = np.concatenate([lattice, rng.uniform(0, 0.16, (40, 4)), 0.025 + 0.0125 + 0.0125 + np.zeros((1, 4))])
    h, w = pixels.shape[:2]
    wx = _box_weights(boxes[:, 0] * w, w - boxes[:, 2] * w, w, 24)
    wy = _box_weights(boxes[:, 1] * h, h - boxes[:, 3] * h, h, 24)
    rows = np.einsum("tih,hwc->tiwc", wy, pixels.astype(np.float32))
    reference = np.einsum("tjw,tiwc->tijc", wx, rows)
    for _ in range(2):  # the second pass answers from the cache
        np.testing.assert_allclose(cuts(pixels, boxes, 24), reference, atol=1e-3)


def test_variant_boxes_cut_every_pair_combination_once_and_reports_round_trip() -> None:
    """Each variant cuts one (left, right) and one (top, bottom) pair; the uncut image comes first; thresholds
    written in a report read back equal, and a report from before the pairs (a per-side grid) reads as the
    pairs of that grid."""
    import json

    from zero_bench.contamination.evalside import variant_boxes
    from zero_bench.contamination.thresholds import Thresholds

    pairs = [(0.025, 0.075), (0.0, 0.05), (0.0, 0.0)]
    boxes = variant_boxes(pairs)
    assert boxes[0] == (0.0, 0.0, 0.0, 0.0)
    assert len(boxes) == len(set(boxes)) == 9  # 3 x 3 combinations, (0, 0, 0, 0) among them once
    assert (0.025, 0.0, 0.075, 0.05) in boxes and (0.0, 0.025, 0.05, 0.075) in boxes
    assert all((left, right) in pairs and (top, bottom) in pairs for left, top, right, bottom in boxes[1:])
    th = Thresholds()
    assert len(variant_boxes(th.crop_pairs)) == 1 + len(th.crop_pairs) ** 2
    assert Thresholds.from_dict(json.loads(json.dumps(th.as_dict()))) == th
    old = {k: v for k, v in th.as_dict().items() if "crop_pairs" not in k} | {"crop_grid": [0.025, 0.075]}
    read = Thresholds.from_dict(old)
    assert (
        read.crop_pairs == read.mirrored_crop_pairs == ((0.025, 0.025), (0.025, 0.075), (0.075, 0.025), (0.075, 0.075))
    )


@given(st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.01, 0.5]))
@settings(max_examples=30, deadline=None)
def test_variant_thumbnails_fit_int16_at_their_scale(seed, flat_share) -> None:
    """Normalised values stay within 255 x 40 / 8 (the spread gets 8 added), so the evaluation side's int16
    thumbnails (x THUMB_SCALE) never clip, and the loose check reads them back to 1/32."""
    from zero_bench.contamination.evalside import THUMB_SCALE, packed_thumbs, unpacked_thumbs
    from zero_bench.contamination.images import blurred, normalised

    rng = np.random.default_rng(seed)
    raw = np.where(rng.random((4, 16, 16, 1)) < flat_share, rng.integers(0, 256, (4, 16, 16, 3)), 0).astype(np.uint8)
    values = blurred(normalised(raw))
    assert np.abs(values).max() <= 255 * 40 / 8
    assert np.iinfo(np.int16).max > 255 * 40 / 8 * THUMB_SCALE
    stored = unpacked_thumbs(packed_thumbs(values))
    assert np.abs(stored - values).max() <= 1 / (2 * THUMB_SCALE) + 1e-4


@given(st.integers(0, 2**32 - 1), st.integers(1, 30), st.integers(1, 30), st.integers(0, 2))
@settings(max_examples=40, deadline=None)
def test_blur_and_normalisation_equal_their_definitions(seed, height, width, lead) -> None:
    """``blurred`` is the 3x3 mean with edges repeated (scipy's uniform_filter, mode "nearest") of any [..., H, W,
    3], one-pixel sides included; ``normalised`` removes each channel's mean and scales its spread (+ 8) to 40."""
    from scipy.ndimage import uniform_filter

    from zero_bench.contamination.images import blurred, normalised

    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (2,) * lead + (height, width, 3)).astype(np.uint8)
    size = (1,) * lead + (3, 3, 1)
    reference = uniform_filter(x.astype(np.float64), size=size, mode="nearest")
    np.testing.assert_allclose(blurred(x.astype(np.float32)), reference, atol=1e-3)
    flat = x.reshape(*x.shape[:-3], -1, 3).astype(np.float64)
    mean, spread = flat.mean(axis=-2), flat.std(axis=-2) + 8.0
    expected = (x - mean[..., None, None, :]) * (40.0 / spread)[..., None, None, :]
    np.testing.assert_allclose(normalised(x), expected, atol=1e-3)


def _trim_reference(img, tolerance: int, max_fraction: float):
    """trim_border's definition written out pixel by pixel in numpy (the slow, obvious way)."""
    pixels = np.asarray(img, dtype=np.int16)
    h, w = pixels.shape[:2]
    corner = pixels[0, 0]
    if max(np.abs(pixels[y, x] - corner).max() for y, x in ((0, w - 1), (h - 1, 0), (h - 1, w - 1))) > tolerance:
        return None
    diff = np.abs(pixels - corner).max(axis=-1)
    for tol in (tolerance, tolerance // 3):
        ys, xs = np.nonzero(diff > tol)
        if not len(xs):
            return None
        left, top, right, bottom = xs.min(), ys.min(), w - 1 - xs.max(), h - 1 - ys.max()
        if not (left or top or right or bottom):
            return None
        if max(left, right) <= max_fraction * w and max(top, bottom) <= max_fraction * h:
            cut = [2 if m else 0 for m in (left, top, right, bottom)]
            return pixels[top + cut[1] : h - bottom - cut[3], left + cut[0] : w - right - cut[2]].astype(np.uint8)
    return None


@settings(max_examples=150, deadline=None)
@given(
    st.integers(8, 120),
    st.integers(8, 120),
    st.tuples(*[st.integers(0, 16)] * 4),
    st.tuples(*[st.integers(0, 255)] * 3),
    st.booleans(),
    st.integers(20, 101),
    st.integers(0, 2**32 - 1),
)
def test_trim_border_cuts_exactly_the_uniform_frame(width, height, frame, colour, noisy, quality, seed) -> None:
    """Frames of 0-16 px in any colour around a plain or a noisy picture, as they are or JPEG re-encoded
    (quality 101: not re-encoded): the trim equals the definition, pixel for pixel."""
    import io

    from PIL import Image, ImageOps

    from zero_bench.contamination.images import trim_border

    rng = np.random.default_rng(seed)
    if noisy:
        picture = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    else:
        picture = Image.new("RGB", (width, height), tuple(int(c) for c in rng.integers(0, 256, 3)))
    img = ImageOps.expand(picture, frame, fill=colour)
    if quality <= 100:
        out = io.BytesIO()
        img.save(out, format="JPEG", quality=quality)
        img = Image.open(io.BytesIO(out.getvalue())).convert("RGB")
    for tolerance in (96, 30):
        expected, got = _trim_reference(img, tolerance, 0.12), trim_border(img, tolerance, 0.12)
        assert (expected is None) == (got is None)
        if got is not None:
            assert np.array_equal(np.asarray(got), expected)


def test_large_images_are_decoded_reduced_and_their_lossless_copies_stay_exact() -> None:
    """A large JPEG is decoded at a libjpeg scale (its shorter side kept at WORK_SIDE or more), a large PNG box-
    reduced; the exact keys of an evaluation image hold what the audit decodes from a byte copy and from a PNG
    re-save of its pixels, and a small image is decoded whole."""
    import io

    from PIL import Image

    from zero_bench.contamination.images import WORK_SIDE, decode, decode_reduced, exact_keys, pixel_hash

    def encoded(img: Image.Image, fmt: str) -> bytes:
        out = io.BytesIO()
        img.save(out, format=fmt, quality=90) if fmt == "JPEG" else img.save(out, format=fmt)
        return out.getvalue()

    rng = np.random.default_rng(1)
    picture = Image.fromarray(rng.integers(0, 256, (700, 1000, 3), dtype=np.uint8))
    jpeg = encoded(picture, "JPEG")
    assert WORK_SIDE == 64  # the sizes below are worked out for it
    assert decode_reduced(jpeg).size == (125, 88)  # libjpeg at 1/8, its smallest scale
    assert decode_reduced(encoded(picture.resize((600, 400)), "JPEG")).size == (150, 100)  # 1/8 would leave 50 px
    png = encoded(decode(jpeg), "PNG")
    assert decode_reduced(png).size == (100, 70)  # Image.reduce by 700 // WORK_SIDE = 10
    keys = exact_keys(jpeg, decode(jpeg))
    assert pixel_hash(decode_reduced(jpeg)) in keys  # a byte copy
    assert pixel_hash(decode_reduced(png)) in keys  # the same pixels in another format
    assert pixel_hash(decode_reduced(encoded(picture, "PNG"))) not in keys  # the pixels before JPEG's loss
    for mode in ("L", "CMYK"):  # other JPEG colour spaces, baseline and progressive, and a truncated file
        for progressive in (False, True):
            out = io.BytesIO()
            picture.convert(mode).save(out, format="JPEG", quality=80, progressive=progressive)
            assert (decode_reduced(out.getvalue()).mode, decode_reduced(out.getvalue()).size) == ("RGB", (125, 88))
    assert decode_reduced(jpeg[: len(jpeg) // 2]).size == (125, 88)
    tiny = encoded(picture.resize((2 * WORK_SIDE - 1, 300)), "JPEG")
    assert decode_reduced(tiny).tobytes() == decode(tiny).tobytes()
    assert exact_keys(tiny, decode(tiny)) == {pixel_hash(decode(tiny))}


def test_undecodable_and_oversized_images_are_counted_not_fatal(monkeypatch) -> None:
    """Bytes that are no image and an image past Pillow's decompression-bomb limit (lowered here to 1,000 pixels)
    are counted as undecodable; the rows around them are still matched."""
    import io

    from PIL import Image

    from zero_bench.contamination.evalside import _Builder
    from zero_bench.contamination.images import decode
    from zero_bench.contamination.scan import Found, _image_matches
    from zero_bench.contamination.thresholds import Thresholds

    def jpeg(img: Image.Image) -> bytes:
        out = io.BytesIO()
        img.save(out, format="JPEG", quality=90)
        return out.getvalue()

    rng = np.random.default_rng(2)
    small = jpeg(Image.fromarray(rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)))  # 600 pixels
    builder = _Builder(Thresholds())
    builder.add_image(decode(small), 0, small)
    index = builder.finish()
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000)
    oversized = jpeg(Image.new("RGB", (60, 60)))  # 3,600 pixels: past twice the limit
    found = Found(limit=5)
    matched = dict(_image_matches(index, [b"not an image", oversized, small], found))
    assert found.undecodable == 2
    assert matched == {2: {0: (True, 0, 0.0)}}
