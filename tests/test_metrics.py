from __future__ import annotations

import pytest

from spinebench.benchmark import Question
from spinebench.metrics import score_run
from spinebench.prediction import Prediction


def _sdd(qid: str, answer: str, disease: str = "Osteophytes", source: str = "s1") -> Question:
    return Question(qid, "SDD", "img", "q", ("a", "b", "c", "d", "e"), (answer,), disease, source, "xray")


def _sll(qid: str, answer: tuple[str, ...]) -> Question:
    return Question(
        qid, "SLL", "img", "q", ("L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"), answer, "X", "s2", "mri"
    )


def _ok(qid: str, *letters: str, stage: str = "strict") -> Prediction:
    return Prediction(qid, response="r", letters=letters, stage=stage)  # type: ignore[arg-type]


def test_sdd_accuracy_counts_unparsed_as_wrong_and_errors_not_at_all() -> None:
    questions = [_sdd("1", "A"), _sdd("2", "B"), _sdd("3", "C", disease="Healthy"), _sdd("4", "D")]
    predictions = {
        "1": _ok("1", "A"),
        "2": _ok("2", stage="unparsed"),
        "3": _ok("3", "C", stage="tolerant"),
        "4": Prediction("4", response=None, error={"kind": "timeout", "message": "slow"}),
    }
    scores = score_run(questions, predictions)
    sdd = scores["tasks"]["SDD"]
    assert (sdd["scored"], sdd["correct"], sdd["accuracy"]) == (3, 2, pytest.approx(2 / 3, abs=1e-6))
    assert (sdd["errors"], sdd["unparsed"]) == (1, 1)
    assert scores["status"] == "incomplete"
    assert scores["counts"]["errors_by_kind"] == {"timeout": 1}
    assert scores["by_disease"]["SDD"]["Healthy"]["accuracy"] == 1.0
    assert scores["overall"] is None  # no SLL question


def test_sll_exact_precision_recall_f1_are_sample_averaged() -> None:
    questions = [_sll("a", ("A", "B")), _sll("b", ("C",)), _sll("c", ("D", "E"))]
    predictions = {
        "a": _ok("a", "A", "B"),  # exact: p=1 r=1 f1=1
        "b": _ok("b", "B", "C"),  # p=.5 r=1 f1=2/3
        "c": _ok("c", stage="refused"),  # empty: 0, 0, 0
    }
    sll = score_run(questions, predictions)["tasks"]["SLL"]
    assert sll["accuracy"] == pytest.approx(1 / 3, abs=1e-6)
    assert sll["precision"] == pytest.approx(0.5, abs=1e-6)
    assert sll["recall"] == pytest.approx(2 / 3, abs=1e-6)
    assert sll["f1"] == pytest.approx((1 + 2 / 3) / 3, abs=1e-6)
    assert sll["refused"] == 1


def test_overall_is_mean_of_task_accuracies_and_pending_makes_incomplete() -> None:
    questions = [_sdd("1", "A"), _sdd("2", "A"), _sll("3", ("A",)), _sll("4", ("B",))]
    predictions = {"1": _ok("1", "A"), "2": _ok("2", "B"), "3": _ok("3", "A"), "4": _ok("4", "A")}
    scores = score_run(questions, predictions)
    assert scores["overall"] == pytest.approx((0.5 + 0.5) / 2)
    assert scores["status"] == "complete"
    del predictions["4"]
    partial = score_run(questions, predictions)
    assert partial["status"] == "incomplete" and partial["counts"]["pending"] == 1
    assert partial["by_source"]["SLL"]["s2"]["scored"] == 1


def test_letters_in_any_order_are_the_same_answer() -> None:
    # A predictions.jsonl line written by another tool: the right set, listed out of order.
    line = '{"question_id": "a", "response": "r", "letters": ["C", "A"], "stage": "strict"}'
    scores = score_run([_sll("a", ("A", "C"))], {"a": Prediction.from_json(line)})
    sll = scores["tasks"]["SLL"]
    assert (sll["accuracy"], sll["precision"], sll["recall"]) == (1.0, 1.0, 1.0)
