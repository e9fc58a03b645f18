from __future__ import annotations

import pytest

from spinebench.benchmark import Question
from spinebench.metrics import rotate, rotation_id, rotations, score_run, split_rotation_id, unrotate_letter
from spinebench.prediction import Prediction
from spinebench.taxonomy import LETTERS

OPTIONS = ("Osteophytes", "Healthy", "Spondylolisthesis", "Vertebral collapse", "Disc space narrowing")


def _question(qid: str, answer: str, image: str | None = None) -> Question:
    return Question(qid, "SDD", image or f"img-{qid}", "q", OPTIONS, (answer,), "Healthy", "s", "xray")


def _answer(question: Question, letter: str) -> Prediction:
    return Prediction(question.id, "r", (letter,), "strict")


def _circular_run(questions: list[Question], choose: str | None) -> dict[str, Prediction]:
    """Every rotation answered: always `choose`, or correctly when `choose` is None."""
    return {
        turned.id: _answer(turned, choose or turned.answer[0]) for q in questions for turned in rotations(q)
    }


def test_rotate_moves_options_left_and_remaps_the_answer() -> None:
    question = _question("q", "B")
    turned = rotate(question, 1)
    assert turned.id == "q@r1" and turned.options == OPTIONS[1:] + OPTIONS[:1]
    assert turned.answer == ("A",) and turned.answer_texts == ("Healthy",)
    assert rotate(question, 2).answer == ("E",)
    assert rotate(question, 0) is question
    assert [r.answer_texts for r in rotations(question)] == [("Healthy",)] * 5
    assert sorted(r.answer[0] for r in rotations(question)) == list("ABCDE")
    assert unrotate_letter("E", 2, 5) == "B"
    assert split_rotation_id("q@r3") == ("q", 3) and split_rotation_id("q") == ("q", 0)
    assert rotation_id("q", 0) == "q" and rotation_id("q", 4) == "q@r4"
    with pytest.raises(ValueError, match="rotation 5"):
        rotate(question, 5)


def test_always_A_scores_zero_circular_and_its_position_bias_shows() -> None:
    questions = [_question(f"q{k}", LETTERS[k % 5]) for k in range(10)]
    sdd = score_run(questions, _circular_run(questions, "A"))["tasks"]["SDD"]
    assert sdd["accuracy"] == pytest.approx(0.2)  # plain: rotation 0 only, two of ten are "A"
    assert sdd["circular_accuracy"] == 0.0
    assert sdd["circular"]["scored"] == 10 and sdd["circular"]["rotations"] == 5
    assert sdd["position_bias"]["A"] == {"chosen": 1.0, "correct": 0.2}
    assert sdd["position_bias"]["C"] == {"chosen": 0.0, "correct": 0.2}
    assert sdd["chance"]["circular_accuracy"] == pytest.approx(0.2**5, abs=1e-6)


def test_a_perfect_model_scores_one_and_plain_scores_ignore_rotations() -> None:
    questions = [_question(f"q{k}", LETTERS[k % 5]) for k in range(10)]
    scores = score_run(questions, _circular_run(questions, None))
    sdd = scores["tasks"]["SDD"]
    assert (sdd["accuracy"], sdd["circular_accuracy"]) == (1.0, 1.0)
    low, high = sdd["ci"]["circular_accuracy"]
    assert high == 1.0 and 0.6 < low < 1.0  # all right still leaves room below: never zero width
    assert sdd["questions"] == 10 and sdd["scored"] == 10  # rotation answers are not extra questions
    assert scores["status"] == "complete" and scores["counts"]["questions"] == 10
    assert all(bias["chosen"] == bias["correct"] == 0.2 for bias in sdd["position_bias"].values())


def test_one_wrong_rotation_fails_the_question_and_missing_rotations_make_it_incomplete() -> None:
    questions = [_question("a", "A"), _question("b", "C"), _question("c", "D")]
    predictions = _circular_run(questions, None)
    predictions["a@r3"] = _answer(rotate(questions[0], 3), "A")  # wrong on one rotation
    del predictions["b@r2"]
    predictions["c@r4"] = Prediction("c@r4", None, error={"kind": "timeout", "message": "slow"})
    scores = score_run(questions, predictions)
    sdd = scores["tasks"]["SDD"]
    assert sdd["accuracy"] == 1.0  # rotation 0 of all three is right
    assert sdd["circular"] | {"rotations": 5} == {
        "questions": 3,
        "scored": 1,
        "correct": 0,
        "errors": 1,
        "pending": 1,
        "rotations": 5,
    }
    assert sdd["circular_accuracy"] == 0.0
    assert scores["status"] == "incomplete"


def test_circular_is_detected_from_rotation_ids_or_forced() -> None:
    questions = [_question("a", "A")]
    plain = {"a": _answer(questions[0], "A")}
    assert "circular_accuracy" not in score_run(questions, plain)["tasks"]["SDD"]
    forced = score_run(questions, plain, circular=True)
    assert forced["tasks"]["SDD"]["circular"]["pending"] == 1 and forced["status"] == "incomplete"
    assert forced["tasks"]["SDD"]["circular_accuracy"] is None
