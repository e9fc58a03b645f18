"""Chance lines: what an answerer that ignores the image scores in expectation, exactly from option counts."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import comb


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
