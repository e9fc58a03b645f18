"""Severity-grading (SSG) scores: weighted kappa on worked examples, severe-case sensitivity and specificity,
chance lines against a simulation, and their place in scores.json beside (never inside) Overall."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from spinebench.benchmark import Question
from spinebench.metrics import confusion_metrics, grade_chance, score_run, severity_scores
from spinebench.prediction import Prediction
from spinebench.taxonomy import SEVERITY_GRADES

NONE = 3  # the "no answer" column


def confusion(truths: list[int], answers: list[int]) -> np.ndarray:
    counts = np.zeros((3, 4))
    for truth, answer in zip(truths, answers, strict=True):
        counts[truth, answer] += 1
    return counts


# Worked by hand with weights w = (i - j)^2 / 4 (and 1 for no answer), E_ij = r_i * c_j / n:
#   kappa = 1 - sum(w * O) / sum(w * E)
KAPPA_EXAMPLES = [
    # Perfect agreement.
    ([0, 1, 2, 2], [0, 1, 2, 2], Fraction(1)),
    # O: two off-by-one answers, 2 * 0.25 / 4 = 1/8. Rows (2, 1, 1), columns (1, 3, 0):
    # E = (2*3*.25 + 1*1*.25 + 1*1*1 + 1*3*.25) / 16 = 3.5 / 16 = 7/32; kappa = 1 - (1/8) / (7/32) = 3/7.
    ([0, 0, 1, 2], [0, 1, 1, 1], Fraction(3, 7)),
    # Mild read as Severe and Severe as Mild: O = 1, E = (1 + 1) / 4 = 1/2; kappa = 1 - 2 = -1.
    ([0, 2], [2, 0], Fraction(-1)),
    # One Severe case left unanswered: O = 1/4. Rows (1, 1, 2), every column 1, so E = sum_i r_i * (row i
    # of w) / 16 = (2.25 + 1.5 + 2 * 2.25) / 16 = 33/64; kappa = 1 - (1/4) / (33/64) = 17/33.
    ([0, 1, 2, 2], [0, 1, 2, NONE], Fraction(17, 33)),
    # Every answer one grade too mild: rows (1, 1, 1), columns (2, 1, 0); O = 2 * .25 / 3 = 1/6;
    # E = (1*1*.25 + 1*2*.25 + 1*2*1 + 1*1*.25) / 9 = 3/9 = 1/3; kappa = 1 - (1/6) / (1/3) = 1/2.
    ([0, 1, 2], [0, 0, 1], Fraction(1, 2)),
]


@pytest.mark.parametrize(("truths", "answers", "expected"), KAPPA_EXAMPLES)
def test_weighted_kappa_matches_the_worked_examples(
    truths: list[int], answers: list[int], expected: Fraction
) -> None:
    kappa = confusion_metrics(confusion(truths, answers))["weighted_kappa"]
    assert float(kappa) == pytest.approx(float(expected), abs=1e-12)


def test_weighted_kappa_of_a_known_three_by_three_table() -> None:
    # Rows (4, 3, 3), columns (3, 4, 3); three off-by-one answers: O = 3 * .25 / 10 = 0.075;
    # E = (4*4*.25 + 4*3*1 + 3*3*.25 + 3*3*.25 + 3*3*1 + 3*4*.25) / 100 = 0.325; kappa = 1 - 3/13 = 10/13.
    # sklearn's cohen_kappa_score(weights="quadratic") on the same pairs gives 0.7692307692307692.
    truths = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    answers = [0, 0, 0, 1, 1, 1, 2, 1, 2, 2]
    kappa = float(confusion_metrics(confusion(truths, answers))["weighted_kappa"])
    assert kappa == pytest.approx(10 / 13, abs=1e-12)


def test_kappa_is_undefined_when_nothing_can_disagree() -> None:
    metrics = confusion_metrics(confusion([0, 0, 0], [0, 0, 0]))
    assert np.isnan(metrics["weighted_kappa"]) and float(metrics["accuracy"]) == 1.0
    assert np.isnan(metrics["severe_sensitivity"])  # no Severe case


def test_severe_sensitivity_and_specificity() -> None:
    # Severe cases: answered Severe, Moderate, no answer, Severe -> sensitivity 2/4.
    # Other cases: Mild->Mild, Moderate->Severe (a false alarm), Mild->no answer, Moderate->Mild -> 2/4.
    truths = [2, 2, 2, 2, 0, 1, 0, 1]
    answers = [2, 1, NONE, 2, 0, 2, NONE, 0]
    metrics = confusion_metrics(confusion(truths, answers))
    assert float(metrics["severe_sensitivity"]) == 0.5
    assert float(metrics["severe_specificity"]) == 0.5
    assert float(metrics["accuracy"]) == pytest.approx(3 / 8)


def _ssg(qid: str, grade: str, condition: str = "Spinal Canal Stenosis", level: str = "L4/L5") -> Question:
    answer = "ABC"[SEVERITY_GRADES.index(grade)]
    return Question(
        qid, "SSG", f"img-{qid}", "q", SEVERITY_GRADES, (answer,), condition, "rsna", "mri", level=level
    )


def _said(qid: str, *letters: str, stage: str = "strict") -> Prediction:
    return Prediction(qid, response="r", letters=letters, stage=stage)  # type: ignore[arg-type]


def test_scores_json_reports_grading_per_condition_and_level_beside_overall() -> None:
    questions = [
        _ssg("s1", "Severe"),
        _ssg("s2", "Severe", level="L5/S1"),
        _ssg("s3", "Moderate", condition="Left Subarticular Stenosis"),
        _ssg("s4", "Normal/Mild", condition="Left Subarticular Stenosis", level="L5/S1"),
        _ssg("s5", "Severe", condition="Left Subarticular Stenosis"),
        Question("d1", "SDD", "img-d", "q", ("a", "b", "c", "d", "e"), ("A",), "Osteophytes", "v", "xray"),
        Question("l1", "SLL", "img-d", "q", ("1", "2", "3", "4", "5"), ("B",), "Osteophytes", "v", "xray"),
    ]
    predictions = {
        "s1": _said("s1", "C"),
        "s2": _said("s2", stage="unparsed"),  # a missed Severe case, and wrong
        "s3": _said("s3", "B"),
        "s4": _said("s4", "C"),  # a false alarm
        "s5": _said("s5", "C"),
        "d1": _said("d1", "A"),
        "l1": _said("l1", "A"),
    }
    scores = score_run(questions, predictions)
    ssg = scores["tasks"]["SSG"]
    assert scores["overall"] == 0.5  # (SDD 1 + SLL 0) / 2: SSG is not folded in
    assert scores["overall_chance"] == pytest.approx((0.2 + 1 / 31) / 2, abs=1e-6)
    assert (ssg["scored"], ssg["accuracy"]) == (5, 0.6)
    assert ssg["severe_sensitivity"] == pytest.approx(2 / 3, abs=1e-6)
    assert ssg["severe_specificity"] == 0.5
    assert ssg["confusion"]["counts"] == [[0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 2, 1]]
    assert ssg["confusion"]["answers"] == [*SEVERITY_GRADES, "no answer"]
    # Chance from the grade distribution (1 Mild, 1 Moderate, 3 Severe of 5).
    assert ssg["chance"] == {
        "accuracy": pytest.approx(11 / 25),
        "weighted_kappa": 0.0,
        "severe_sensitivity": 0.6,
        "severe_specificity": 0.4,
    }
    for metric in ("accuracy", "weighted_kappa", "severe_sensitivity", "severe_specificity"):
        assert metric in ssg["ci"]
    low, high = ssg["ci"]["accuracy"]
    assert low <= ssg["accuracy"] <= high
    left = ssg["by_condition"]["Left Subarticular Stenosis"]
    assert (left["accuracy"], left["severe_sensitivity"], left["severe_specificity"]) == (
        pytest.approx(2 / 3, abs=1e-6),
        1.0,
        0.5,
    )
    assert list(ssg["by_level"]) == ["L4/L5", "L5/S1"]
    assert ssg["by_level"]["L5/S1"]["accuracy"] == 0.0
    assert "SSG" not in scores["by_disease"]  # its breakdowns are the condition and level above


def test_grading_intervals_cluster_on_the_patient() -> None:
    # Ten patients, each graded at three levels on three slices: 30 questions but 10 clusters.
    questions, predictions = [], {}
    for p in range(10):
        for k, level in enumerate(("L3/L4", "L4/L5", "L5/S1")):
            qid = f"p{p}-{k}"
            grade = SEVERITY_GRADES[(p + k) % 3]
            question = dataclasses.replace(_ssg(qid, grade, level=level), patient=f"patient-{p}")
            questions.append(question)
            right = p % 2 == 0  # a patient's three answers are all right or all wrong
            predictions[qid] = _said(qid, question.answer[0] if right else "ABC"[(p + k + 1) % 3])
    graded = severity_scores(questions, predictions)
    assert graded is not None
    assert (graded["clusters"], graded["few_clusters"]) == (10, True)
    assert graded["ci_method"] == {
        "accuracy": "wilson-cluster",
        "weighted_kappa": "bootstrap-cluster",
        "severe_sensitivity": "wilson-cluster",
        "severe_specificity": "wilson-cluster",
    }
    assert graded["design_effect"]["accuracy"] > 2  # whole patients right or wrong: the clusters count
    by_image = severity_scores([dataclasses.replace(q, patient=None) for q in questions], predictions)
    assert by_image is not None and by_image["clusters"] == 30
    clustered, plain = graded["ci"]["accuracy"], by_image["ci"]["accuracy"]
    assert clustered[1] - clustered[0] > plain[1] - plain[0]
    assert score_run(questions, predictions)["tasks"]["SSG"]["ci"] == graded["ci"]


def test_an_unanswered_run_has_chance_lines_but_no_values() -> None:
    questions = [_ssg("s1", "Severe"), _ssg("s2", "Moderate")]
    graded = severity_scores(questions, {})
    assert graded is not None
    assert graded["accuracy"] is None and graded["ci"]["weighted_kappa"] is None
    assert graded["chance"]["accuracy"] == 0.5
    assert severity_scores([], {}) is None


def test_chance_lines_agree_with_a_simulated_image_blind_answerer() -> None:
    """An answerer that draws each grade with its frequency, run 4,000 times on 300 questions."""
    rng = np.random.default_rng(7)
    truth_counts = np.array([180, 75, 45])
    truths = np.repeat(np.arange(3), truth_counts)
    p = truth_counts / truth_counts.sum()
    runs = 4000
    answers = rng.choice(3, size=(runs, len(truths)), p=p)
    cells = np.zeros((runs, 3, 4))
    np.add.at(cells, (np.arange(runs)[:, None], truths[None, :], answers), 1)
    simulated = {name: float(np.nanmean(values)) for name, values in confusion_metrics(cells).items()}
    chance = grade_chance(truth_counts)
    assert simulated["accuracy"] == pytest.approx(chance["accuracy"], abs=0.003)
    assert simulated["severe_sensitivity"] == pytest.approx(chance["severe_sensitivity"], abs=0.004)
    assert simulated["severe_specificity"] == pytest.approx(chance["severe_specificity"], abs=0.003)
    assert simulated["weighted_kappa"] == pytest.approx(chance["weighted_kappa"], abs=0.006)
    # On a grade-balanced set the lines are the uniform guesser's: 1/3, 0, 1/3, 2/3.
    balanced = grade_chance([10, 10, 10])
    assert balanced == {
        "accuracy": pytest.approx(1 / 3, abs=1e-6),
        "weighted_kappa": 0.0,
        "severe_sensitivity": pytest.approx(1 / 3, abs=1e-6),
        "severe_specificity": pytest.approx(2 / 3, abs=1e-6),
    }


def test_circular_grading_needs_every_rotation_right() -> None:
    questions = [_ssg("s1", "Severe"), _ssg("s2", "Moderate")]
    # s1 right in every rotation (Severe moves C -> B -> A); s2 right only unrotated.
    predictions = {
        "s1": _said("s1", "C"),
        "s1@r1": _said("s1@r1", "B"),
        "s1@r2": _said("s1@r2", "A"),
        "s2": _said("s2", "B"),
        "s2@r1": _said("s2@r1", "B"),
        "s2@r2": _said("s2@r2", "B"),
    }
    ssg = score_run(questions, predictions)["tasks"]["SSG"]
    assert ssg["accuracy"] == 1.0 and ssg["circular_accuracy"] == 0.5
    assert ssg["chance"]["circular_accuracy"] == pytest.approx(1 / 27, abs=1e-6)
    assert "weighted_kappa" in ssg["chance"]
