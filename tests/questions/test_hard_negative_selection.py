from __future__ import annotations

import math

import numpy as np
import pytest

from spinebench.embeddings import SCALE, quantise
from spinebench.questions import (
    Aggregation,
    AggregationError,
    SimilarityError,
    class_similarities,
    cut_margins,
    distractor_hardness,
    rank_classes,
    select_hard_negatives,
    tie_breakers,
)
from spinebench.taxonomy import DISEASE_NAMES

# Similarities come from int16 vectors (scale 2048): within about 1e-3 of the float cosine.
QUANTUM = 2e-3


def _at(similarity: float, axis: int, dim: int = 6) -> np.ndarray:
    """A unit vector whose dot product with e0 is `similarity` (the rest goes on `axis`)."""
    vector = np.zeros(dim, dtype=np.float32)
    vector[0] = similarity
    vector[axis] = math.sqrt(1.0 - similarity**2)
    return vector


def _library(groups: list[list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vectors = [_at(s, 1 + (i % 5)) for g in groups for i, s in enumerate(g)]
    codes = [code for code, g in enumerate(groups) for _ in g]
    keys = np.arange(100, 100 + len(codes), dtype=np.int64)
    return quantise(np.stack(vectors)), np.asarray(codes, dtype=np.int64), keys


QUERY = quantise(np.eye(6, dtype=np.float32)[:1])
# Class 0: one near-duplicate, else far; class 1: uniformly fairly close; class 2: two close, rest far.
GROUPS = [[0.95, 0.0, 0.0, 0.0, 0.0], [0.6, 0.6, 0.6, 0.6, 0.6], [0.8, 0.7, 0.1, 0.1, 0.1]]


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [("max", [0.95, 0.6, 0.8]), ("mean", [0.19, 0.6, 0.36]), ("topk:2", [0.475, 0.6, 0.75])],
)
def test_aggregations_score_classes_as_documented(aggregation: str, expected: list[float]) -> None:
    library, codes, keys = _library(GROUPS)
    scores = class_similarities(
        QUERY, np.asarray([0]), library, codes, keys, 3, Aggregation.parse(aggregation)
    )
    np.testing.assert_allclose(scores[0], expected, atol=QUANTUM)


def test_aggregation_choice_changes_the_ranking() -> None:
    library, codes, keys = _library(GROUPS)
    exclude = np.zeros((1, 3), dtype=bool)
    first = {
        name: select_hard_negatives(
            QUERY, np.asarray([0]), exclude, library, codes, keys, Aggregation.parse(name), count=3
        ).ranked[0, 0]
        for name in ("max", "mean", "topk:2")
    }
    assert first == {"max": 0, "mean": 1, "topk:2": 2}


def test_topk_larger_than_a_class_uses_what_there_is() -> None:
    library, codes, keys = _library([[0.9, 0.3], [0.5]])
    scores = class_similarities(QUERY, np.asarray([0]), library, codes, keys, 2, Aggregation.parse("topk:5"))
    np.testing.assert_allclose(scores[0], [0.6, 0.5], atol=QUANTUM)


@pytest.mark.parametrize("aggregation", ["max", "mean", "topk:3"])
def test_the_query_itself_is_excluded_by_key(aggregation: str) -> None:
    library, codes, keys = _library([[1.0, 0.2, 0.2, 0.2], [0.5, 0.5, 0.5, 0.5]])
    itself = np.asarray([keys[0]])
    scores = class_similarities(QUERY, itself, library, codes, keys, 2, Aggregation.parse(aggregation))
    np.testing.assert_allclose(scores[0, 0], 0.2, atol=QUANTUM)
    stranger = class_similarities(QUERY, np.asarray([-1]), library, codes, keys, 2, Aggregation.parse("max"))
    np.testing.assert_allclose(stranger[0, 0], 1.0, atol=QUANTUM)


def test_a_class_holding_only_the_query_is_unscored() -> None:
    library, codes, keys = _library([[0.9], [0.5]])
    for aggregation in ("max", "mean", "topk:2"):
        scores = class_similarities(QUERY, keys[:1], library, codes, keys, 2, Aggregation.parse(aggregation))
        assert np.isnan(scores[0, 0]) and scores[0, 1] == pytest.approx(0.5, abs=QUANTUM)


def test_ranking_never_offers_an_excluded_class_and_puts_unscored_last() -> None:
    similarities = np.asarray([[0.9, np.nan, 0.1, 0.5, 0.7]])
    exclude = np.asarray([[True, False, False, False, False]])
    assert rank_classes(similarities, exclude, 4).tolist() == [[4, 3, 2, 1]]
    assert rank_classes(similarities, np.asarray([[True, True, True, True, False]]), 3).tolist() == [
        [4, -1, -1]
    ]


def test_blocks_give_the_same_answer_as_one_pass() -> None:
    """Exact integers: bit-identical for any block size, and equal to a plain int64 computation."""
    rng = np.random.default_rng(0)
    floats = rng.normal(size=(37, 16))
    queries = quantise(floats / np.linalg.norm(floats, axis=1, keepdims=True))
    library = queries[::2]
    codes = np.sort(rng.integers(0, 11, size=len(library)))
    keys = np.arange(0, 37, 2)
    dots = queries.astype(np.int64) @ library.astype(np.int64).T
    for aggregation in ("max", "mean", "topk:3"):
        parsed = Aggregation.parse(aggregation)
        whole = class_similarities(queries, np.arange(37), library, codes, keys, 11, parsed)
        for block in (1, 5, 7):
            blocked = class_similarities(
                queries, np.arange(37), library, codes, keys, 11, parsed, block=block
            )
            np.testing.assert_array_equal(whole, blocked)
        for row in range(37):
            for code in range(11):
                values = [dots[row, j] for j in range(len(library)) if codes[j] == code and keys[j] != row]
                if not values:
                    assert np.isnan(whole[row, code])
                    continue
                if aggregation == "max":
                    expected = max(values) / SCALE**2
                elif aggregation == "mean":
                    expected = sum(values) / len(values) / SCALE**2
                else:
                    top = sorted(values)[-3:]
                    expected = sum(top) / len(top) / SCALE**2
                assert whole[row, code] == expected, (aggregation, row, code)


def test_float_vectors_are_refused() -> None:
    with pytest.raises(TypeError, match="int16"):
        class_similarities(
            np.eye(3, dtype=np.float32), np.arange(3), QUERY, np.zeros(1, dtype=np.int64), np.arange(1), 1,
            Aggregation.parse("max"),
        )  # fmt: skip


def test_exact_ties_are_broken_by_the_keyed_hash_not_by_class_order() -> None:
    """Every class tied: which one is picked first follows the image's key, and over many images each
    class comes first about equally often (class order would always pick class 0)."""
    similarities = np.full((2000, 11), 0.5)
    exclude = np.zeros((2000, 11), dtype=bool)
    keys = np.arange(2000, dtype=np.uint64) * np.uint64(7919)
    ranked = rank_classes(similarities, exclude, 4, tie_keys=keys)
    firsts = np.bincount(ranked[:, 0], minlength=11)
    assert firsts.min() > 2000 / 11 * 0.6 and firsts.max() < 2000 / 11 * 1.4
    again = rank_classes(similarities[::-1], exclude, 4, tie_keys=keys[::-1])
    np.testing.assert_array_equal(ranked[::-1], again)  # a tie follows the image key, not the row
    assert tie_breakers(keys[:1], 11).shape == (1, 11)


def test_cut_margins_find_exact_and_near_ties() -> None:
    similarities = np.asarray(
        [[0.9, 0.8, 0.7, 0.7, 0.1], [0.9, 0.8, 0.7, 0.6995, 0.1], [0.9, 0.8, 0.7, 0.5, 0.1]]
    )
    exclude = np.zeros((3, 5), dtype=bool)
    ranked = rank_classes(similarities, exclude, 5)
    margins = cut_margins(similarities, ranked, np.asarray([3, 3, 3]))
    assert margins[0] == 0.0
    assert 0 < margins[1] < 1e-3
    assert margins[2] == pytest.approx(0.2)


def test_crafted_vectors_pick_the_visually_closest_diseases() -> None:
    """Cervical curvature classes sit together, MRI stenoses half-way to them, the rest apart: a cervical
    image gets the other cervical classes, then a stenosis, and never its own class."""
    rng = np.random.default_rng(1)
    eye = np.eye(32)
    cervical = [DISEASE_NAMES.index(n) for n in DISEASE_NAMES if "ervical" in n]
    stenosis = [DISEASE_NAMES.index(n) for n in DISEASE_NAMES if "stenosis" in n]

    def centre(code: int) -> np.ndarray:
        if code in cervical:
            return eye[0] + 0.05 * code * eye[20]
        if code in stenosis:
            return 0.6 * eye[0] + 0.8 * eye[1] + 0.05 * code * eye[21]
        return eye[2 + code]

    codes = np.repeat(np.arange(11), 20)
    library = np.stack([centre(c) + 0.03 * rng.normal(size=32) for c in codes])
    library /= np.linalg.norm(library, axis=1, keepdims=True)
    kyphosis = DISEASE_NAMES.index("Cervical kyphosis")
    query = quantise((centre(kyphosis) / np.linalg.norm(centre(kyphosis)))[None, :])
    exclude = np.zeros((1, 11), dtype=bool)
    exclude[0, kyphosis] = True
    picked = select_hard_negatives(
        query, np.asarray([-1]), exclude, quantise(library), codes, np.arange(len(codes)),
        Aggregation.parse("max"),
    ).ranked[0]  # fmt: skip
    assert set(picked[:3].tolist()) == set(cervical) - {kyphosis}
    assert picked[3] in stenosis
    assert kyphosis not in picked


def test_hardness_compares_chosen_with_the_expected_random_pick() -> None:
    similarities = np.asarray([[0.9, 0.8, 0.1, 0.0, np.nan]])
    exclude = np.asarray([[False, False, False, True, False]])
    hardness = distractor_hardness(similarities, exclude, np.asarray([[0, 1, -1]]))
    assert hardness.questions == 1
    assert hardness.chosen == pytest.approx(0.85)
    assert hardness.random == pytest.approx(0.6)
    assert hardness.difference == pytest.approx(0.25)


@pytest.mark.parametrize("text", ["", "median", "topk", "topk:0", "topk:x", "top:3"])
def test_bad_aggregation_is_a_clear_error(text: str) -> None:
    with pytest.raises(AggregationError, match="max, mean or topk:K"):
        Aggregation.parse(text)
    assert str(Aggregation.parse(" TopK:7 ")) == "topk:7"


def test_an_image_in_two_class_pools_is_excluded_from_both() -> None:
    library = quantise(np.stack([_at(0.99, 1), _at(0.3, 2), _at(0.99, 1), _at(0.4, 3)]))
    codes = np.asarray([0, 0, 1, 1])
    keys = np.asarray([7, 8, 7, 9])  # catalogue image 7 stands for classes 0 and 1
    for aggregation in ("max", "mean", "topk:1"):
        scores = class_similarities(
            QUERY, np.asarray([7]), library, codes, keys, 2, Aggregation.parse(aggregation)
        )
        np.testing.assert_allclose(scores[0], [0.3, 0.4], atol=QUANTUM)


def test_an_inexact_matrix_product_is_caught_by_the_int64_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """A BLAS that rounds (reduced precision) would change the scores; the run-time check refuses them."""
    import spinebench.questions._hard_negatives as module

    library, codes, keys = _library(GROUPS)
    original = module._max_or_topk

    def rounded(*args: object, **kwargs: object) -> np.ndarray:
        return original(*args, **kwargs) + 1.0  # type: ignore[arg-type]

    monkeypatch.setattr(module, "_max_or_topk", rounded)
    with pytest.raises(SimilarityError, match="not exact on this machine"):
        class_similarities(QUERY, np.asarray([0]), library, codes, keys, 3, Aggregation.parse("max"))
