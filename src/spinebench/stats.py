"""Statistics behind the scores: clustered bootstrap intervals, paired tests, and chance lines.

Everything here takes plain numbers and arrays (no questions, no predictions), so the same computations serve
scores.json, the report, comparisons between runs and tests.

- Bootstrap: questions on the same image are not independent (an image has an SDD and an SLL question, and
  circular evaluation asks one question five times), so whole images are resampled with replacement, and a
  metric on a resample is the ratio of resampled sums (a mean over a random number of questions). Intervals
  are percentile intervals. All metrics of one run share the same resamples, so derived metrics (overall =
  mean of two accuracies) get intervals from the same draws.
- McNemar's test for two runs on the same single-answer questions: the exact two-sided binomial test on the
  discordant pairs (and its mid-p variant), computed with exact integer arithmetic; no scipy.
- Chance lines: what an answerer that ignores the image scores in expectation, computed exactly from the
  option counts of each question.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import comb
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Resamples are drawn in fixed-size blocks so that memory stays flat for large benchmarks (resamples ×
# images weights at once would be 320 MB for the full 40k-image set) and results do not depend on memory.
_BLOCK: Final = 100


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

    def describe(self) -> dict[str, object]:
        return {"resamples": self.resamples, "seed": self.seed, "level": self.level, "cluster": "image"}


@dataclass(frozen=True, slots=True)
class Interval:
    low: float
    high: float

    def rounded(self, digits: int = 6) -> list[float]:
        return [round(self.low, digits), round(self.high, digits)]


def _cluster_codes(keys: Iterable[str]) -> tuple[IntArray, int]:
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
    rng = np.random.default_rng(settings.seed)
    blocks: list[FloatArray] = []
    for start in range(0, settings.resamples, _BLOCK):
        size = min(_BLOCK, settings.resamples - start)
        # How many times each cluster is drawn, per resample: counts of C uniform draws from C clusters.
        draws = rng.integers(0, n_clusters, size=(size, n_clusters))
        offsets = (np.arange(size, dtype=np.int64) * n_clusters)[:, None]
        weights = np.bincount((draws + offsets).ravel(), minlength=size * n_clusters)
        weights = weights.reshape(size, n_clusters)
        weights = weights.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            blocks.append((weights @ numerators) / (weights @ denominators))
    return np.concatenate(blocks, axis=0)


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
    codes, n_clusters = _cluster_codes(str(c) for c in clusters)
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


@dataclass(frozen=True, slots=True)
class McNemarResult:
    """McNemar's test on paired right/wrong outcomes.

    `only_a`: questions A got right and B wrong; `only_b` the reverse. `p_exact` is the exact two-sided
    binomial p-value (the conventional exact McNemar test, conservative); `p_mid` its mid-p variant
    (closer to nominal size; Fagerland et al. 2013 recommend it).
    """

    only_a: int
    only_b: int
    p_exact: float
    p_mid: float


def mcnemar_test(
    a_correct: Sequence[bool] | npt.NDArray[np.bool_], b_correct: Sequence[bool] | npt.NDArray[np.bool_]
) -> McNemarResult:
    first = np.asarray(a_correct, dtype=bool)
    second = np.asarray(b_correct, dtype=bool)
    if first.shape != second.shape:
        raise ValueError("paired outcomes must have the same length")
    only_a = int(np.count_nonzero(first & ~second))
    only_b = int(np.count_nonzero(~first & second))
    p_exact, p_mid = binomial_two_sided(min(only_a, only_b), only_a + only_b)
    return McNemarResult(only_a, only_b, p_exact, p_mid)


class BinomialTest(NamedTuple):
    p_exact: float
    p_mid: float


def binomial_two_sided(k: int, n: int) -> BinomialTest:
    """Exact and mid-p two-sided p-values of k successes of n under p = 1/2 (k <= n / 2 is the small tail).

    Integer arithmetic throughout: the tail sum of binomial coefficients is exact, and the final division of
    two integers rounds once, so even 60k discordant pairs give a correct (possibly 0.0) p-value.
    """
    if n == 0:
        return BinomialTest(1.0, 1.0)
    k = min(k, n - k)
    term = 1  # comb(n, 0), then comb(n, i) by the recurrence, exactly
    tail = 0
    for i in range(k + 1):
        if i:
            term = term * (n - i + 1) // i
        tail += term
    total = 1 << n
    exact = min(1.0, 2 * tail / total)
    # Mid-p counts the observed outcome's probability once, not twice; k == n/2 is the centre (p = 1).
    mid = 1.0 if 2 * k == n else min(1.0, (2 * tail - term) / total)
    return BinomialTest(exact, mid)


# ---- chance lines ---------------------------------------------------------------------------------------


def random_choice_chance(options: int) -> float:
    """Accuracy of a uniform random pick among `options` for a single-answer question."""
    if options < 1:
        raise ValueError("a question needs at least one option")
    return 1 / options


def circular_chance(options: int, rotations: int) -> float:
    """Circular accuracy of a uniform random picker: right on every rotation, each independently."""
    return random_choice_chance(options) ** rotations


@dataclass(frozen=True, slots=True)
class SubsetChance:
    """Expected exact-set accuracy, precision, recall and F1 of a uniform random non-empty subset."""

    exact: float
    precision: float
    recall: float
    f1: float


@lru_cache(maxsize=256)
def random_subset_chance(options: int, true: int) -> SubsetChance:
    """Exact expectations for a uniform draw among the 2^n - 1 non-empty subsets of n options, t true.

    A subset of size s holding h true options (there are C(t, h) C(n - t, s - h) of them) scores precision
    h/s, recall h/t and F1 2h/(s + t); summing over all of them with exact fractions gives the expectations.
    """
    if not 1 <= true <= options:
        raise ValueError(f"need 1 <= true ({true}) <= options ({options})")
    subsets = (1 << options) - 1
    precision = recall = f1 = Fraction(0)
    for size in range(1, options + 1):
        for hits in range(max(0, size - (options - true)), min(size, true) + 1):
            count = comb(true, hits) * comb(options - true, size - hits)
            precision += Fraction(count * hits, size)
            recall += Fraction(count * hits, true)
            f1 += Fraction(2 * count * hits, size + true)
    return SubsetChance(
        exact=1 / subsets,
        precision=float(precision / subsets),
        recall=float(recall / subsets),
        f1=float(f1 / subsets),
    )
