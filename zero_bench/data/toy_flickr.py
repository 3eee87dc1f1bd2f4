"""Toy Flickr30k-CNA's own register: captions worded like translated photo descriptions, with other words for the
shapes, sizes, places and backgrounds than the pre-training corpus uses (the colours and tones are shared).

The real Flickr30k-CNA differs from the Zero corpus in the same way (human-written descriptions of photographs
against web titles and search queries), and that gap is what fine-tuning on it teaches; with the corpus's own
phrasing the toy set had nothing left to teach (TRAINING.md, "Fine-tuning on the toy").
"""

from __future__ import annotations

from zero_bench.data.toy import NUMERALS, POSITIONS, SHAPES, SIZES, Obj, Scene

SHAPE_WORDS = dict(zip(SHAPES, ("圆盘", "方块", "三角块", "五角星", "菱块", "六角块", "十字块"), strict=True))
SIZE_WORDS = dict(zip(SIZES, ("较大", "很小"), strict=True))
PLACE_WORDS = dict(
    zip(
        POSITIONS,
        ("左上角", "顶部中央", "右上角", "左边", "正中央", "右边", "左下角", "底部中央", "右下角"),
        strict=True,
    )
)
BACKGROUND_WORDS = {"solid": "单一", "gradient": "由深到浅", "noise": "带颗粒"}


def _thing(o: Obj) -> str:
    return f"{SIZE_WORDS[o.size]}的{o.color}{SHAPE_WORDS[o.shape]}"


def _place(o: Obj) -> str:
    return PLACE_WORDS[POSITIONS[o.position]]


def flickr_caption(scene: Scene, variant: int = 0) -> str:
    """One of five toy Flickr30k-CNA captions of ``scene`` (``variant`` 0..4)."""
    ground = f"{BACKGROUND_WORDS[scene.bg]}的{scene.tone}底色"
    objs = list(scene.objects)
    if variant == 0:
        return "照片里，" + "，".join(f"{_place(o)}摆着一块{_thing(o)}" for o in objs) + f"，衬着{ground}"
    if variant == 1:
        return f"一组积木放在{ground}上：" + "、".join(f"{_thing(o)}在{_place(o)}" for o in objs)
    if variant == 2:
        return f"{NUMERALS[len(objs)]}块积木，" + "，".join(f"{_thing(o)}靠近{_place(o)}" for o in objs)
    if variant == 3:
        return f"{ground}的画面上，" + "；".join(f"{_place(o)}能看见{_thing(o)}" for o in reversed(objs))
    return "有人拍下了" + "和".join(f"{_place(o)}的{_thing(o)}" for o in objs) + f"，背后是{ground}"
