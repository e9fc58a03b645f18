"""Predictions read for resuming and scoring (`LeanPredictions`): the same answers, held small."""

from __future__ import annotations

from spinebench.prediction import LeanPredictions, Prediction


def test_lean_predictions_give_back_what_scoring_reads_and_the_latest_wins() -> None:
    lean = LeanPredictions()
    said = [
        Prediction("q1", "The answer is B", ("B",), "tolerant", latency_s=1.5, input_tokens=9),
        Prediction("q2", None, error={"kind": "server", "message": "HTTP 500"}, attempts=6),
        Prediction("q3", "A and C", ("A", "C"), "strict"),
        Prediction("q1", "Final: D", ("D",), "strict", attempts=2),  # a later line for q1
    ]
    for prediction in said:
        lean.add(prediction)
    assert len(lean) == 3 and list(lean) == ["q1", "q2", "q3"]
    assert lean["q1"] == Prediction("q1", None, ("D",), "strict", attempts=2)
    assert lean["q2"].failed and lean["q2"].error == {"kind": "server", "message": "HTTP 500"}
    assert lean["q2"].attempts == 6
    assert lean.get("q3") == Prediction("q3", None, ("A", "C"), "strict")
    assert "q4" not in lean and lean.get("q4") is None


def test_questions_with_the_same_outcome_share_one_entry() -> None:
    lean = LeanPredictions()
    for number in range(1000):
        lean.add(Prediction(f"q{number}", "x", ("AB"[number % 2],), "strict"))
    assert len(lean) == 1000
    assert len(lean._table) == 2  # two distinct outcomes, whatever the number of questions


def test_lines_with_nested_values_are_kept_as_they_were_read() -> None:
    lean = LeanPredictions()
    nested = Prediction("q1", None, error={"kind": "x", "detail": {"code": 5}})  # type: ignore[dict-item]
    lean.add(nested)
    lean.add(Prediction("q2", None, error="a plain string"))  # type: ignore[arg-type]
    lean.add(Prediction("q3", "r", (["A"],), "strict"))  # type: ignore[arg-type]
    assert len(lean) == 3 and set(lean) == {"q1", "q2", "q3"}
    assert lean["q1"] is nested and lean["q2"].failed and lean["q3"].letters == (["A"],)
    lean.add(Prediction("q1", "r", ("B",), "strict"))  # a later, ordinary line for q1 replaces it
    assert lean["q1"].letters == ("B",) and len(lean) == 3
