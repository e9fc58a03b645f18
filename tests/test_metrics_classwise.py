"""SDD balanced accuracy and macro-F1, SLL per-level rates: values, intervals, chance lines."""

from __future__ import annotations

import pytest

from spinebench.benchmark import Question
from spinebench.metrics import score_run
from spinebench.prediction import Prediction

OPTIONS = ("X", "Y", "c", "d", "e")


def _sdd(qid: str, truth: str) -> Question:
    return Question(qid, "SDD", f"img-{qid}", "q", OPTIONS, ("AB"[OPTIONS.index(truth)],), truth, "s", "xray")


def test_balanced_accuracy_and_macro_f1_do_not_reward_answering_the_common_class() -> None:
    questions = [_sdd(f"x{k}", "X") for k in range(8)] + [_sdd(f"y{k}", "Y") for k in range(2)]
    always_x = {q.id: Prediction(q.id, "r", ("A",), "strict") for q in questions}
    sdd = score_run(questions, always_x)["tasks"]["SDD"]
    assert sdd["accuracy"] == pytest.approx(0.8)
    assert sdd["balanced_accuracy"] == pytest.approx(0.5)
    assert sdd["macro_f1"] == pytest.approx((16 / 18 + 0) / 2, abs=1e-6)
    for metric in ("balanced_accuracy", "macro_f1"):
        low, high = sdd["ci"][metric]
        assert low <= sdd[metric] <= high
        assert sdd["ci_method"][metric] == "bootstrap-cluster"
    assert sdd["chance"]["balanced_accuracy"] == pytest.approx(0.2)
    # From expected counts: X: 2 * 1.6 / (2 + 8); Y: 2 * 0.4 / (2 + 2).
    assert sdd["chance"]["macro_f1"] == pytest.approx((0.32 + 0.2) / 2, abs=1e-6)


def test_an_unanswered_question_is_a_miss_of_its_class() -> None:
    questions = [_sdd("x0", "X"), _sdd("y0", "Y")]
    run = {"x0": Prediction("x0", "r", ("A",), "strict"), "y0": Prediction("y0", "r", (), "unparsed")}
    sdd = score_run(questions, run)["tasks"]["SDD"]
    assert sdd["balanced_accuracy"] == pytest.approx(0.5) and sdd["macro_f1"] == pytest.approx(0.5)


def test_sll_per_level_recall_and_precision_with_intervals_and_chance() -> None:
    levels = ("L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1")
    questions = [
        Question(f"s{k}", "SLL", f"i{k}", "q", levels, ("D", "E"), "Disc space narrowing", "s", "mri")
        for k in range(10)
    ]
    # Always answers L4/L5 only: recall 1 at L4/L5, 0 at L5/S1; precision 1 at L4/L5.
    run = {q.id: Prediction(q.id, "r", ("D",), "strict") for q in questions}
    sll = score_run(questions, run)["tasks"]["SLL"]
    l45, l5s1, l12 = sll["by_level"]["L4/L5"], sll["by_level"]["L5/S1"], sll["by_level"]["L1/L2"]
    assert (l45["recall"], l45["precision"], l45["true"], l45["chosen"]) == (1.0, 1.0, 10, 10)
    assert (l5s1["recall"], l5s1["precision"]) == (0.0, None)
    assert l12["recall"] is None and l12["true"] == 0
    assert l45["ci"]["recall"][1] == 1.0 and l45["ci"]["recall"][0] < 1.0
    assert l5s1["ci"]["recall"][0] == 0.0 and l5s1["ci"]["recall"][1] > 0.0
    assert l45["ci_method"]["recall"] == "wilson-cluster" and l45["clusters"] == 10
    assert l45["chance"]["recall"] == pytest.approx(16 / 31, abs=1e-6)
    assert l45["chance"]["precision"] == pytest.approx(1.0) and l12["chance"]["precision"] == 0.0
    assert sll["accuracy"] == 0.0  # exact-set accuracy: D alone is not the set {D, E}
    for metric in ("accuracy", "precision", "recall", "f1"):
        assert sll["ci"][metric] is not None and metric in sll["chance"]
