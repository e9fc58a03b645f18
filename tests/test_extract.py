from __future__ import annotations

import pytest

from spinebench.extract import (
    Extraction,
    extract_answer,
    extract_strict,
    extract_tolerant,
    is_refusal,
    judge_prompt,
)

SDD = ("Spondylolisthesis", "Disc space narrowing", "Osteophytes", "Vertebral collapse", "Healthy")
SLL = ("L2/L3", "L5/S1", "L4/L5", "L3/L4", "L1/L2")

REASONING = (
    "The lateral lumbar radiograph shows the vertebral bodies from L1 to S1.\n\n"
    "Option A (spondylolisthesis) would require an anterior slip of one vertebra over the next; "
    "the posterior vertebral line looks continuous, so this is unlikely.\n\n"
    "Option B, disc space narrowing, is possible but the disc heights look preserved.\n\n"
)

# (id, response, options, multiple, expected letters, expected stage)
CASES: list[tuple[str, str, tuple[str, ...], bool, tuple[str, ...], str]] = [
    # The protocol's final line, as the last line.
    ("strict-sdd", REASONING + "My final option: [D]", SDD, False, ("D",), "strict"),
    ("strict-case-period-space", "Reasoning.\n  my FINAL Option: [ C ].  \n\n", SDD, False, ("C",), "strict"),
    ("strict-sll", "Narrowing at two levels.\nMy final options: [C, B]", SLL, True, ("B", "C"), "strict"),
    ("strict-sll-spaces", "My final options: [B C]", SLL, True, ("B", "C"), "strict"),
    ("strict-sll-singular-word", "My final option: [C]", SLL, True, ("C",), "strict"),
    ("strict-sll-duplicates", "My final options: [C, B, C]", SLL, True, ("B", "C"), "strict"),
    (
        "strict-template-echo-first",
        "I must end with `My final option: [X]`.\nMy final option: [B]",
        SDD,
        False,
        ("B",),
        "strict",
    ),
    # The final line, but loosened or not last.
    (
        "final-line-then-disclaimer",
        REASONING + "My final option: [D]\n\nNote: please consult a radiologist.",
        SDD,
        False,
        ("D",),
        "tolerant",
    ),
    ("final-line-no-brackets", "My final option: D", SDD, False, ("D",), "tolerant"),
    ("final-line-lowercase-letter", "My final option: [d]", SDD, False, ("D",), "tolerant"),
    ("final-line-bold", "**My final option: [B]**", SDD, False, ("B",), "tolerant"),
    ("final-line-then-pleasantry", "My final option: [E]\nBest regards.", SDD, False, ("E",), "tolerant"),
    # Explicit answer forms.
    ("reasoning-then-answer-is", REASONING + "Therefore the answer is D.", SDD, False, ("D",), "tolerant"),
    ("answer-is-parens", "The answer is (C).", SDD, False, ("C",), "tolerant"),
    ("answer-colon", "Answer: C", SDD, False, ("C",), "tolerant"),
    ("answer-colon-lowercase", "the answer is b", SDD, False, ("B",), "tolerant"),
    ("answer-is-a-because", "The answer is A because the slip is obvious.", SDD, False, ("A",), "tolerant"),
    ("final-answer", REASONING + "Final answer: C", SDD, False, ("C",), "tolerant"),
    ("answer-most-likely", "The answer is most likely E.", SDD, False, ("E",), "tolerant"),
    ("i-choose", "Weighing the findings, I choose C.", SDD, False, ("C",), "tolerant"),
    ("id-go-with-option", "I'd go with option C.", SDD, False, ("C",), "tolerant"),
    (
        "answer-revised",
        "At first the answer is A. On reflection, the answer is D.",
        SDD,
        False,
        ("D",),
        "tolerant",
    ),
    (
        "answer-first-then-explanation",
        "Answer: B\n\nExplanation: the L4-L5 disc is thin; option A is unlikely because there is no slip.",
        SDD,
        False,
        ("B",),
        "tolerant",
    ),
    (
        "answer-then-thanks",
        REASONING + "The answer is B.\n\nI hope this helps!",
        SDD,
        False,
        ("B",),
        "tolerant",
    ),
    # Markdown and LaTeX.
    ("bold-letter", REASONING + "**B**", SDD, False, ("B",), "tolerant"),
    ("bold-answer", REASONING + "**Answer: B**", SDD, False, ("B",), "tolerant"),
    ("bold-answer-label-outside", "**Answer:** B", SDD, False, ("B",), "tolerant"),
    ("bold-letter-with-text", REASONING + "**B. Disc space narrowing**", SDD, False, ("B",), "tolerant"),
    ("markdown-heading", "### Final Answer\n\n**C**", SDD, False, ("C",), "tolerant"),
    ("boxed", REASONING + "$\\boxed{C}$", SDD, False, ("C",), "tolerant"),
    ("boxed-text", "Thus: $\\boxed{\\text{C}}$", SDD, False, ("C",), "tolerant"),
    ("dollar-letter", "So I would settle on $E$.", SDD, False, ("E",), "tolerant"),
    # Letters at the end of the conclusion.
    (
        "option-in-conclusion",
        REASONING + "After weighing everything, option C fits best.",
        SDD,
        False,
        ("C",),
        "tolerant",
    ),
    (
        "text-then-paren-letter",
        "The most consistent finding is osteophytes (C)",
        SDD,
        False,
        ("C",),
        "tolerant",
    ),
    ("letter-is-most-likely", "B is the most likely diagnosis.", SDD, False, ("B",), "tolerant"),
    ("lone-letter", "C", SDD, False, ("C",), "tolerant"),
    ("lone-letter-period", "C.", SDD, False, ("C",), "tolerant"),
    ("lone-lowercase", "c", SDD, False, ("C",), "tolerant"),
    ("lone-bracketed", "[C]", SDD, False, ("C",), "tolerant"),
    ("lone-letter-with-text", "C. Osteophytes", SDD, False, ("C",), "tolerant"),
    ("sll-lone-letters", "B, C", SLL, True, ("B", "C"), "tolerant"),
    ("sll-answer-and", "The answer is B and C.", SLL, True, ("B", "C"), "tolerant"),
    ("sll-options-and", "Options B and C show narrowing.", SLL, True, ("B", "C"), "tolerant"),
    ("chinese-colon", "根据影像表现，椎体前缘有骨赘形成。\n答案：C", SDD, False, ("C",), "tolerant"),
    ("chinese-shi", "最可能的诊断是骨赘。答案是C", SDD, False, ("C",), "tolerant"),
    # Option text instead of a letter.
    (
        "option-text",
        REASONING + "The most likely diagnosis is spondylolisthesis.",
        SDD,
        False,
        ("A",),
        "tolerant",
    ),
    ("option-text-after-article", "A disc space narrowing is visible at L4.", SDD, False, ("B",), "tolerant"),
    (
        "option-text-more-likely-than",
        "Osteophytes are more likely than spondylolisthesis.",
        SDD,
        False,
        ("C",),
        "tolerant",
    ),
    (
        "option-text-then-disclaimer",
        "The findings are most consistent with vertebral collapse.\n\nDisclaimer: this is not medical advice; "
        "consult a radiologist.",
        SDD,
        False,
        ("D",),
        "tolerant",
    ),
    (
        "conclusion-then-support",
        REASONING + "Therefore, the most likely diagnosis is osteophytes. This is supported by the beak-like "
        "bony outgrowths.",
        SDD,
        False,
        ("C",),
        "tolerant",
    ),
    ("sll-levels", "Narrowing is seen at L4/L5 and L5/S1.", SLL, True, ("B", "C"), "tolerant"),
    ("sll-level-spellings", "The affected levels are L4-5 and L5-S1.", SLL, True, ("B", "C"), "tolerant"),
    ("sll-level-dash", "There is narrowing at L4-L5.", SLL, True, ("C",), "tolerant"),
    (
        "sll-levels-one-preserved",
        "Narrowing at L4/L5 and L5/S1, while L3/L4 is preserved.",
        SLL,
        True,
        ("B", "C"),
        "tolerant",
    ),
    # Never guess: ambiguous, contradictory, out of range or negated answers.
    ("sdd-two-letters-strict-form", "My final option: [B, C]", SDD, False, (), "unparsed"),
    ("sdd-two-letters", "The answer is B and D.", SDD, False, (), "unparsed"),
    ("a-or-b", "The answer is A or B.", SDD, False, (), "unparsed"),
    ("either-or", "It's either B or D.", SDD, False, (), "unparsed"),
    ("out-of-range-strict", "My final option: [F]", SDD, False, (), "unparsed"),
    ("out-of-range-answer", REASONING + "The answer is F.", SDD, False, (), "unparsed"),
    ("sll-out-of-range", "My final options: [B, F]", SLL, True, (), "unparsed"),
    ("letter-text-mismatch", "The answer is C (Spondylolisthesis).", SDD, False, (), "unparsed"),
    ("lone-letter-text-mismatch", "C. Spondylolisthesis", SDD, False, (), "unparsed"),
    (
        "answer-contradicted-by-conclusion",
        "Answer: B\n\nOn second look, option D fits best.",
        SDD,
        False,
        (),
        "unparsed",
    ),
    ("negated-text", "There is no evidence of spondylolisthesis.", SDD, False, (), "unparsed"),
    ("negated-text-after", "Spondylolisthesis is unlikely.", SDD, False, (), "unparsed"),
    ("none-of-the-options", "None of the options is Healthy.", SDD, False, (), "unparsed"),
    ("two-texts", "Findings suggest osteophytes and disc space narrowing.", SDD, False, (), "unparsed"),
    ("sll-levels-hedged", "Narrowing at L4/L5 or L5/S1.", SLL, True, (), "unparsed"),
    ("explicit-none", "My final option: [NONE]", SDD, False, (), "unparsed"),
    (
        "reasoning-without-conclusion",
        "Option A would show a slip. Option C would show bony spurs. I cannot be certain.",
        SDD,
        False,
        (),
        "unparsed",
    ),
    (
        "option-list-without-conclusion",
        "**A. Spondylolisthesis**: no slip.\n**E. Healthy**: would fit if nothing else is seen.",
        SDD,
        False,
        (),
        "unparsed",
    ),
    ("c-spine-is-not-c", "C-spine lateral radiograph with mild straightening.", SDD, False, (), "unparsed"),
    ("pronoun-i", "I think the image quality limits interpretation.", SDD, False, (), "unparsed"),
    ("vitamin-d", "Bone density may be low due to a lack of vitamin D.", SDD, False, (), "unparsed"),
    ("empty", "", SDD, False, (), "unparsed"),
    ("whitespace", "  \n\t \n", SDD, False, (), "unparsed"),
    ("gibberish", "asdf qwerty zxcv ;;; 12345", SDD, False, (), "unparsed"),
    # Refusals.
    (
        "refusal-sorry",
        "I'm sorry, but I can't provide a medical diagnosis from this image. Please consult a qualified "
        "radiologist.",
        SDD,
        False,
        (),
        "refused",
    ),
    ("refusal-as-an-ai", "As an AI, I cannot interpret medical images.", SDD, False, (), "refused"),
    ("refusal-not-able", "I am not able to interpret medical images.", SLL, True, (), "refused"),
    (
        "refusal-consult",
        "These findings need expert review; consult a medical professional.",
        SDD,
        False,
        (),
        "refused",
    ),
]


@pytest.mark.parametrize(
    ("response", "options", "multiple", "letters", "stage"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_extract_answer(
    response: str, options: tuple[str, ...], multiple: bool, letters: tuple[str, ...], stage: str
) -> None:
    assert extract_answer(response, options, multiple=multiple) == Extraction(letters, stage)  # type: ignore[arg-type]


def test_case_table_is_large_and_ids_unique() -> None:
    ids = [case[0] for case in CASES]
    assert len(ids) >= 40
    assert len(set(ids)) == len(ids)


def test_strict_requires_last_line_and_brackets() -> None:
    assert extract_strict("My final option: [B]", SDD, multiple=False) == ("B",)
    assert extract_strict("My final option: B", SDD, multiple=False) is None
    assert extract_strict("My final option: [B]\nConsult a doctor.", SDD, multiple=False) is None
    assert extract_strict("My final option: [b]", SDD, multiple=False) is None
    assert extract_strict("My final options: [B, C]", SDD, multiple=False) is None
    assert extract_strict("My final options: [B, C]", SLL, multiple=True) == ("B", "C")


def test_tolerant_reads_what_strict_reads() -> None:
    assert extract_tolerant("My final options: [C, B]", SLL, multiple=True) == ("B", "C")
    assert extract_tolerant("Some reasoning without an answer.", SDD, multiple=False) is None


def test_option_range_follows_option_count() -> None:
    three = SDD[:3]
    assert extract_answer("My final option: [D]", three, multiple=False).stage == "unparsed"
    assert extract_answer("My final option: [C]", three, multiple=False) == Extraction(("C",), "strict")


def test_judge_reply_none_is_not_an_answer() -> None:
    for reply in ("My final option: [NONE]", "My final options: [NONE]", "My final option: []"):
        assert extract_strict(reply, SLL, multiple=True) is None
        assert extract_tolerant(reply, SLL, multiple=True) is None


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
    ],
)
def test_is_refusal_ignores_answers(response: str) -> None:
    assert not is_refusal(response)


def test_refusal_with_an_answer_is_an_answer() -> None:
    response = "I cannot give medical advice, but the answer is C."
    assert extract_answer(response, SDD, multiple=False) == Extraction(("C",), "tolerant")


def test_judge_prompt_single() -> None:
    response = "Option A looks unlikely; I lean towards the spurs."
    prompt = judge_prompt("Which diagnosis is most likely?", SDD, response, multiple=False)
    assert "Which diagnosis is most likely?" in prompt
    for letter, text in zip("ABCDE", SDD, strict=True):
        assert f"{letter}. {text}" in prompt
    assert response in prompt
    assert "My final option: [X]" in prompt
    assert "My final option: [NONE]" in prompt
    assert "My final options" not in prompt
    assert "A to E" in prompt
    assert "Do not answer the question yourself" in prompt


def test_judge_prompt_multiple() -> None:
    prompt = judge_prompt("Which levels?", SLL, "L4/L5 and L5/S1.", multiple=True)
    assert "My final options: [X, Y]" in prompt
    assert "My final options: [NONE]" in prompt
    assert "every option" in prompt
    assert "E. L1/L2" in prompt


def test_judge_prompt_reply_round_trips() -> None:
    prompt = judge_prompt("Q?", SDD, "spurs", multiple=False)
    example = prompt.split("`")[1].replace("X", "C")
    assert extract_strict(example, SDD, multiple=False) == ("C",)
