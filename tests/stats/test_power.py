"""The minimum detectable difference against Monte Carlo power of the clustered paired test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spinebench.benchmark import Question
from spinebench.metrics import compare_runs
from spinebench.prediction import Prediction
from spinebench.stats import minimum_detectable_difference, paired_cluster_test, paired_power

PATIENTS, IMAGES = 400, 3  # a synthetic benchmark: 1,200 questions, three images per patient
REPLICATIONS = 1500


def _simulated_power(difference: float, discordance: float, shared: float, rng: np.random.Generator) -> float:
    """Share of simulated run pairs where the clustered McNemar test rejects at 5%.

    Each question is "only A right" with probability (delta + Delta) / 2, "only B right" with
    (delta - Delta) / 2, concordant otherwise; with probability `shared` a patient's images all take the
    patient's first draw (outcomes correlated within patients).
    """
    u = rng.random((REPLICATIONS, PATIENTS, IMAGES))
    same = rng.random((REPLICATIONS, PATIENTS, 1)) < shared
    u = np.where(same, u[:, :, :1], u)
    only_a = u < (discordance + difference) / 2
    only_b = (u >= (discordance + difference) / 2) & (u < discordance)
    d = (only_a.astype(np.float64) - only_b).sum(axis=2)  # per-patient sums of A - B
    total = d.sum(axis=1)
    squares = (d**2).sum(axis=1)
    z = np.abs(total) / np.sqrt(np.where(squares > 0, squares, 1))
    return float(np.mean(z > 1.959964))


def _monte_carlo_mdd(discordance: float, shared: float, rng: np.random.Generator) -> float:
    grid = np.linspace(0.005, 0.12, 24)
    power = np.array([_simulated_power(float(delta), discordance, shared, rng) for delta in grid])
    above = int(np.argmax(power >= 0.8))
    assert power[above] >= 0.8 and above > 0, power
    # Linear interpolation between the grid points around 80% power.
    low, high = grid[above - 1], grid[above]
    return float(low + (0.8 - power[above - 1]) / (power[above] - power[above - 1]) * (high - low))


@pytest.mark.parametrize(("discordance", "shared"), [(0.2, 0.0), (0.4, 0.0), (0.3, 0.5)])
def test_minimum_detectable_difference_agrees_with_monte_carlo(discordance: float, shared: float) -> None:
    rng = np.random.default_rng(12)
    questions = PATIENTS * IMAGES
    # With probability `shared` a patient's 3 outcomes coincide: design effect 1 + (3 - 1) * shared.
    design_effect = 1 + (IMAGES - 1) * shared
    analytic = minimum_detectable_difference(questions, discordance, design_effect=design_effect)
    assert analytic.difference is not None
    simulated = _monte_carlo_mdd(discordance, shared, rng)
    assert abs(analytic.difference - simulated) <= 0.2 * simulated, (analytic.difference, simulated)


def test_detectable_difference_grows_with_discordance_and_design_effect() -> None:
    at = {rate: minimum_detectable_difference(1758, rate).difference for rate in (0.1, 0.2, 0.4)}
    assert at[0.1] < at[0.2] < at[0.4]  # type: ignore[operator]
    clustered = minimum_detectable_difference(1758, 0.2, design_effect=2.0).difference
    assert clustered is not None and clustered > at[0.2]  # type: ignore[operator]
    assert minimum_detectable_difference(10, 0.2).difference is None  # too few questions for any
    assert paired_power(0.05, 0.2, 1758) == pytest.approx(0.95, abs=0.05)


def test_compare_runs_reports_clustered_tests_discordance_and_its_detectable_difference() -> None:
    options = ("a", "b", "c", "d", "e")
    questions = [
        Question(f"q{k}", "SDD", f"i{k}", "q", options, ("A",), "Healthy", "s", "mri", (), f"p{k // 4}")
        for k in range(200)
    ]
    a = {q.id: Prediction(q.id, "r", ("A",), "strict") for q in questions}
    # B is wrong on patients 0-9 entirely (40 questions in 10 clusters): the discordance sits in 10 patients.
    b = {
        q.id: Prediction(q.id, "r", ("B",) if int(q.patient[1:]) < 10 else ("A",), "strict")
        for q in questions
    }  # type: ignore[index]
    result = compare_runs(questions, a, b)["SDD"]
    accuracy = result["accuracy"]
    assert (result["paired"], result["clusters"]) == (200, 50)
    assert accuracy["difference"] == pytest.approx(0.2) and accuracy["discordance"] == pytest.approx(0.2)
    assert accuracy["only_a_correct"] == 40 and accuracy["only_b_correct"] == 0
    # 10 informative clusters, all one way: the exact sign-flip p is 2 / 2^10, not the 2 / 2^40 of a plain
    # McNemar that would count 40 independent questions.
    assert accuracy["test"]["informative_clusters"] == 10 and accuracy["test"]["sign_flip_exact"] is True
    assert accuracy["test"]["p_sign_flip"] == pytest.approx(2 / 2**10)
    assert 1e-4 < accuracy["test"]["p_clustered_mcnemar"] < 0.01
    assert accuracy["design_effect"] == pytest.approx(4, rel=0.1)  # 4 images per patient, all alike
    expected = minimum_detectable_difference(200, 0.2, design_effect=accuracy["design_effect"]).difference
    assert accuracy["detectable_difference"] == pytest.approx(expected, abs=1e-6)
    low, high = accuracy["ci"]
    assert 0 < low < 0.2 < high


def test_sign_flip_agrees_with_mcnemar_on_independent_questions() -> None:
    d = np.array([1.0] * 12 + [-1.0] * 3)  # one question per cluster: 12 only-A, 3 only-B
    test = paired_cluster_test(d, 40)
    exact_binomial = 2 * sum(math.comb(15, i) for i in range(4)) / 2**15
    assert test.p_sign_flip == pytest.approx(exact_binomial)
    assert test.p_clustered_mcnemar == pytest.approx(0.0201, abs=0.001)  # (12 - 3)^2 / 15 = 5.4
