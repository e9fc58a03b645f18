from __future__ import annotations

import time

import pytest

from spinebench.extract import (
    Extraction,
    extract_answer,
    extract_strict,
    extract_tolerant,
    is_refusal,
    judge_prompt,
)
from spinebench.testing.extraction_styles import CASES, REASONING, SDD, SLL, Style


@pytest.mark.parametrize("style", CASES, ids=[style.name for style in CASES])
def test_extract_answer(style: Style) -> None:
    extraction = extract_answer(
        style.response, style.options, multiple=style.multiple, finish_reason=style.finish_reason
    )
    assert extraction == Extraction(style.letters, style.stage)


def test_no_wrong_letter_and_clean_styles_still_read() -> None:
    # A wrong letter is worse than none, but no letter is not free: over-cautious rules lose answers.
    wrong, exact, clean = [], 0, 0
    for style in CASES:
        letters = extract_answer(
            style.response, style.options, multiple=style.multiple, finish_reason=style.finish_reason
        ).letters
        if letters and letters != style.letters:
            wrong.append(style.name)
        if style.letters:
            clean += 1
            exact += letters == style.letters
    assert wrong == []
    assert clean >= 100 and exact / clean >= 0.95


@pytest.mark.parametrize(
    "response",
    [
        "I think it's B but could be C.",
        "My first choice is C; a second choice would be D.",
        "The answer is B (or possibly C)",
        "Answer: B\nAlternatively D",
    ],
)
def test_the_issue_hedges_give_no_letter(response: str) -> None:
    assert extract_answer(response, SDD, multiple=False) == Extraction((), "unparsed")


@pytest.mark.parametrize(
    ("response", "options", "multiple", "letters"),
    [
        ("The most likely diagnosis is spondylolisthesis.", SDD, False, ("A",)),
        ("Final answer: L4/L5 and L5/S1", SLL, True, ("B", "C")),
        ("Narrowing at L4-5, L5–S1.", SLL, True, ("B", "C")),
        ("The slip is an anterolisthesis.", SDD, False, ("A",)),
        ("The spine is normal.", SDD, False, ("E",)),
    ],
)
def test_the_issue_option_texts_map_to_their_letters(
    response: str, options: tuple[str, ...], multiple: bool, letters: tuple[str, ...]
) -> None:
    assert extract_answer(response, options, multiple=multiple) == Extraction(letters, "text")


def test_letters_with_their_own_texts_read_and_with_other_texts_do_not() -> None:
    in_order = ("L1/L2", "L4/L5", "L2/L3", "L5/S1", "L3/L4")
    for reply in ("Final answer: (A) L1/L2, (B) L4/L5", "(A) L1/L2, (B) L4/L5"):
        assert extract_answer(reply, in_order, multiple=True) == Extraction(("A", "B"), "tolerant")
        assert extract_answer(reply, SLL, multiple=True) == Extraction((), "unparsed")


def test_a_hedged_level_makes_the_set_unparsed_not_shorter() -> None:
    assert extract_answer("B, C and possibly D", SLL, multiple=True) == Extraction((), "unparsed")


def test_case_table_is_large_and_ids_unique() -> None:
    ids = [style.name for style in CASES]
    assert len(ids) >= 280
    assert len(set(ids)) == len(ids)


def test_strict_requires_last_line_and_brackets() -> None:
    assert extract_strict("My final option: [B]", SDD, multiple=False) == ("B",)
    assert extract_strict("My final option: B", SDD, multiple=False) is None
    assert extract_strict("My final option: [B]\nConsult a doctor.", SDD, multiple=False) is None
    assert extract_strict("My final option: [b]", SDD, multiple=False) is None
    assert extract_strict("**My final option: [B]**", SDD, multiple=False) is None
    assert extract_strict("My final options: [B, C]", SDD, multiple=False) is None
    assert extract_strict("My final options: [B, C]", SLL, multiple=True) == ("B", "C")
    assert extract_strict("My final option: [B]\r\n", SDD, multiple=False) == ("B",)


def test_tolerant_reads_what_strict_reads() -> None:
    assert extract_tolerant("My final options: [C, B]", SLL, multiple=True) == ("B", "C")
    assert extract_tolerant("Some reasoning without an answer.", SDD, multiple=False) is None


def test_option_range_follows_option_count() -> None:
    three = SDD[:3]
    assert extract_answer("My final option: [D]", three, multiple=False) == Extraction((), "unparsed")
    assert extract_answer("My final option: [C]", three, multiple=False) == Extraction(("C",), "strict")
    assert extract_answer("The answer is D.", three, multiple=False) == Extraction((), "unparsed")


def test_option_text_matching_is_whole_phrase_and_prefers_longer_options() -> None:
    options = ("Stenosis", "Spinal canal stenosis", "Healthy")
    assert extract_tolerant("It shows spinal canal stenosis.", options, multiple=False) == ("B",)
    assert extract_tolerant("It shows stenoses.", options, multiple=False) is None
    assert extract_tolerant("Unhealthy.", options, multiple=False) is None


def test_judge_reply_none_is_not_an_answer() -> None:
    for reply in ("My final option: [NONE]", "My final options: [NONE]", "My final option: []"):
        assert extract_strict(reply, SLL, multiple=True) is None
        assert extract_tolerant(reply, SLL, multiple=True) is None


def test_long_reasoning_reads_only_the_end() -> None:
    response = REASONING * 40 + "Option A would fit a slip. In the end, the answer is C."
    assert len(response) > 10_000
    assert extract_answer(response, SDD, multiple=False) == Extraction(("C",), "tolerant")


@pytest.mark.parametrize(
    "response",
    [
        "I cannot provide a diagnosis based on this image.",
        "I'm unable to assess radiographs.",
        "I am not able to interpret medical images.",
        "As an AI language model, I can't give medical advice.",
        "Please consult a qualified medical professional for an interpretation.",
        "I won't make a diagnosis from a single image.",
        "I'm sorry, but I cannot help with that.",
        "抱歉，我无法提供医学诊断。",
    ],
)
def test_is_refusal_detects_refusals(response: str) -> None:
    assert is_refusal(response)


@pytest.mark.parametrize(
    "response",
    [
        "",
        "The answer is B.",
        "I cannot be certain, but the slip suggests spondylolisthesis.",
        "I think the disc height is reduced at L4/L5.",
        "The radiologist's view is not available.",
        "Osteophytes cannot be excluded.",
    ],
)
def test_is_refusal_ignores_non_refusals(response: str) -> None:
    assert not is_refusal(response)


def test_refusal_with_an_answer_is_an_answer() -> None:
    response = "I cannot give medical advice, but the answer is C."
    assert extract_answer(response, SDD, multiple=False) == Extraction(("C",), "tolerant")


def test_judge_prompt_single() -> None:
    response = "Option A looks unlikely; I lean towards the spurs."
    prompt = judge_prompt("Which diagnosis is most likely?", SDD, response, multiple=False)
    assert "Which diagnosis is most likely?" in prompt
    for letter, text in zip("ABCDE", SDD, strict=True):
        assert f"\n{letter}. {text}\n" in f"{prompt}\n"
    assert response in prompt
    assert "My final option: [X]" in prompt
    assert "My final option: [NONE]" in prompt
    assert "My final options" not in prompt
    assert "A to E" in prompt
    assert "Do not answer the question yourself" in prompt
    assert "more than one option" in prompt


def test_judge_prompt_multiple() -> None:
    prompt = judge_prompt("Which levels?", SLL, "L4/L5 and L5/S1.", multiple=True)
    assert "My final options: [X, Y]" in prompt
    assert "My final options: [NONE]" in prompt
    assert "every option" in prompt
    assert "E. L1/L2" in prompt
    assert "more than one option" not in prompt


def test_judge_prompt_reply_forms_parse() -> None:
    prompt = judge_prompt("Q?", SDD, "spurs", multiple=False)
    answer_form, none_form = prompt.split("`")[1], prompt.split("`")[3]
    assert extract_strict(answer_form.replace("X", "C"), SDD, multiple=False) == ("C",)
    assert extract_answer(none_form, SDD, multiple=False) == Extraction((), "unparsed")
    sll_form = judge_prompt("Q?", SLL, "L4/L5", multiple=True).split("`")[1]
    assert extract_strict(sll_form.replace("X", "B").replace("Y", "C"), SLL, multiple=True) == ("B", "C")


@pytest.mark.parametrize(
    ("response", "options", "multiple", "letters"),
    [("L4/L5, " * 4000, SLL, True, ("C",)), ("Osteophytes, " * 4000, SDD, False, ("C",))],
    ids=["level", "disease"],
)
def test_a_degenerate_repetition_is_read_in_linear_time(
    response: str, options: tuple[str, ...], multiple: bool, letters: tuple[str, ...]
) -> None:
    # A small model stuck in a loop until max_tokens repeats one option thousands of times. Each mention
    # used to rescan its whole unit (clause breaks, other mentions): seconds of CPU on the event loop.
    started = time.perf_counter()
    extraction = extract_answer(response, options, multiple=multiple)
    assert time.perf_counter() - started < 0.5
    assert extraction == Extraction(letters, "text")
