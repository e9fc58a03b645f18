"""The bootstrap draws resamples in blocks sized by the cluster count; intervals of counts come out exact."""

from __future__ import annotations

import numpy as np
import pytest

from spinebench.stats import BootstrapSettings, _bootstrap, bootstrap_ratios, resample_weights


def _counts(n_clusters: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    questions = rng.integers(1, 6, size=(n_clusters, 3)).astype(np.float64)
    right = np.floor(questions * rng.random((n_clusters, 3)))
    return right, questions


def test_the_draws_are_the_same_stream_whatever_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = BootstrapSettings(resamples=37, seed=5)
    whole = np.concatenate([block.copy() for block in resample_weights(50, settings)])
    monkeypatch.setattr(_bootstrap, "_BLOCK_WEIGHTS", 50 * 4)  # 4 resamples per block
    blocks = [block.copy() for block in resample_weights(50, settings)]
    assert [len(b) for b in blocks] == [4] * 9 + [1]
    assert np.array_equal(np.concatenate(blocks), whole)
    assert whole.sum(axis=1).tolist() == [50.0] * 37  # each resample draws as many clusters as there are


def test_intervals_of_counts_do_not_depend_on_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    right, questions = _counts(3000)
    settings = BootstrapSettings(resamples=250, seed=1)
    monkeypatch.setattr(_bootstrap, "_BLOCK_WEIGHTS", 3000 * 100)
    reference = bootstrap_ratios(right, questions, settings)
    for rows in (1, 7, 64):
        monkeypatch.setattr(_bootstrap, "_BLOCK_WEIGHTS", 3000 * rows)
        assert np.array_equal(bootstrap_ratios(right, questions, settings), reference)


def test_a_large_benchmark_holds_one_small_block_of_weights() -> None:
    settings = BootstrapSettings(resamples=1000)
    blocks = resample_weights(65_000, settings)
    first = next(blocks)
    assert first.nbytes <= 8 * _bootstrap._BLOCK_WEIGHTS
    assert next(blocks).base is first.base  # refilled in place, not a new array per block


def test_intervals_of_fractional_values_do_not_depend_on_the_block_size(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(8)
    differences = rng.choice([-1.0, -2 / 3, -0.5, 0.0, 1 / 3, 0.4, 1.0], size=(6000, 1))
    questions = np.ones((6000, 1))
    settings = BootstrapSettings(resamples=120, seed=2)
    monkeypatch.setattr(_bootstrap, "_BLOCK_WEIGHTS", 6000 * 100)
    reference = bootstrap_ratios(differences, questions, settings)
    for rows in (1, 13):
        monkeypatch.setattr(_bootstrap, "_BLOCK_WEIGHTS", 6000 * rows)
        assert np.array_equal(bootstrap_ratios(differences, questions, settings), reference)
