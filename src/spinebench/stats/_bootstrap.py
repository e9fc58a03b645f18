"""Clustered bootstrap: resampling whole clusters (patients) with replacement, on shared resamples.

Questions of one patient are not independent (a study gives many images, an image has an SDD and an SLL
question, circular evaluation asks one question five times), so whole clusters are resampled with
replacement, and a metric on a resample is the ratio of resampled sums (a mean over a random number of
questions). Intervals are percentile intervals. All metrics of one run share the same resamples, so derived
metrics (overall = mean of two accuracies) get intervals from the same draws; so do the runs of one
leaderboard (rank intervals).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Resamples are drawn in blocks of at most this many weights (4 MB), so that memory stays flat for large
# benchmarks (1000 resamples x 65k clusters would be 520 MB). The block size depends on the cluster count
# alone, never on memory. The scores' intervals bootstrap counts (right answers, questions, confusion
# cells): integer sums are exact in any order, so the block size cannot change a bit (tests/stats check
# this); fractional values are summed one resample at a time (see bootstrap_ratios), for the same reason.
_BLOCK_WEIGHTS: Final = 1 << 19
_MAX_BLOCK_ROWS: Final = 100


@dataclass(frozen=True, slots=True)
class BootstrapSettings:
    """How intervals are computed; recorded in scores.json next to them."""

    resamples: int = 1000
    seed: int = 0
    level: float = 0.95

    def __post_init__(self) -> None:
        if self.resamples < 1:
            raise ValueError(f"bootstrap resamples must be at least 1, not {self.resamples}")
        if not 0 < self.level < 1:
            raise ValueError(f"confidence level must be between 0 and 1, not {self.level}")

    def describe(self, cluster: str = "patient") -> dict[str, object]:
        return {"resamples": self.resamples, "seed": self.seed, "level": self.level, "cluster": cluster}


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float

    def rounded(self, digits: int = 6) -> list[float]:
        return [round(self.low, digits), round(self.high, digits)]


def cluster_codes(keys: Iterable[str]) -> tuple[IntArray, int]:
    """Integer codes 0..C-1 for cluster keys (in order of first appearance), and C."""
    codes: dict[str, int] = {}
    array = np.fromiter((codes.setdefault(key, len(codes)) for key in keys), dtype=np.int64)
    return array, len(codes)


def cluster_sums(clusters: IntArray, values: FloatArray, n_clusters: int) -> FloatArray:
    return np.bincount(clusters, weights=values, minlength=n_clusters).astype(np.float64)


def bootstrap_ratios(
    numerators: FloatArray, denominators: FloatArray, settings: BootstrapSettings
) -> FloatArray:
    """Bootstrap distribution of ratio metrics from per-cluster sums.

    `numerators` and `denominators` are (clusters, columns): for a mean metric, the sum of the values and the
    number of questions of each cluster. Returns (resamples, columns); NaN where a resample holds no question
    of a column (a small group can vanish from a resample).
    """
    n_clusters, columns = numerators.shape
    if denominators.shape != numerators.shape:
        raise ValueError("numerators and denominators must have the same shape")
    if n_clusters == 0:
        return np.full((settings.resamples, columns), np.nan)
    # Sums of counts are exact whatever the order BLAS adds them in; fractional values (an SLL F1
    # difference) are summed one resample at a time, so that the block's shape cannot move a bit.
    exact = _integral(numerators) and _integral(denominators)
    blocks: list[FloatArray] = []
    for weights in resample_weights(n_clusters, settings):
        if exact:
            tops, bottoms = weights @ numerators, weights @ denominators
        else:
            tops = np.stack([row @ numerators for row in weights])
            bottoms = np.stack([row @ denominators for row in weights])
        with np.errstate(invalid="ignore", divide="ignore"):
            blocks.append(tops / bottoms)
    return np.concatenate(blocks, axis=0)


def _integral(values: FloatArray) -> bool:
    return bool(np.all(np.isfinite(values) & (values == np.rint(values))))


def resample_weights(n_clusters: int, settings: BootstrapSettings) -> Iterator[FloatArray]:
    """How many times each cluster is drawn, per resample, in blocks of (resamples, clusters).

    The same settings give the same draws, so metrics (and runs) computed from them share resamples. Each
    block is the same array refilled: use it before asking for the next.
    """
    rng = np.random.default_rng(settings.seed)
    rows = max(1, min(_MAX_BLOCK_ROWS, _BLOCK_WEIGHTS // max(1, n_clusters)))
    block = np.empty((min(rows, settings.resamples), n_clusters), dtype=np.float64)
    for start in range(0, settings.resamples, rows):
        size = min(rows, settings.resamples - start)
        # Counts of C uniform draws from C clusters, per resample. Drawn one resample at a time: the
        # generator gives the same stream as one (size, C) draw, and only the block of weights is held.
        for row in range(size):
            block[row] = np.bincount(rng.integers(0, n_clusters, size=n_clusters), minlength=n_clusters)
        yield block[:size]


def percentile_intervals(samples: FloatArray, level: float = 0.95) -> list[Interval | None]:
    """Percentile interval of each column of a bootstrap distribution (None: no finite draw)."""
    tail = 100 * (1 - level) / 2
    intervals: list[Interval | None] = []
    for column in samples.T:
        finite = column[np.isfinite(column)]
        if finite.size == 0:
            intervals.append(None)
            continue
        low, high = np.percentile(finite, [tail, 100 - tail])
        intervals.append(Interval(float(low), float(high)))
    return intervals


def bootstrap_ci(
    values: Sequence[float] | FloatArray,
    clusters: Sequence[str] | Sequence[int] | IntArray,
    settings: BootstrapSettings | None = None,
) -> Interval | None:
    """Interval for the mean of `values`, resampling whole clusters (e.g. images) with replacement."""
    settings = settings or BootstrapSettings()
    data = np.asarray(values, dtype=np.float64)
    codes, n_clusters = cluster_codes(str(c) for c in clusters)
    if data.shape != codes.shape:
        raise ValueError("values and clusters must have the same length")
    numerators = cluster_sums(codes, data, n_clusters)[:, None]
    denominators = cluster_sums(codes, np.ones_like(data), n_clusters)[:, None]
    return percentile_intervals(bootstrap_ratios(numerators, denominators, settings), settings.level)[0]


@dataclass(frozen=True, slots=True)
class PairedDifference:
    """Mean of run A minus mean of run B on the questions both scored, with a clustered bootstrap interval."""

    n: int
    mean_a: float
    mean_b: float
    difference: float
    ci: Interval | None


def paired_difference(
    a: Sequence[float] | FloatArray,
    b: Sequence[float] | FloatArray,
    clusters: Sequence[str] | Sequence[int] | IntArray,
    settings: BootstrapSettings | None = None,
) -> PairedDifference:
    """Difference of two runs on the same questions; pairs stay together and images are resampled whole."""
    first = np.asarray(a, dtype=np.float64)
    second = np.asarray(b, dtype=np.float64)
    if first.shape != second.shape:
        raise ValueError("paired values must have the same length")
    if first.size == 0:
        return PairedDifference(0, float("nan"), float("nan"), float("nan"), None)
    ci = bootstrap_ci(first - second, clusters, settings)
    mean_a, mean_b = float(first.mean()), float(second.mean())
    return PairedDifference(int(first.size), mean_a, mean_b, mean_a - mean_b, ci)
