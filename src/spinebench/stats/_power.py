"""Power: the smallest accuracy difference between two models that a benchmark detects.

For two models on the same n questions, the paired difference of accuracies has variance about
(delta - Delta^2) / n, delta being the discordance rate (the share of questions exactly one model gets right)
and Delta the true difference (Connor 1987, the power of McNemar's test). With clusters, n is the effective
size n / design effect. The minimum detectable difference (MDD) at level alpha and power 1 - beta is the
Delta where Phi((Delta sqrt(n) - z_{alpha/2} sqrt(delta)) / sqrt(delta - Delta^2)) = 1 - beta.

It depends on delta, which only a pair of runs shows: at the observed rate for a pair, and at typical rates
(20%, 40%) otherwise. More discordance, larger MDD.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Final

TYPICAL_DISCORDANCE: Final = (0.2, 0.4)
POWER: Final = 0.8
ALPHA: Final = 0.05


@dataclass(frozen=True, slots=True)
class DetectableDifference:
    """The MDD (a fraction; None when even a difference of `discordance` is not detectable)."""

    discordance: float
    questions: int
    design_effect: float
    difference: float | None
    alpha: float = ALPHA
    power: float = POWER

    @property
    def effective_questions(self) -> float:
        return self.questions / self.design_effect


def paired_power(difference: float, discordance: float, effective_n: float, alpha: float = ALPHA) -> float:
    """Power of the two-sided paired test at a true difference (normal approximation, Connor 1987)."""
    if not 0 <= abs(difference) <= discordance or effective_n <= 0:
        return math.nan
    normal = NormalDist()
    spread = math.sqrt(max(discordance - difference**2, 1e-15))
    critical = normal.inv_cdf(1 - alpha / 2) * math.sqrt(discordance)
    return normal.cdf((abs(difference) * math.sqrt(effective_n) - critical) / spread)


def minimum_detectable_difference(
    questions: int,
    discordance: float,
    *,
    design_effect: float = 1.0,
    alpha: float = ALPHA,
    power: float = POWER,
) -> DetectableDifference:
    """The smallest difference detected with `power` at `alpha`, on `questions` paired questions."""
    if not 0 < discordance <= 1:
        raise ValueError(f"discordance rate must be in (0, 1], not {discordance}")
    deff = max(1.0, design_effect)
    n = questions / deff
    found: float | None = None
    if questions > 0 and paired_power(discordance, discordance, n, alpha) >= power:
        low, high = 0.0, discordance
        for _ in range(60):  # power grows with the difference: bisection
            middle = (low + high) / 2
            if paired_power(middle, discordance, n, alpha) < power:
                low = middle
            else:
                high = middle
        found = high
    return DetectableDifference(discordance, questions, deff, found, alpha, power)
