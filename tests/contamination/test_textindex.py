"""The exact near-text index returns what a comparison with every evaluation text returns: no near duplicate missed,
none beyond the threshold."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from zero_bench.contamination.normalise import jaccard, shingles
from zero_bench.contamination.textindex import JaccardIndex, prefix_length

# few distinct n-grams, so that random sets overlap a lot and land on both sides of the threshold
grams = st.frozensets(st.sampled_from([f"g{k}" for k in range(14)]), min_size=1, max_size=12)


def brute_force(sets: list[frozenset[str]], query: frozenset[str], threshold: float) -> list[tuple[int, float]]:
    return [(i, jaccard(query, s)) for i, s in enumerate(sets) if jaccard(query, s) >= threshold]


@settings(max_examples=300, deadline=None)
@given(st.lists(grams, min_size=1, max_size=25), grams, st.sampled_from([0.5, 0.75, 0.8, 0.9, 1.0]))
def test_query_equals_brute_force(sets: list[frozenset[str]], query: frozenset[str], threshold: float) -> None:
    index = JaccardIndex(sets, list(range(len(sets))), threshold)
    assert index.query(query) == brute_force(sets, query, threshold)


@settings(max_examples=100, deadline=None)
@given(st.lists(grams, min_size=1, max_size=25), st.integers(0, 24))
def test_near_copies_of_indexed_sets_are_found(sets: list[frozenset[str]], which: int) -> None:
    """A query one n-gram away from an indexed set (as the planted text edits are) finds it when within 0.8."""
    target = sets[which % len(sets)]
    query = target | {"new"}
    index = JaccardIndex(sets, list(range(len(sets))), 0.8)
    if jaccard(query, target) >= 0.8:
        assert which % len(sets) in dict(index.query(query))


def test_real_captions_and_ids() -> None:
    captions = [
        "一只红色的圆形在灰色背景的左上角",
        "两个蓝色的三角形在白色背景的中间",
        "一只红色的圆形在灰色背景的左下角",
    ]
    sets = [frozenset(shingles(c, 3)) for c in captions]
    index = JaccardIndex(sets, [7, 8, 9], 0.75)
    query = frozenset(shingles("一只红色的圆形在灰色背景的左上角。", 3))  # the punctuation is normalised away elsewhere
    assert [i for i, _ in index.query(query)] == [7]
    assert index.query(frozenset(shingles("完全无关的一句话", 3))) == []
    assert len(index) == 3


def test_prefix_length() -> None:
    # at 0.9 a 30-gram text is indexed under its 4 rarest n-grams; at 1.0 under 1; a 1-gram set under itself
    assert prefix_length(30, 0.9) == 4
    assert prefix_length(30, 1.0) == 1
    assert prefix_length(1, 0.9) == 1


def test_thresholds_of_a_report_from_before_the_exact_index_still_read() -> None:
    from zero_bench.contamination.thresholds import Thresholds

    old = Thresholds().as_dict() | {"num_perm": 64}  # what reports recorded while texts went through MinHash LSH
    assert Thresholds.from_dict(old) == Thresholds()
