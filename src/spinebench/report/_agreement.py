"""Krippendorff's alpha: agreement among raters who need not rate every unit.

Computed from the coincidence matrix (Krippendorff, "Computing Krippendorff's alpha-reliability", 2011):
a unit rated by m >= 2 raters adds each ordered pair of its values with weight 1/(m-1); units rated once
carry no information about agreement and are left out. alpha = 1 - D_o / D_e, where D_o is the observed and
D_e the expected disagreement under the metric's squared distance. For ordinal data the distance between
two values counts how many pairable values lie between them, so a 1-vs-5 disagreement weighs more than a
1-vs-3 one, without treating the scale as equally spaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from spinebench.stats import BootstrapSettings, FloatArray, Interval, percentile_intervals

Level = Literal["nominal", "ordinal", "interval"]
Unit = Sequence[float | None]  # one value per rater; None where that rater did not rate the unit


def krippendorff_alpha(units: Sequence[Unit], level: Level = "ordinal") -> float | None:
    """Alpha over `units` (None where there are fewer than two pairable values or no variation at all)."""
    pairable = [[v for v in unit if v is not None] for unit in units]
    pairable = [values for values in pairable if len(values) >= 2]
    if not pairable:
        return None
    categories = sorted({v for values in pairable for v in values})
    index = {value: i for i, value in enumerate(categories)}
    size = len(categories)
    coincidences = np.zeros((size, size))
    for values in pairable:
        counts = np.zeros(size)
        for value in values:
            counts[index[value]] += 1
        # Ordered pairs of different raters: n_c * n_k, minus each value paired with itself on the diagonal.
        coincidences += (np.outer(counts, counts) - np.diag(counts)) / (len(values) - 1)
    totals = coincidences.sum(axis=1)
    n = totals.sum()
    distance = _squared_distance(np.array(categories, dtype=np.float64), totals, level)
    observed = float((coincidences * distance).sum())
    expected = float((np.outer(totals, totals) * distance).sum()) / float(n - 1)
    if expected == 0:
        return None
    return float(1.0 - observed / expected)


def _squared_distance(values: FloatArray, totals: FloatArray, level: Level) -> FloatArray:
    size = len(values)
    if level == "nominal":
        return np.asarray(1.0 - np.eye(size), dtype=np.float64)
    if level == "interval":
        return np.asarray(np.subtract.outer(values, values) ** 2, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(totals)])
    distance = np.zeros((size, size))
    for c in range(size):
        for k in range(size):
            low, high = min(c, k), max(c, k)
            between = cumulative[high + 1] - cumulative[low]  # n_low + ... + n_high
            distance[c, k] = (between - (totals[c] + totals[k]) / 2) ** 2
    return distance


def alpha_interval(
    units: Sequence[Unit], level: Level = "ordinal", settings: BootstrapSettings | None = None
) -> Interval | None:
    """Percentile interval of alpha over resamples of whole units (a trace is the unit of resampling)."""
    settings = settings or BootstrapSettings()
    if len(units) < 2:
        return None
    rng = np.random.default_rng(settings.seed)
    draws = np.full((settings.resamples, 1), np.nan)
    for r in range(settings.resamples):
        picked = rng.integers(0, len(units), size=len(units))
        value = krippendorff_alpha([units[i] for i in picked], level)
        if value is not None:
            draws[r, 0] = value
    return percentile_intervals(draws, settings.level)[0]
