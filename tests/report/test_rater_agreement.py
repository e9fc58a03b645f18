"""Krippendorff's alpha on worked examples."""

from __future__ import annotations

import pytest

from spinebench.report import alpha_interval, krippendorff_alpha
from spinebench.stats import BootstrapSettings

N = None
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the worked example with missing values:
# 4 observers, 12 units; his published results: nominal 0.743, ordinal 0.815, interval 0.849.
OBSERVERS = (
    (1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N),
    (1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3),
    (N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N),
    (1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N),
)
UNITS = list(zip(*OBSERVERS, strict=True))


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorffs_worked_example(level: str, published: float) -> None:
    alpha = krippendorff_alpha(UNITS, level)  # type: ignore[arg-type]
    assert alpha is not None and round(alpha, 3) == published


def test_small_example_worked_by_hand() -> None:
    # Units (1,1), (3,3), (1,3) and a unit rated once (carries no pairs). Coincidences: o11 = 2, o33 = 2,
    # o13 = o31 = 1; n1 = n3 = 3, n = 6. Ordinal distance d(1,3)^2 = (n1 + n3 - (n1 + n3)/2)^2 = 9.
    # alpha = 1 - (n - 1) * sum(o * d) / sum(n_c * n_k * d) = 1 - 5 * (2 * 9) / (2 * 3 * 3 * 9) = 4/9.
    units = [(1, 1), (3, 3), (1, 3), (5, None)]
    assert krippendorff_alpha(units, "ordinal") == pytest.approx(4 / 9)
    assert krippendorff_alpha(units, "nominal") == pytest.approx(4 / 9)  # two values: every metric agrees


def test_ordinal_weighs_far_disagreements_more() -> None:
    near = [(1, 1), (3, 3), (5, 5), (1, 3), (3, 5)]
    far = [(1, 1), (3, 3), (5, 5), (1, 5), (3, 5)]
    a, b = krippendorff_alpha(near), krippendorff_alpha(far)
    assert a is not None and b is not None and a > b


def test_perfect_agreement_no_variation_and_no_pairs() -> None:
    assert krippendorff_alpha([(1, 1, N), (5, 5, 5), (3, N, 3)]) == pytest.approx(1.0)
    assert krippendorff_alpha([(3, 3), (3, 3)]) is None  # no variation: alpha undefined
    assert krippendorff_alpha([(3, N), (N, 5)]) is None  # nobody rated a unit twice


def test_alpha_interval_brackets_the_estimate() -> None:
    interval = alpha_interval(UNITS, "ordinal", BootstrapSettings(resamples=200, seed=1))
    assert interval is not None and interval.low <= 0.815 <= interval.high
