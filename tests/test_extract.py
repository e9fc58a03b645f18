from __future__ import annotations

import time

import pytest
from _pytest.mark import ParameterSet

from spinebench.extract import (
    Extraction,
    Stage,
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
OPTION_LIST = "**A. Spondylolisthesis**: no slip.\n**E. Healthy**: would fit if nothing else is seen."
DISCLAIMER = "\n\nDisclaimer: this is not medical advice; consult a radiologist."
REFUSAL = (
    "I'm sorry, but I can't provide a medical diagnosis from this image. "
    "Please consult a qualified radiologist."
)


def case(name: str, response: str, letters: str, stage: Stage, *, sll: bool = False) -> ParameterSet:
    return pytest.param(response, SLL if sll else SDD, sll, tuple(letters), stage, id=name)


CASES = [
    # The protocol's final line, as the last line.
    case("strict-sdd", REASONING + "My final option: [D]", "D", "strict"),
    case("strict-case-period-space", "Reasoning.\n  my FINAL Option: [ C ].  \n\n", "C", "strict"),
    case("strict-sll", "Narrowing at two levels.\nMy final options: [C, B]", "BC", "strict", sll=True),
    case("strict-sll-spaces", "My final options: [B C]", "BC", "strict", sll=True),
    case("strict-sll-singular-word", "My final option: [C]", "C", "strict", sll=True),
    case("strict-sll-duplicates", "My final options: [C, B, C]", "BC", "strict", sll=True),
    case(
        "strict-after-template-echo",
        "I must end with `My final option: [X]`.\nMy final option: [B]",
        "B",
        "strict",
    ),
    # The final line, loosened or not last.
    case("final-line-then-disclaimer", REASONING + "My final option: [D]" + DISCLAIMER, "D", "tolerant"),
    case("final-line-no-brackets", "My final option: D", "D", "tolerant"),
    case("final-line-lowercase-letter", "My final option: [d]", "D", "tolerant"),
    case("final-line-bold", "**My final option: [B]**", "B", "tolerant"),
    case("final-line-then-pleasantry", "My final option: [E]\nBest regards.", "E", "tolerant"),
    case("final-line-with-text", "My final option: [C] (Osteophytes)", "C", "tolerant"),
    case("final-line-sll-no-brackets", "My final options: B, C", "BC", "tolerant", sll=True),
    case(
        "final-line-sll-then-note",
        "L4/L5, L5/S1.\nMy final options: [B, C]\nNot medical advice.",
        "BC",
        "tolerant",
        sll=True,
    ),
    # Explicit answer forms.
    case("reasoning-then-answer-is", REASONING + "Therefore the answer is D.", "D", "tolerant"),
    case("answer-is-parens", "The answer is (C).", "C", "tolerant"),
    case("answer-colon", "Answer: C", "C", "tolerant"),
    case("answer-tag", "<think>B or C?</think>\n<answer>C</answer>", "C", "tolerant"),
    case("answer-with-text-after-letter", "The correct answer is E: Healthy.", "E", "tolerant"),
    case("answer-lowercase", "the answer is b", "B", "tolerant"),
    case("answer-is-a-because", "The answer is A because the slip is obvious.", "A", "tolerant"),
    case("final-answer", REASONING + "Final answer: C", "C", "tolerant"),
    case("answer-most-likely", "The answer is most likely E.", "E", "tolerant"),
    case("correct-option-is", "Thus, the correct option is B.", "B", "tolerant"),
    case("answer-bold-paren-text", "The correct answer is: **(B) Disc space narrowing**", "B", "tolerant"),
    case(
        "answer-then-same-text",
        "The answer is C. Osteophytes are visible at the anterior margins.",
        "C",
        "tolerant",
    ),
    case("i-choose", "Weighing the findings, I choose C.", "C", "tolerant"),
    case("id-go-with-option", "I'd go with option C.", "C", "tolerant"),
    case("answer-revised", "At first the answer is A. On reflection, the answer is D.", "D", "tolerant"),
    case(
        "answer-first-then-explanation",
        "Answer: B\n\nExplanation: the L4-L5 disc is thin; option A is unlikely because there is no slip.",
        "B",
        "tolerant",
    ),
    case(
        "answer-first-unlike-option",
        "The answer is D\n\nReasoning: the body is flattened, unlike in option A.",
        "D",
        "tolerant",
    ),
    case("answer-then-thanks", REASONING + "The answer is B.\n\nI hope this helps!", "B", "tolerant"),
    case(
        "refusal-words-then-answer",
        "I'm unable to be definitive, but the most likely answer is D.",
        "D",
        "tolerant",
    ),
    case("sll-answer-and", "The answer is B and C.", "BC", "tolerant", sll=True),
    case("sll-answer-oxford-comma", "Answer: B, C, and E", "BCE", "tolerant", sll=True),
    # Markdown and LaTeX.
    case("bold-letter", REASONING + "**B**", "B", "tolerant"),
    case("bold-answer", REASONING + "**Answer: B**", "B", "tolerant"),
    case("bold-answer-label-outside", "**Answer:** B", "B", "tolerant"),
    case("bold-letter-with-text", REASONING + "**B. Disc space narrowing**", "B", "tolerant"),
    case("bold-final-answer-with-text", "**Final Answer: C. Osteophytes**", "C", "tolerant"),
    case("markdown-heading", "### Final Answer\n\n**C**", "C", "tolerant"),
    case("boxed", REASONING + "$\\boxed{C}$", "C", "tolerant"),
    case("boxed-text", "Thus: $\\boxed{\\text{C}}$", "C", "tolerant"),
    case("boxed-sll", "\\boxed{B, C}", "BC", "tolerant", sll=True),
    case("dollar-letter", "So I would settle on $E$.", "E", "tolerant"),
    # Letters at the end of the conclusion.
    case(
        "option-in-conclusion", REASONING + "After weighing everything, option C fits best.", "C", "tolerant"
    ),
    case("text-then-paren-letter", "The most consistent finding is osteophytes (C)", "C", "tolerant"),
    case("letter-is-most-likely", "B is the most likely diagnosis.", "B", "tolerant"),
    case("its-letter", "So it's D.", "D", "tolerant"),
    case("hence-letter", "No slip, no collapse, marginal spurs. Hence C.", "C", "tolerant"),
    case("therefore-letter-text", "Therefore, D. Vertebral collapse.", "D", "tolerant"),
    case("lone-letter", "C", "C", "tolerant"),
    case("lone-letter-period", "C.", "C", "tolerant"),
    case("lone-lowercase", "c", "C", "tolerant"),
    case("lone-bracketed", "[C]", "C", "tolerant"),
    case("lone-article-letter", "A", "A", "tolerant"),
    case("lone-letter-with-text", "C. Osteophytes", "C", "tolerant"),
    case("lone-option-colon-text", "Option B: Disc space narrowing", "B", "tolerant"),
    case("sll-lone-letters", "B, C", "BC", "tolerant", sll=True),
    case("sll-options-and", "Options B and C show narrowing.", "BC", "tolerant", sll=True),
    case("chinese-colon", "根据影像表现，椎体前缘有骨赘形成。\n答案：C", "C", "tolerant"),
    case("chinese-shi", "最可能的诊断是骨赘。答案是C", "C", "tolerant"),
    case("chinese-full-width-parens", "答案：B（椎间隙狭窄）", "B", "tolerant"),
    # The text of an option instead of its letter.
    case("option-text", REASONING + "The most likely diagnosis is spondylolisthesis.", "A", "tolerant"),
    case("option-text-after-article", "A disc space narrowing is visible at L4.", "B", "tolerant"),
    case("option-text-healthy", "The spine appears healthy with no abnormalities.", "E", "tolerant"),
    case(
        "option-text-then-disclaimer",
        "It is most consistent with vertebral collapse." + DISCLAIMER,
        "D",
        "tolerant",
    ),
    case("option-text-bold", "The most likely diagnosis is **Osteophytes**.", "C", "tolerant"),
    case(
        "conclusion-then-support",
        REASONING + "Therefore, the most likely diagnosis is osteophytes. This is supported by the beak-like "
        "bony outgrowths.",
        "C",
        "tolerant",
    ),
    case("sll-levels", "Narrowing is seen at L4/L5 and L5/S1.", "BC", "tolerant", sll=True),
    case("sll-level-spellings", "The affected levels are L4-5 and L5-S1.", "BC", "tolerant", sll=True),
    case("sll-level-dash", "There is narrowing at L4-L5.", "C", "tolerant", sll=True),
    case(
        "sll-levels-preserved-then-finding",
        "The disc spaces at L1/L2, L2/L3 and L3/L4 are preserved. There is narrowing at L4/L5.",
        "C",
        "tolerant",
        sll=True,
    ),
    case("sll-level-alone", "L4/L5", "C", "tolerant", sll=True),
    case(
        "sll-levels-with-letters",
        "The lesions are at L4/L5 and L5/S1 (options C and B).",
        "BC",
        "tolerant",
        sll=True,
    ),
    # Never guess: ambiguous, contradictory, out-of-range or negated answers.
    case("sdd-two-letters-strict-form", "My final option: [B, C]", "", "unparsed"),
    case("sdd-two-letters", "The answer is B and D.", "", "unparsed"),
    case("a-or-b", "The answer is A or B.", "", "unparsed"),
    case("either-or", "It's either B or D.", "", "unparsed"),
    case("answer-or-possibly", "The answer is B or possibly D.", "", "unparsed"),
    case("out-of-range-strict", "My final option: [F]", "", "unparsed"),
    case("out-of-range-answer", REASONING + "The answer is F.", "", "unparsed"),
    case("out-of-range-i", "The answer is I", "", "unparsed"),
    case("sll-out-of-range", "My final options: [B, F]", "", "unparsed", sll=True),
    case("letter-text-mismatch", "The answer is C (Spondylolisthesis).", "", "unparsed"),
    case("letter-text-mismatch-next-sentence", "The answer is C. Spondylolisthesis", "", "unparsed"),
    case("lone-letter-text-mismatch", "C. Spondylolisthesis", "", "unparsed"),
    case(
        "answer-contradicted-by-conclusion",
        "Answer: B\n\nOn second look, option D fits best.",
        "",
        "unparsed",
    ),
    case(
        "answer-then-hedged-conclusion", "Answer: B\n\nOption A or option D is also possible.", "", "unparsed"
    ),
    case("option-negated", "Option B is not correct.", "", "unparsed"),
    case("options-through", "I considered options B through E.", "", "unparsed"),
    case("negated-text", "There is no evidence of spondylolisthesis.", "", "unparsed"),
    case("negated-text-after", "Spondylolisthesis is unlikely.", "", "unparsed"),
    case("none-of-the-options", "None of the options is Healthy.", "", "unparsed"),
    # An option named and another rejected in one unit: negation scope is left to the judge.
    case("texts-named-and-rejected", "It is not spondylolisthesis but osteophytes.", "", "unparsed"),
    case("texts-more-likely-than", "Osteophytes are more likely than spondylolisthesis.", "", "unparsed"),
    case(
        "sll-levels-one-preserved",
        "Narrowing at L4/L5 and L5/S1, L3/L4 is preserved.",
        "",
        "unparsed",
        sll=True,
    ),
    case(
        "sll-enumeration-preserved",
        "Narrowing at L4-L5 and L5-S1, with preserved heights at L1-L2, L2-L3 and L3-L4.",
        "",
        "unparsed",
        sll=True,
    ),
    case("two-texts", "Findings suggest osteophytes and disc space narrowing.", "", "unparsed"),
    case("sll-levels-hedged", "Narrowing at L4/L5 or L5/S1.", "", "unparsed", sll=True),
    case("explicit-none", "My final option: [NONE]", "", "unparsed"),
    case(
        "none-after-discussion", "Option B seemed likely at first.\nMy final option: [NONE]", "", "unparsed"
    ),
    case(
        "conditional-answer",
        "So the answer would be A if there were a slip, but there isn't.",
        "",
        "unparsed",
    ),
    case(
        "reasoning-without-conclusion",
        "Option A would show a slip. Option C would show bony spurs. I cannot be certain.",
        "",
        "unparsed",
    ),
    case("option-list-without-conclusion", OPTION_LIST, "", "unparsed"),
    case(
        "options-echoed-at-end", "Let me list the options.\nD. Vertebral collapse\nE. Healthy", "", "unparsed"
    ),
    case("answer-choices-mentioned", "The answer choices B through E are less likely.", "", "unparsed"),
    case("c-spine-is-not-c", "C-spine lateral radiograph with mild straightening.", "", "unparsed"),
    case("eg-is-not-e", "The image shows a lumbar spine. E.g. the L4 vertebra.", "", "unparsed"),
    case("pronoun-i", "I think the image quality limits interpretation.", "", "unparsed"),
    case("vitamin-d", "Bone density may be low due to a lack of vitamin D.", "", "unparsed"),
    case("hepatitis-b", "Hepatitis B.", "", "unparsed"),
    case("empty", "", "", "unparsed"),
    case("whitespace", "  \n\t \n", "", "unparsed"),
    case("gibberish", "asdf qwerty zxcv ;;; 12345", "", "unparsed"),
    # Refusals.
    case("refusal-sorry", REFUSAL, "", "refused"),
    case("refusal-as-an-ai", "As an AI, I cannot interpret medical images.", "", "refused"),
    case("refusal-not-able", "I am not able to interpret medical images.", "", "refused", sll=True),
    case(
        "refusal-consult", "These findings need expert review; consult a medical professional.", "", "refused"
    ),
    case(
        "refusal-cannot-determine",
        "The image is a lateral view. I cannot determine the answer.",
        "",
        "refused",
    ),
]


@pytest.mark.parametrize(("response", "options", "multiple", "letters", "stage"), CASES)
def test_extract_answer(
    response: str, options: tuple[str, ...], multiple: bool, letters: tuple[str, ...], stage: Stage
) -> None:
    assert extract_answer(response, options, multiple=multiple) == Extraction(letters, stage)


def test_case_table_is_large_and_ids_unique() -> None:
    ids = [param.id for param in CASES]
    assert len(ids) >= 40
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
    assert extraction == Extraction(letters, "tolerant")
