from __future__ import annotations

from math import comb

import numpy as np
import pytest

from spinebench.benchmark import Question
from spinebench.metrics import compare_runs, score_run
from spinebench.prediction import Prediction
from spinebench.stats import (
    BootstrapSettings,
    binomial_two_sided,
    bootstrap_ci,
    mcnemar_test,
    paired_difference,
    random_choice_chance,
    random_subset_chance,
)


def _simulated_cluster_run(
    rng: np.random.Generator, accuracy: float, images: int
) -> tuple[np.ndarray, np.ndarray]:
    """Two questions per image whose outcomes are correlated (same outcome half of the time)."""
    shared = rng.random(images) < accuracy
    second = np.where(rng.random(images) < 0.5, shared, rng.random(images) < accuracy)
    values = np.column_stack([shared, second]).ravel().astype(float)
    return values, np.repeat(np.arange(images), 2)


def test_clustered_intervals_cover_the_true_accuracy_at_about_the_nominal_rate() -> None:
    rng = np.random.default_rng(12345)
    settings = BootstrapSettings(resamples=500, seed=1)
    hits = 0
    runs = 200
    for _ in range(runs):
        values, clusters = _simulated_cluster_run(rng, 0.3, images=150)
        ci = bootstrap_ci(values, clusters, settings)
        assert ci is not None
        hits += ci.low <= 0.3 <= ci.high
    assert 0.90 <= hits / runs <= 0.99


def test_ignoring_the_clusters_would_have_made_the_intervals_too_narrow() -> None:
    rng = np.random.default_rng(7)
    values, clusters = _simulated_cluster_run(rng, 0.5, images=400)
    clustered = bootstrap_ci(values, clusters)
    naive = bootstrap_ci(values, np.arange(values.size))
    assert clustered is not None and naive is not None
    assert clustered.high - clustered.low > 1.1 * (naive.high - naive.low)


def test_intervals_are_seeded_and_degenerate_when_all_answers_agree() -> None:
    values = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1]
    clusters = ["a", "a", "b", "c", "d", "e", "f", "g", "h", "i"]
    first = bootstrap_ci(values, clusters, BootstrapSettings(seed=3))
    assert first == bootstrap_ci(values, clusters, BootstrapSettings(seed=3))
    assert first != bootstrap_ci(values, clusters, BootstrapSettings(seed=4))
    assert bootstrap_ci([1.0] * 5, list("abcde")) == bootstrap_ci([1.0] * 5, list("vwxyz"))
    perfect = bootstrap_ci([1.0] * 5, list("abcde"))
    assert perfect is not None and (perfect.low, perfect.high) == (1.0, 1.0)


def test_scoring_3000_questions_with_1000_resamples_records_the_settings() -> None:
    questions, predictions = [], {}
    for i in range(3000):
        task = "SDD" if i % 2 == 0 else "SLL"
        answer = ("B",) if task == "SDD" else ("A", "C")
        q = Question(
            f"q{i}", task, f"img{i // 2}", "q", tuple("vwxyz"), answer, f"d{i % 12}", f"s{i % 3}", "mri"
        )
        questions.append(q)
        predictions[q.id] = Prediction(q.id, "r", ("B",) if i % 3 else ("A",), "strict")
    scores = score_run(
        questions, predictions
    )  # its speed is bench/eval_throughput.py's concern, not a test's
    assert scores["bootstrap"] == {"resamples": 1000, "seed": 0, "level": 0.95, "cluster": "image"}
    low, high = scores["tasks"]["SDD"]["ci"]["accuracy"]
    assert low < scores["tasks"]["SDD"]["accuracy"] < high


def test_subset_chance_matches_a_monte_carlo_random_answerer() -> None:
    rng = np.random.default_rng(0)
    n, draws = 5, 400_000
    masks = rng.integers(1, 2**n, size=draws)  # uniform over the non-empty subsets
    chosen = (masks[:, None] >> np.arange(n)) & 1
    for true in range(1, n + 1):
        truth = np.zeros(n, dtype=int)
        truth[:true] = 1
        hits = chosen @ truth
        size = chosen.sum(axis=1)
        precision, recall = hits / size, hits / true
        f1 = 2 * hits / (size + true)
        exact = (chosen == truth).all(axis=1)
        expected = random_subset_chance(n, true)
        assert expected.exact == pytest.approx(exact.mean(), abs=0.003)
        assert expected.precision == pytest.approx(precision.mean(), abs=0.003)
        assert expected.recall == pytest.approx(recall.mean(), abs=0.003)
        assert expected.f1 == pytest.approx(f1.mean(), abs=0.003)


def test_subset_chance_agrees_with_closed_forms() -> None:
    for n in range(1, 9):
        for true in range(1, n + 1):
            chance = random_subset_chance(n, true)
            assert chance.exact == pytest.approx(1 / (2**n - 1))
            assert chance.precision == pytest.approx(true / n)  # every subset size sees t/n true on average
            assert chance.recall == pytest.approx(2 ** (n - 1) / (2**n - 1))
    assert random_choice_chance(5) == 0.2 and random_choice_chance(4) == 0.25


def test_score_run_chance_lines_follow_the_actual_option_counts() -> None:
    questions = [
        Question("a", "SDD", "i1", "q", tuple("vwxyz"), ("A",), "d", "s", "xray"),
        Question("b", "SDD", "i2", "q", tuple("wxyz"), ("A",), "d", "s", "xray"),
        Question("c", "SLL", "i1", "q", tuple("vwxyz"), ("A", "B"), "d", "s", "xray"),
    ]
    scores = score_run(questions, {})
    assert scores["tasks"]["SDD"]["chance"]["accuracy"] == pytest.approx((0.2 + 0.25) / 2, abs=1e-6)
    assert scores["tasks"]["SLL"]["chance"]["precision"] == pytest.approx(0.4, abs=1e-6)
    assert scores["overall_chance"] == pytest.approx((0.225 + 1 / 31) / 2, abs=1e-6)
    assert scores["tasks"]["SDD"]["ci"]["accuracy"] is None  # nothing scored: no interval
    assert scores["status"] == "incomplete"


def test_exact_binomial_p_values_by_hand() -> None:
    assert binomial_two_sided(0, 10) == (pytest.approx(2 / 1024), pytest.approx(1 / 1024))
    exact, mid = binomial_two_sided(3, 10)
    assert exact == pytest.approx(2 * (1 + 10 + 45 + 120) / 1024)
    assert mid == pytest.approx((2 * (1 + 10 + 45 + 120) - 120) / 1024)
    assert binomial_two_sided(5, 10) == (1.0, 1.0)
    assert binomial_two_sided(0, 0) == (1.0, 1.0)
    big_exact, _ = binomial_two_sided(29_000, 60_000)  # exact integers, no overflow
    assert 0 < big_exact < 1e-10
    tail = sum(comb(40, i) for i in range(14)) / 2**40  # min(27, 40 - 27) = 13
    assert binomial_two_sided(27, 40)[0] == pytest.approx(2 * tail)


def test_mcnemar_counts_only_the_discordant_pairs() -> None:
    a = [True] * 8 + [False] * 2 + [True] * 20 + [False] * 5
    b = [False] * 8 + [True] * 2 + [True] * 20 + [False] * 5
    test = mcnemar_test(a, b)
    assert (test.only_a, test.only_b) == (8, 2)
    assert test.p_exact == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert test.p_mid < test.p_exact


def test_paired_difference_and_compare_runs_on_crafted_runs() -> None:
    diff = paired_difference([1.0] * 20, [1.0, 0.0] * 10, [f"i{k}" for k in range(20)])
    assert diff.difference == pytest.approx(0.5)
    assert diff.ci is not None and 0 < diff.ci.low <= 0.5 <= diff.ci.high

    questions = [
        Question(f"q{k}", "SDD", f"i{k}", "q", tuple("vwxyz"), ("C",), "d", "s", "xray") for k in range(30)
    ]
    right = {q.id: Prediction(q.id, "r", ("C",), "strict") for q in questions}
    wrong_half = {
        q.id: Prediction(q.id, "r", ("C",) if k % 2 else ("A",), "strict") for k, q in enumerate(questions)
    }
    wrong_half["q1"] = Prediction("q1", None, error={"kind": "timeout", "message": "slow"})  # not paired
    result = compare_runs(questions, right, wrong_half)["SDD"]
    assert result["paired"] == 29
    assert result["accuracy"]["difference"] == pytest.approx(15 / 29, abs=1e-6)
    accuracy = result["accuracy"]
    assert accuracy["only_a_correct"] == 15 and accuracy["only_b_correct"] == 0
    # One question per image: the exact cluster sign-flip test is the exact McNemar test.
    assert accuracy["test"]["p_sign_flip"] == pytest.approx(2 / 2**15)
    assert accuracy["test"]["p_sign_flip"] == pytest.approx(mcnemar_test([True] * 15, [False] * 15).p_exact)
