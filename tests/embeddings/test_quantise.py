from __future__ import annotations

import numpy as np
import pytest

from spinebench.embeddings import (
    EXACT_FLOAT32,
    SCALE,
    QuantisationError,
    check_exact_range,
    dequantise,
    quantise,
)


def _unit(rows: int, dim: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_quantised_dot_products_are_exact_in_float32_in_any_order() -> None:
    vectors = quantise(_unit(300, 1280))
    assert vectors.dtype == np.int16 and np.abs(vectors).max() <= SCALE
    exact = vectors.astype(np.int64) @ vectors.astype(np.int64).T
    as_float = vectors.astype(np.float32)
    np.testing.assert_array_equal(as_float @ as_float.T, exact)
    reversed_terms = as_float[:, ::-1] @ as_float[:, ::-1].T  # another summation order, same integers
    np.testing.assert_array_equal(reversed_terms, exact)
    assert int((vectors.astype(np.int64) ** 2).sum(axis=1).max()) < EXACT_FLOAT32 // 3


def test_quantising_matches_float64_rounding_and_dequantises_exactly() -> None:
    floats = _unit(50, 64, seed=1)
    vectors = quantise(floats)
    np.testing.assert_array_equal(vectors, np.rint(floats.astype(np.float64) * SCALE).astype(np.int16))
    back = dequantise(vectors)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(quantise(back), vectors)
    np.testing.assert_allclose(back, floats, atol=0.5 / SCALE + 1e-7)


@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        (np.full((1, 4), np.nan), "NaN"),
        (np.full((1, 4), 20.0), "exceeds 1"),
        (np.ones(4), "2-d"),
    ],
)
def test_vectors_that_cannot_stay_exact_are_refused(vectors: np.ndarray, message: str) -> None:
    with pytest.raises(QuantisationError, match=message):
        quantise(vectors)


def test_a_vector_too_long_for_exact_float32_sums_is_refused() -> None:
    too_long = np.full((1, 4096), 64, dtype=np.int16)  # squared length 4096 * 64² = 2^24
    with pytest.raises(QuantisationError, match="2\\^24"):
        check_exact_range(too_long)
    check_exact_range(np.full((1, 4096), 32, dtype=np.int16))  # a quarter of it passes
