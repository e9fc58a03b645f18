"""Paired tests of two runs on the same clustered questions.

Plain McNemar treats every question as independent; when a patient gives many questions its p-value is too
small and disagrees with a clustered interval. Two tests that respect clusters, both on the per-cluster sums
d_k of the per-question differences (A minus B; for right/wrong outcomes, d_k = b_k - c_k, the cluster's
"only A right" minus "only B right" counts):

- Cluster sign-flip (randomisation) test: under "no difference", A and B are exchangeable within a cluster,
  so each d_k is as likely to be -d_k. The p-value is the share of sign flips whose |sum| reaches the
  observed one: exact enumeration up to 16 clusters with a nonzero sum, otherwise seeded Monte Carlo
  (with the observed arrangement counted, so p is never 0).
- Clustered McNemar (Obuchowski 1998; in this form Durkalski et al. 2003): X^2 = (sum d_k)^2 / sum d_k^2 on
  one degree of freedom, referred to the normal distribution; with one question per cluster it is McNemar's
  statistic (b - c)^2 / (b + c).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_EXACT_UP_TO: Final = 16
_FLIPS: Final = 10_000
_BLOCK: Final = 1000


@dataclass(frozen=True, slots=True)
class PairedTest:
    """p-values of the two clustered paired tests; `informative_clusters` have a nonzero difference."""

    difference: float
    clusters: int
    informative_clusters: int
    p_sign_flip: float
    p_clustered_mcnemar: float
    sign_flip_exact: bool


def paired_cluster_test(cluster_differences: FloatArray, questions: int, *, seed: int = 0) -> PairedTest:
    """Both tests from the per-cluster sums of A - B (over `questions` paired questions)."""
    d = np.asarray(cluster_differences, dtype=np.float64)
    observed = float(d.sum())
    nonzero = d[np.abs(d) > 1e-12]
    difference = observed / questions if questions else math.nan
    if nonzero.size == 0:
        return PairedTest(difference, int(d.size), 0, 1.0, 1.0, True)
    squares = float(nonzero @ nonzero)
    z = abs(observed) / math.sqrt(squares)
    p_mcnemar = min(1.0, 2 * (1 - NormalDist().cdf(z)))
    p_flip, exact = _sign_flip(nonzero, abs(observed), seed)
    return PairedTest(difference, int(d.size), int(nonzero.size), p_flip, p_mcnemar, exact)


def _sign_flip(d: FloatArray, observed: float, seed: int) -> tuple[float, bool]:
    # A small tolerance so that equal sums computed in another order still count as reaching the observed.
    reach = observed - 1e-9 * max(1.0, observed)
    if d.size <= _EXACT_UP_TO:
        signs = ((np.arange(1 << d.size)[:, None] >> np.arange(d.size)) & 1) * 2 - 1
        sums = np.abs(signs @ d)
        return float(np.mean(sums >= reach)), True
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, _FLIPS, _BLOCK):
        size = min(_BLOCK, _FLIPS - start)
        signs = rng.integers(0, 2, size=(size, d.size)) * 2 - 1
        hits += int(np.count_nonzero(np.abs(signs @ d) >= reach))
    return (hits + 1) / (_FLIPS + 1), False
