"""zero-toy's pre-training corpus: near-duplicate families that share a source page and differ in one attribute."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest

from zero_bench.data.toy import (
    FAMILY_KINDS,
    Family,
    _rng,
    caption,
    corpus_families,
    corpus_rows,
    keywords,
    query,
    random_scene,
)

N = 600


@pytest.fixture(scope="module")
def families() -> list[Family]:
    return list(corpus_families(3, N, family_share=0.5))


def _differs_only_in(a, b, kind: str, varied: int) -> bool:
    if (a.tone, a.bg, a.side, a.noise_seed) != (b.tone, b.bg, b.side, b.noise_seed):
        return False
    if kind == "count":  # one is the other's first objects
        short, long_ = sorted((a, b), key=lambda s: len(s.objects))
        return (
            len(short.objects) < len(long_.objects)
            and long_.objects[: len(short.objects)] == short.objects
            and long_.jitter[: len(short.jitter)] == short.jitter
        )
    if a.jitter != b.jitter or len(a.objects) != len(b.objects):
        return False
    changed = [k for k, (x, y) in enumerate(zip(a.objects, b.objects, strict=True)) if x != y]
    if changed != [varied]:
        return False
    x, y = a.objects[varied], b.objects[varied]
    return [f for f in ("shape", "color", "size", "position") if getattr(x, f) != getattr(y, f)] == [kind]


def test_members_of_a_family_differ_in_exactly_the_declared_attribute(families):
    kinds = collections.Counter(f.kind for f in families)
    assert set(kinds) == set(FAMILY_KINDS) | {"independent"}
    for fam in families:
        if fam.kind == "independent":
            assert len(fam.scenes) == 1
            continue
        assert len(fam.scenes) >= 2 or fam is families[-1]  # only the last family may be cut short
        for a, b in itertools.combinations(fam.scenes, 2):
            assert _differs_only_in(a, b, fam.kind, fam.varied), (fam.kind, a, b)
    assert sum(len(f.scenes) for f in families) == N
    assert max(len(f.scenes) for f in families) == 4


def test_family_share_sets_the_share_of_family_rows():
    for share in (0.25, 0.5, 0.75):
        fams = list(corpus_families(5, 4000, family_share=share))
        rows = sum(len(f.scenes) for f in fams if f.kind != "independent")
        assert rows / 4000 == pytest.approx(share, abs=0.05)
    with pytest.raises(ValueError, match="family_share"):
        next(corpus_families(0, 10, family_share=1.5))


def test_no_families_is_the_iid_corpus_of_earlier_versions():
    rng = _rng(4, "corpus")
    earlier = []
    for _ in range(30):  # the generator before families: one scene and one caption variant per row
        scene = random_scene(rng, (64, 96))
        earlier.append((scene, int(rng.integers(5))))
    fams = list(corpus_families(4, 30, family_share=0.0))
    assert [(f.scenes[0], f.variant) for f in fams] == earlier
    assert [f.page for f in fams] == list(range(30))


def test_members_share_their_page_and_name_their_own_scene(families):
    rows = list(corpus_rows(3, 120, family_share=0.5))
    by_url = collections.defaultdict(list)
    for row in rows:
        by_url[row["url"]].append(row)
    fams = list(corpus_families(3, 120, family_share=0.5))
    assert len(by_url) == len(fams)
    assert len({r["key"] for r in rows}) == len({r["image_url"] for r in rows}) == 120
    k = 0
    for fam in fams:
        members = by_url[f"http://zero-toy.invalid/page/{fam.page}"]
        assert len(members) == len(fam.scenes)
        for scene, row in zip(fam.scenes, members, strict=True):
            assert row is rows[k]
            assert row["title"] == caption(scene, fam.variant)
            assert row["content"] == caption(scene, (fam.variant + 1) % 5)
            assert (row["query"], row["keywords"]) == (query(scene), keywords(scene))
            assert row["width"] == row["height"] == scene.side
            k += 1
        if fam.kind in ("shape", "color"):  # each member's query names its own varied attribute
            assert len({r["query"] for r in members}) == len(members)


def test_same_seed_same_rows_other_seed_other_rows():
    a = list(corpus_rows(11, 40))
    b = list(corpus_rows(11, 40))
    c = list(corpus_rows(12, 40))
    assert a == b  # image bytes included
    assert [r["image"] for r in a] != [r["image"] for r in c]
    assert [r["url"] for r in a] != [r["url"] for r in c] or [r["query"] for r in a] != [r["query"] for r in c]


def test_same_seed_same_corpus_files(tmp_path):
    from zero_bench.data.toy import ToySizes, generate_zero_toy, toy_corpus_dir

    sizes = ToySizes(corpus=48)
    shards = []
    for name in ("a", "b"):
        generate_zero_toy(root=tmp_path / name, seed=2, sizes=sizes, tasks=False, shard_rows=20)
        folder = toy_corpus_dir(tmp_path / name)
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")
        shards.append({str(p.relative_to(folder)): p.read_bytes() for p in files})
    assert shards[0] == shards[1] and len(shards[0]) >= 3
    import json

    manifest = json.loads((toy_corpus_dir(tmp_path / "a") / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generator"]["family_share"] == 0.5
    assert manifest["generator"]["seed"] == 2


def test_shape_families_vary_shape_over_distinct_values(families):
    shape = [f for f in families if f.kind == "shape" and len(f.scenes) == 4]
    assert shape
    for fam in shape:
        assert len({s.objects[fam.varied].shape for s in fam.scenes}) == 4
        assert {s.objects[fam.varied].size for s in fam.scenes} == {"大"}  # an outline the model can see
    assert np.mean([len(f.scenes[0].objects) for f in shape]) > 1  # shapes vary inside multi-object scenes too
