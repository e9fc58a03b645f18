"""McNemar's test and the exact two-sided binomial test, in exact integer arithmetic (no scipy)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt


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
