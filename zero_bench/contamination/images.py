"""Image fingerprints: an exact hash of the decoded pixels, a perceptual hash and a small thumbnail."""

from __future__ import annotations

import functools
import hashlib
import io

import imagehash
import numpy as np
from PIL import Image, ImageChops

THUMB = 16  # side of the look-up thumbnails (the evaluation side's variants)
STORED = 96  # longer side of the copy of each evaluation image kept for the aligned comparison
WORK_SIDE = 64  # corpus images are matched with their shorter side reduced to 64-127 px (decode_reduced)
# what decoding a corpus file may raise: counted as undecodable, never fatal for a pass over millions of rows
# (Pillow's decompression-bomb error, for an image past about 179 MP, is not an OSError)
UNDECODABLE = (OSError, Image.DecompressionBombError)


def _opened(data: bytes) -> Image.Image:
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as the evaluation loaders do
    return Image.open(io.BytesIO(data))


def decode(data: bytes) -> Image.Image:
    with _opened(data) as img:
        return img.convert("RGB")


def reduced(img: Image.Image) -> Image.Image:
    """``img`` shrunk by the largest whole factor that keeps its shorter side at :data:`WORK_SIDE` or more (box
    averages, ``Image.reduce``); itself when that factor is 1."""
    factor = min(img.size) // WORK_SIDE
    return img.reduce(factor) if factor >= 2 else img


def decode_reduced(data: bytes) -> Image.Image:
    """``data`` decoded to RGB at the size the audit matches it: a JPEG is decoded at 1/2, 1/4 or 1/8 scale by
    libjpeg itself (``Image.draft``: the full pixels are never made) as far as the shorter side stays at
    :data:`WORK_SIDE` or more, then any image is :func:`reduced`.  Every later step works at 16-96 px (hashes,
    thumbnails, the aligned comparison), so the full pixels add cost and nothing the audit looks at."""
    with _opened(data) as img:
        img.draft(None, (WORK_SIDE, WORK_SIDE))  # JPEG only; other formats ignore it
        return reduced(img.convert("RGB"))


def exact_keys(data: bytes, img: Image.Image) -> set[bytes]:
    """The :func:`pixel_hash` of every way the audit can decode a copy of an evaluation image (``data``, decoded
    to ``img``) with the same pixels: in full (a small image), by :func:`decode_reduced` from the same file (a byte
    copy, or other metadata), and :func:`reduced` from its full pixels (a lossless re-save in another format)."""
    if min(img.size) < 2 * WORK_SIDE:  # decoded whole every way
        return {pixel_hash(img)}
    return {pixel_hash(img), pixel_hash(decode_reduced(data)), pixel_hash(reduced(img))}


def pixel_hash(img: Image.Image) -> bytes:
    """Equal for two files that decode to the same pixels, whatever their encoding (PNG re-save, metadata).
    SHA-256 (hardware-accelerated on current CPUs, about twice BLAKE2's speed here), first 16 bytes."""
    digest = hashlib.sha256(f"{img.width}x{img.height}:".encode())
    digest.update(img.tobytes())
    return digest.digest()[:16]


def perceptual_hash(img: Image.Image) -> int:
    """imagehash's DCT hash (``imagehash.phash``, 64 bits) as an integer."""
    bits = imagehash.phash(img).hash.flatten()
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def perceptual_hashes(images: list[Image.Image]) -> list[int]:
    """:func:`perceptual_hash` of many images at once: the same steps as ``imagehash.phash`` (greyscale, 32x32
    Lanczos, 2-D DCT, the 8x8 lowest frequencies against their median), with the DCT and median done for the whole
    batch in one call each instead of per image (a test checks the two agree bit for bit)."""
    import scipy.fftpack

    if not images:
        return []
    pixels = np.stack([np.asarray(img.convert("L").resize((32, 32), imagehash.ANTIALIAS)) for img in images]).astype(
        np.float64
    )
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=1), axis=2)[:, :8, :8].reshape(len(images), 64)
    bits = dct > np.median(dct, axis=1, keepdims=True)
    return np.packbits(bits, axis=1).view(">u8").ravel().tolist()


def thumbnail(img: Image.Image) -> np.ndarray:
    return np.asarray(img.resize((THUMB, THUMB), Image.Resampling.BOX), dtype=np.uint8)


def thumb_diffs(thumb: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Distance of one thumbnail to each of ``others`` [C, S, S, 3], 0..255: the 99th percentile (lower value)
    over the pixels of the channel-mean absolute difference.  A recoloured, moved or missing object changes a few
    pixels a lot, which a mean over the mostly-background image would hide."""
    diff = np.abs(others.astype(np.int16) - thumb.astype(np.int16)[None])
    per_pixel = (diff[..., 0] + diff[..., 1] + diff[..., 2]).reshape(len(others), -1)  # faster than sum(axis=-1)
    rank = int(0.99 * (per_pixel.shape[1] - 1))
    return np.round(np.partition(per_pixel, rank, axis=1)[:, rank] / 3, 2)


def central_crop(img: Image.Image, fraction: float) -> Image.Image:
    dx, dy = round(img.width * fraction), round(img.height * fraction)
    return img.crop((dx, dy, img.width - dx, img.height - dy))


Box = tuple[float, float, float, float]  # fractions cut from the left, top, right and bottom


def crop_box(img: Image.Image, box: Box) -> Image.Image:
    left, top, right, bottom = box
    w, h = img.width, img.height
    return img.crop((round(left * w), round(top * h), w - round(right * w), h - round(bottom * h)))


def cut(img: Image.Image, box: Box, side: int) -> np.ndarray:
    """The part of ``img`` inside ``box`` (sub-pixel), box-filtered to side x side RGB pixels."""
    left, top, right, bottom = box
    w, h = img.width, img.height
    region = (left * w, top * h, w - right * w, h - bottom * h)
    return np.asarray(img.resize((side, side), Image.Resampling.BOX, box=region))


def _box_weights(start: np.ndarray, stop: np.ndarray, size: int, side: int) -> np.ndarray:
    """[T, side, size] weights of PIL's BOX resampling of the input span [start, stop) (pixels, one per trial)
    to ``side`` pixels: the coefficients of Pillow's ``precompute_coeffs`` for its box filter."""
    scale = ((stop - start) / side)[:, None]
    filterscale = np.maximum(scale, 1.0)
    center = start[:, None] + (np.arange(side) + 0.5) * scale  # [T, side]
    low = np.maximum((center - 0.5 * filterscale + 0.5).astype(np.int64), 0)
    high = np.minimum((center + 0.5 * filterscale + 0.5).astype(np.int64), size)
    j = np.arange(size)
    x = (j - center[..., None] + 0.5) / filterscale[..., None]
    inside = (j >= low[..., None]) & (j < high[..., None]) & (x > -0.5) & (x <= 0.5)
    weights = inside.astype(np.float32)
    weights /= np.maximum(weights.sum(axis=-1, keepdims=True), 1.0)
    return weights


@functools.lru_cache(maxsize=16384)
def _spans(cut_low: float, cut_high: float, size: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """(first, end) [side] of the input pixels each output pixel of a box-filtered span averages: the input
    [``cut_low`` x size, size - ``cut_high`` x size) resampled to ``side`` pixels.  Pillow's box filter weighs
    the pixels it covers equally (:func:`_box_weights`), so each output is the mean of one run of pixels.
    Cached: the alignment's cuts lie on a lattice of steps, so the same spans recur (two small int arrays)."""
    weights = _box_weights(np.asarray([cut_low * size]), np.asarray([size - cut_high * size]), size, side)[0] > 0
    first = weights.argmax(axis=1)
    end = first + weights.sum(axis=1)
    for a in (first, end):
        a.flags.writeable = False  # shared by every caller
    return first, end


@functools.lru_cache(maxsize=64)
def _running_sums(size: int, dtype: type) -> np.ndarray:
    """[size + 1, size] ones below the diagonal: ``M @ x`` is 0 followed by the running sums of ``x``."""
    out: np.ndarray = np.tril(np.ones((size + 1, size), dtype=dtype), k=-1)
    out.flags.writeable = False
    return out


def integral(pixels: np.ndarray) -> np.ndarray:
    """The summed-area table of 8-bit pixels [H, W, 3] as [H + 1, 3, W + 1] (channels before columns), exact:
    two matrix products with 0/1 triangles (numpy's cumsum is several times slower at these sizes), in float32
    while every partial sum stays below 2**24, else in float64."""
    h, w = pixels.shape[:2]
    dtype = np.float32 if h * w * 255 < 2**24 else np.float64
    by_rows = _running_sums(h, dtype) @ pixels.reshape(h, w * 3).astype(dtype)  # [H + 1, W * 3]
    planes = np.ascontiguousarray(by_rows.reshape(h + 1, w, 3).transpose(0, 2, 1)).reshape(-1, w)  # [(H + 1) 3, W]
    # one 2-D product: numpy runs a 3-D one as many small ones, 8x slower here
    return (planes @ _running_sums(w, dtype).T).reshape(h + 1, 3, w + 1)


@functools.lru_cache(maxsize=16384)
def _box_spans(box: Box, h: int, w: int, side: int) -> np.ndarray:
    """[4, side]: the first row, end row, first column and end column that each output pixel of the cut of an
    H x W image by ``box`` averages (cached like :func:`_spans`; 768 bytes at side 24)."""
    left, top, right, bottom = box
    out = np.stack([*_spans(top, bottom, h, side), *_spans(left, right, w, side)])
    out.flags.writeable = False
    return out


def _cut_spans(boxes: np.ndarray, h: int, w: int, side: int) -> np.ndarray:
    """:func:`_box_spans` of each box, [T, 4, side] int64."""
    # rounded: the alignment reaches one cut by several sums of steps, which differ in the last bits
    return np.stack([_box_spans(tuple(box), h, w, side) for box in np.round(boxes, 9).tolist()])


def cut_distances(
    pixels: np.ndarray, boxes: np.ndarray, query: np.ndarray, table: np.ndarray | None = None
) -> np.ndarray:
    """``aligned_diffs(query, blurred(normalised(cuts(pixels, boxes, side))))`` for a :func:`blurred` normalised
    ``query`` [side, side, 3] (``table``: the pixels' :func:`integral`, computed here when not given; the alignment
    cuts one image many times), in one compiled pass per box (``_kernels.pyx``: the same steps in
    float64; in numpy they were some fifty calls on small arrays, most of the audit's alignment time)."""
    from zero_bench.contamination.compiled import kernels

    h, w = pixels.shape[:2]
    table = integral(pixels) if table is None else table
    out = np.empty(len(boxes))
    kernels().cut_distances(
        table, _cut_spans(boxes, h, w, query.shape[0]), np.ascontiguousarray(query, np.float32), out
    )
    return out


def cuts(pixels: np.ndarray, boxes: np.ndarray, side: int) -> np.ndarray:
    """:func:`cut` of one image's pixels [H, W, 3] by many boxes [T, 4] at once, float32 [T, side, side, 3] (the
    same box filter as Pillow, without its rounding to 8 bits between the two passes).  Each output pixel is the
    mean of a run of rows by a run of columns (:func:`_spans`), four look-ups in the :func:`integral` table.  A
    box filter's weights are mostly zeros, so this does far less work than two matrix products with them."""
    h, w = pixels.shape[:2]
    table = integral(pixels)
    y0, y1, x0, x1 = _cut_spans(boxes, h, w, side).transpose(1, 0, 2)
    row, channel = 3 * (w + 1), np.arange(3) * (w + 1)  # strides of the flat table
    top, bottom = (y0 * row)[:, :, None, None], (y1 * row)[:, :, None, None]
    left, right = (x0[:, None, :, None] + channel), (x1[:, None, :, None] + channel)
    flat = table.reshape(-1)
    sums = flat.take(bottom + right) - flat.take(top + right) - flat.take(bottom + left) + flat.take(top + left)
    counts = (y1 - y0)[:, :, None, None] * (x1 - x0)[:, None, :, None]
    return (sums / counts).astype(np.float32, copy=False)


def trim_border(img: Image.Image, tolerance: int, max_fraction: float) -> Image.Image | None:
    """``img`` without a uniform frame (an added border), or None when it has none.  A frame: the four corners
    within ``tolerance`` of one colour, and the pixels that differ from it by more than that leave a margin of at
    most ``max_fraction`` of the side on every side (so a plain background around a small object is no frame).
    A frame close to the picture's own colours is looked for again at a third of the tolerance.  Two more pixels
    are cut on each trimmed side (JPEG ringing where frame and picture meet; a cut slightly into the picture is
    found by the alignment, a left-over strip of frame would not be)."""
    w, h = img.size
    corner = np.asarray(img.getpixel((0, 0)), dtype=np.int16)
    others = np.asarray([img.getpixel(p) for p in ((w - 1, 0), (0, h - 1), (w - 1, h - 1))], dtype=np.int16)
    if np.abs(others - corner).max() > tolerance:
        return None
    # each channel's distance to the corner colour (ImageChops, in C: numpy's int16 copy of the image cost 4x the
    # whole trim), then its largest value per column and per row (over rows of w x 3 bytes: contiguous)
    diff = np.asarray(ImageChops.difference(img, Image.new("RGB", img.size, tuple(corner.tolist()))))
    by_column = diff.max(axis=0).max(axis=1)
    by_row = diff.reshape(h, w * 3).max(axis=1)
    for tol in (tolerance, tolerance // 3):
        cols, rows = np.flatnonzero(by_column > tol), np.flatnonzero(by_row > tol)
        if not len(cols):
            return None
        bbox = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
        margins = (bbox[0], bbox[1], w - bbox[2], h - bbox[3])
        if not any(margins):
            return None
        if max(margins[0], margins[2]) <= max_fraction * w and max(margins[1], margins[3]) <= max_fraction * h:
            inset = [2 if m else 0 for m in margins]
            return img.crop((bbox[0] + inset[0], bbox[1] + inset[1], bbox[2] - inset[2], bbox[3] - inset[3]))
    return None


def colours(thumbs: np.ndarray) -> np.ndarray:
    """The mean colour of thumbnails [..., S, S, 3] (8-bit) as shares of red, green and blue [..., 3] (float32):
    what :func:`normalised` takes away, kept to tell a black square on grey from one on pink."""
    flat = thumbs.reshape(*thumbs.shape[:-3], -1, 3).astype(np.float32)
    mean = np.full(flat.shape[-2], 1.0 / flat.shape[-2], dtype=np.float32) @ flat + 1.0
    return mean / (mean[..., :1] + mean[..., 1:2] + mean[..., 2:])


def textures(thumbs: np.ndarray) -> np.ndarray:
    """How grainy thumbnails [..., S, S, 3] (8-bit) are, [...] float32: log(1 + the mean absolute difference
    between the pixels and their :func:`blurred` 3x3 mean).  A noisy background keeps some grain at 16 px, a
    plain one none; both are gone after the blur of the comparison."""
    x = thumbs.astype(np.float32)
    grain = np.abs(x - blurred(x.copy())).reshape(*x.shape[:-3], -1)
    return np.log1p(grain.mean(axis=-1))


def _by_rows(x: np.ndarray) -> np.ndarray:
    """Pixels [..., H, W, 3] as rows of W x 3 values [..., H, W * 3] (a view): arithmetic that broadcasts a value
    per channel or adds neighbouring pixels then runs along rows, not in steps of 3 values (3-8x slower)."""
    return x.reshape(*x.shape[:-2], x.shape[-2] * 3)


def normalised(thumbs: np.ndarray) -> np.ndarray:
    """Thumbnails [..., S, S, 3] with each channel's mean removed and its spread scaled to a common one (so small
    brightness, contrast and colour shifts cancel), float32, values mostly within +-127."""
    x = thumbs.astype(np.float32)
    flat = x.reshape(*x.shape[:-3], -1, 3)
    weights = np.full(flat.shape[-2], 1.0 / flat.shape[-2], dtype=np.float32)
    mean = weights @ flat  # a matrix product: far faster than mean(axis=-2) over a 3-wide last axis
    spread = np.sqrt(np.maximum(weights @ (flat * flat) - mean * mean, 0.0)) + 8.0  # flat channels stay flat
    rows, width = _by_rows(x), x.shape[-2]
    rows -= np.tile(mean, width)[..., None, :]
    rows *= np.tile(40.0 / spread, width)[..., None, :]
    return x


def blurred(thumbs: np.ndarray) -> np.ndarray:
    """Each pixel of normalised thumbnails [..., S, S, 3] replaced by the mean of its 3x3 neighbourhood (edges
    repeated).  Linear, so the blur of a difference is the difference of the blurs: the evaluation side's are
    computed once."""
    x = _by_rows(thumbs)
    rows = x.copy()  # each row plus the rows above and below it
    rows[..., 1:, :] += x[..., :-1, :]
    rows[..., :-1, :] += x[..., 1:, :]
    rows[..., :1, :] += x[..., :1, :]  # the edge rows repeated (one after the other: a single row gets both)
    rows[..., -1:, :] += x[..., -1:, :]
    out = rows.copy()  # each pixel plus its left and right neighbours: 3 values along the row
    out[..., 3:] += rows[..., :-3]
    out[..., :-3] += rows[..., 3:]
    out[..., :3] += rows[..., :3]
    out[..., -3:] += rows[..., -3:]
    out *= np.float32(1.0 / 9.0)
    return out.reshape(thumbs.shape)


def aligned_diffs(query: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Distance of one :func:`blurred` normalised thumbnail [S, S, 3] to each of ``others`` [C, S, S, 3]: the
    99th percentile over the pixels of the channel-mean absolute difference.  The blur averages JPEG noise and
    resampling away; a moved or missing shape changes a patch of pixels, which the percentile sees."""
    diff = others - query
    np.abs(diff, out=diff)
    per_pixel = (diff[..., 0] + diff[..., 1] + diff[..., 2]).reshape(len(others), -1)  # 5x faster than sum(-1)
    rank = int(0.99 * (per_pixel.shape[1] - 1))
    return np.partition(per_pixel, rank, axis=1)[:, rank] / 3.0
