"""Intervals for a mean of values in [0, 1] (an accuracy, a rate) over clustered questions.

The rule, for a cell of N questions in C clusters with mean p and per-cluster sums y_c over m_c questions:

- The clustered variance of p (the ratio estimator's linearised variance) is
  v = C / (C - 1) * sum_c (y_c - p m_c)^2 / N^2.
- The design effect is v against the variance of N independent questions, p (1 - p) / N, floored at 1: a
  cell is never treated as more informative than its question count (a zero-variance cell, all right or all
  wrong, has no estimate of it and keeps 1).
- The effective size is n = N / design effect, and the interval is Wilson's score interval at n, with the
  critical value of Student's t on C - 1 degrees of freedom (the variance is estimated from C clusters).
- When the right (or the wrong) answers sit in at most one cluster, the clusters cannot show how strongly
  outcomes are shared within a cluster; the effective size is then at most the number of clusters.
- Near 0 and 1 Wilson's interval is known to undercover (Brown, Cai & DasGupta 2001): when n p (or n (1 - p))
  is at most 2 (n <= 50) or 3, the bound nearest the edge is the one-sided Poisson bound instead, their
  "modified Wilson" interval.

Unlike a percentile bootstrap, this never gives a zero-width interval for a cell that is all right or all
wrong, and its coverage holds for small cells and extreme accuracies: tests/stats simulates a grid of
accuracies, cluster sizes, correlations and cell sizes (docs/statistics.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

WILSON_CLUSTER: Final = "wilson-cluster"
# Cells with fewer clusters than this are flagged: their design effect rests on few clusters.
FEW_CLUSTERS: Final = 30
_MINORITY: Final = 1


def normal_quantile(probability: float) -> float:
    return NormalDist().inv_cdf(probability)


def t_quantile(probability: float, df: float) -> float:
    """Student's t quantile: exact for 1 and 2 degrees of freedom, Cornish-Fisher (to 1/df^4) above.

    The expansion is within 0.3% of the exact quantile at 3 degrees of freedom for the 95% and 99% levels
    and closer beyond; no scipy needed.
    """
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, not {df}")
    if df == 1:
        return math.tan(math.pi * (probability - 0.5))
    if df == 2:
        return (2 * probability - 1) / math.sqrt(2 * probability * (1 - probability))
    z = normal_quantile(probability)
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def _poisson_lower(successes: FloatArray, alpha: float) -> FloatArray:
    """Lower one-sided bound of a Poisson mean after x = 1, 2 or 3 events: P(X >= x | lam) = alpha."""
    out = np.empty_like(successes)
    for x in (1, 2, 3):
        # Solve by bisection once per x: 1 - sum_{j<x} e^-lam lam^j / j! = alpha.
        low, high = 0.0, 10.0
        for _ in range(60):
            lam = (low + high) / 2
            tail = 1 - sum(math.exp(-lam) * lam**j / math.factorial(j) for j in range(x))
            low, high = (lam, high) if tail < alpha else (low, lam)
        out[successes == x] = (low + high) / 2
    return out


@dataclass(frozen=True, slots=True)
class ClusteredProportion:
    """Interval ends, design effect and effective size of cells (arrays of one shape)."""

    low: FloatArray
    high: FloatArray
    design_effect: FloatArray
    effective_n: FloatArray


def wilson_cluster(
    mean: FloatArray,
    questions: FloatArray,
    variance: FloatArray,
    clusters: FloatArray,
    level: float = 0.95,
    *,
    minority_clusters: FloatArray | None = None,
) -> ClusteredProportion:
    """The module's interval for cells given their mean, question count, clustered variance of the mean
    and cluster count (arrays, element-wise; NaN where a cell has no question).

    `minority_clusters`: per cell, how many clusters hold a right answer or how many hold a wrong one,
    whichever is fewer (see `minority_clusters`); without it, 0 where the mean is 0 or 1.
    """
    p = np.clip(np.asarray(mean, dtype=np.float64), 0.0, 1.0)
    n_questions = np.asarray(questions, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        binomial = p * (1 - p) / n_questions
        ratio = np.where(binomial > 0, np.asarray(variance, dtype=np.float64) / binomial, 1.0)
    deff = np.maximum(1.0, np.nan_to_num(ratio, nan=1.0))
    n_clusters = np.asarray(clusters, dtype=np.float64)
    if minority_clusters is None:
        minority = np.where((p == 0) | (p == 1), 0.0, np.inf)
    else:
        minority = np.asarray(minority_clusters, dtype=np.float64)
    # When the right (or the wrong) answers sit in at most one cluster, the clusters say next to nothing
    # about the within-cluster correlation, and rare outcomes may well be shared within a cluster: count
    # each cluster once (the fully correlated case) rather than trust a design effect estimated from them.
    edge = (minority <= _MINORITY) & (n_clusters > 0)
    deff = np.where(edge, np.maximum(deff, n_questions / np.maximum(n_clusters, 1)), deff)
    n = n_questions / deff
    df = np.maximum(1.0, n_clusters - 1)
    tail = (1 + level) / 2
    unique, where = np.unique(df, return_inverse=True)
    z = np.asarray([t_quantile(tail, float(d)) for d in unique], dtype=np.float64)[where].reshape(df.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        z2n = z**2 / n
        centre = (p + z2n / 2) / (1 + z2n)
        half = z / (1 + z2n) * np.sqrt(p * (1 - p) / n + z2n / (4 * n))
        low = np.maximum(0.0, centre - half)
        high = np.minimum(1.0, centre + half)
        # Brown, Cai & DasGupta's modification near the edges, on the effective count.
        limit = np.where(n <= 50, 2, 3)
        alpha = 1 - level
        for successes, side in ((p * n, "low"), ((1 - p) * n, "high")):
            count = np.rint(successes)
            near = (count >= 1) & (count <= limit)
            if near.any():
                bound = _poisson_lower(np.where(near, count, 0.0), alpha) / n
                if side == "low":
                    low = np.where(near, np.minimum(low, bound), low)
                else:
                    high = np.where(near, np.maximum(high, 1 - bound), high)
    return ClusteredProportion(low, high, deff, n)


def minority_clusters(sums: FloatArray, counts: FloatArray, axis: int = 0) -> FloatArray:
    """Clusters holding a right answer, or holding a wrong one, whichever is fewer (per cell along axis)."""
    present = counts > 0
    right = ((sums > 1e-12) & present).sum(axis=axis)
    wrong = ((sums < counts - 1e-12) & present).sum(axis=axis)
    return np.asarray(np.minimum(right, wrong), dtype=np.float64)


def cluster_variance(sums: FloatArray, counts: FloatArray) -> tuple[float, float, float, int]:
    """(mean, clustered variance of the mean, questions, clusters) from per-cluster sums and counts."""
    present = counts > 0
    y, m = sums[present], counts[present]
    total, n_clusters = float(m.sum()), int(present.sum())
    if n_clusters == 0:
        return math.nan, math.nan, 0.0, 0
    mean = float(y.sum()) / total
    if n_clusters == 1:
        return mean, math.nan, total, 1
    residual = y - mean * m
    variance = n_clusters / (n_clusters - 1) * float(residual @ residual) / total**2
    return mean, variance, total, n_clusters
