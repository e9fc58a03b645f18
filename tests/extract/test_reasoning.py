from __future__ import annotations

from spinebench.extract import Extraction, Reply, extract_answer, split_reasoning
from spinebench.prediction import Prediction
from spinebench.testing.extraction_styles import SDD


def test_a_reply_without_a_think_block_is_left_as_it_is() -> None:
    assert split_reasoning("  The answer is B.\n") == Reply("  The answer is B.\n", None)


def test_the_think_block_is_split_off() -> None:
    reply = split_reasoning("<think>\nA? No slip.\n</think>\n\nMy final option: [B]")
    assert reply == Reply("My final option: [B]", "A? No slip.")


def test_everything_before_the_last_close_is_reasoning() -> None:
    # Servers whose chat template opens the block drop the opening tag from the reply.
    assert split_reasoning("A or B?</think>B.") == Reply("B.", "A or B?")
    assert split_reasoning("<THINK>one</THINK> x <think>two</think>Answer: C").answer == "Answer: C"


def test_an_unclosed_block_is_all_reasoning() -> None:
    reply = split_reasoning("<think>The slip at L4 suggests")
    assert reply == Reply("", "The slip at L4 suggests", unclosed=True)
    reopened = split_reasoning("<think>first</think>Answer: <think>wait")
    assert reopened.unclosed and reopened.answer == "Answer:" and reopened.reasoning == "first\n\nwait"


def test_letters_inside_the_reasoning_are_never_read() -> None:
    assert extract_answer("<think>My final option: [A]</think>", SDD, multiple=False) == Extraction(
        (), "unparsed"
    )
    assert extract_answer("<think>The answer is A", SDD, multiple=False) == Extraction((), "truncated")


def test_a_reply_cut_off_by_the_token_limit_is_not_read() -> None:
    reply = "Reasoning.\nMy final option: [B]"
    assert extract_answer(reply, SDD, multiple=False, finish_reason="length").stage == "truncated"
    assert extract_answer(reply, SDD, multiple=False, finish_reason="stop").stage == "strict"


def test_the_prediction_keeps_the_reasoning_apart() -> None:
    prediction = Prediction("q1", response="My final option: [B]", reasoning="A? No.", stage="strict")
    assert Prediction.from_json(prediction.to_json()) == prediction
    assert Prediction.from_json(prediction.to_json(), with_text=False).reasoning is None
    old = '{"question_id": "q0", "response": "B", "letters": ["B"], "stage": "tolerant"}'
    assert Prediction.from_json(old).reasoning is None  # records written before the field existed
