"""The public style table: replies in the forms models write, each with the letters the cascade must read
(or none) and the stage. Used by the cascade's tests and by the test that the exported harness files,
without spinebench, read every reply the same way."""

from __future__ import annotations

from dataclasses import dataclass

from spinebench.extract import Stage


@dataclass(frozen=True, slots=True)
class Style:
    name: str
    response: str
    options: tuple[str, ...]
    multiple: bool
    letters: tuple[str, ...]
    stage: Stage
    finish_reason: str | None = None


SDD = ("Spondylolisthesis", "Disc space narrowing", "Osteophytes", "Vertebral collapse", "Healthy")
SLL = ("L2/L3", "L5/S1", "L4/L5", "L3/L4", "L1/L2")
# Options in which the model's own lettering of the levels happens to be the question's.
SLL_IN_ORDER = ("L1/L2", "L4/L5", "L2/L3", "L5/S1", "L3/L4")
STENOSES = ("Stenosis", "Spinal canal stenosis", "Foraminal stenosis", "Osteophytes", "Healthy")
CERVICAL = (
    "Cervical lordosis",
    "Cervical kyphosis",
    "Straight cervical vertebrae",
    "Sigmoid cervical vertebrae",
    "Healthy",
)

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


def case(
    name: str,
    response: str,
    letters: str,
    stage: Stage,
    *,
    sll: bool = False,
    options: tuple[str, ...] | None = None,
    finish_reason: str | None = None,
) -> Style:
    chosen = options if options is not None else SLL if sll else SDD
    return Style(name, response, chosen, sll, tuple(letters), stage, finish_reason)


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
    case("therefore-letter-text", "Therefore, D. Vertebral collapse.", "D", "text"),
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
    case("option-text", REASONING + "The most likely diagnosis is spondylolisthesis.", "A", "text"),
    case("option-text-after-article", "A disc space narrowing is visible at L4.", "B", "text"),
    case("option-text-healthy", "The spine appears healthy with no abnormalities.", "E", "text"),
    case(
        "option-text-then-disclaimer",
        "It is most consistent with vertebral collapse." + DISCLAIMER,
        "D",
        "text",
    ),
    case("option-text-bold", "The most likely diagnosis is **Osteophytes**.", "C", "text"),
    case(
        "conclusion-then-support",
        REASONING + "Therefore, the most likely diagnosis is osteophytes. This is supported by the beak-like "
        "bony outgrowths.",
        "C",
        "text",
    ),
    case("sll-levels", "Narrowing is seen at L4/L5 and L5/S1.", "BC", "text", sll=True),
    case("sll-level-spellings", "The affected levels are L4-5 and L5-S1.", "BC", "text", sll=True),
    case("sll-level-dash", "There is narrowing at L4-L5.", "C", "text", sll=True),
    case(
        "sll-levels-preserved-then-finding",
        "The disc spaces at L1/L2, L2/L3 and L3/L4 are preserved. There is narrowing at L4/L5.",
        "C",
        "text",
        sll=True,
    ),
    case("sll-level-alone", "L4/L5", "C", "text", sll=True),
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
    # Hedges and named alternatives anywhere in the conclusion: no letter from the rules.
    case("hedge-but-could-be", "I think it's B but could be C.", "", "unparsed"),
    case("hedge-second-choice", "My first choice is C; a second choice would be D.", "", "unparsed"),
    case("hedge-or-possibly-parens", "The answer is B (or possibly C)", "", "unparsed"),
    case("hedge-alternatively-next-line", "Answer: B\nAlternatively D", "", "unparsed"),
    case("sll-hedge-possibly", "B, C and possibly D", "", "unparsed", sll=True),
    case("sll-answer-hedged-level", "The answer is B, C and possibly D.", "", "unparsed", sll=True),
    case("hedge-either-across-lines", "It is either B\nor D.", "", "unparsed"),
    case("hedge-vs", "Final answer: B vs D", "", "unparsed"),
    case("sll-hedge-and-or", "The affected levels are L4/L5 and/or L5/S1.", "", "unparsed", sll=True),
    case("hedge-cannot-be-excluded", "The answer is C, although D cannot be excluded.", "", "unparsed"),
    case("hedge-less-likely-in-conclusion", "The answer is C; B is less likely.", "", "unparsed"),
    case("hedge-perhaps", "Perhaps C.", "", "unparsed"),
    case("hedge-if-not", "C, if not D.", "", "unparsed"),
    case("hedge-second-most-likely", "The answer is C. The second most likely is D.", "", "unparsed"),
    case("hedge-chinese-or", "答案是B或C", "", "unparsed"),
    case("hedge-boxed-or", "\\boxed{\\text{B or C}}", "", "unparsed"),
    case(
        "strict-wins-over-differential",
        "D is less likely because the endplates are intact, and A cannot be excluded on this view.\n"
        "My final option: [C]",
        "C",
        "strict",
    ),
    case(
        "strict-wins-over-alternative-earlier",
        "Alternatively, it could be B or possibly E.\nMy final option: [C]",
        "C",
        "strict",
    ),
    case("hedge-is-possible", "Final answer: C (although B is possible)", "", "unparsed"),
    case("hedge-a-possibility", "The answer is C. However, D is also a possibility.", "", "unparsed"),
    case("hedge-runner-up", "Answer: B, with C a close runner-up.", "", "unparsed"),
    case("hedge-or-on-next-line", "The answer is B\nor C", "", "unparsed"),
    case(
        "sll-hedge-probably-level", "Findings: L4/L5 and L5/S1, probably L3/L4 too.", "", "unparsed", sll=True
    ),
    case("sdd-probably-is-an-answer", "The answer is probably C.", "C", "tolerant"),
    # Contradictions.
    case("contradiction-answer-then-rejected", "Answer: B. Option B is incorrect.", "", "unparsed"),
    case("contradiction-two-answers", "The answer is B. The answer is D.\nSo B.", "", "unparsed"),
    case("revision-by-final-line", "The answer is B.\nMy final option: [C]", "C", "strict"),
    # Option texts instead of letters (stage `text`), matched against this question's options.
    case("text-diagnosis", "The most likely diagnosis is spondylolisthesis.", "A", "text"),
    case("text-synonym-anterolisthesis", "The findings indicate anterolisthesis.", "A", "text"),
    case("text-synonym-normal", "The lumbar spine looks normal.", "E", "text"),
    case("text-synonym-bone-spurs", "Bone spurs at the anterior vertebral margins.", "C", "text"),
    case("text-case-and-punctuation", "Diagnosis: DISC-SPACE NARROWING.", "B", "text"),
    case("text-boxed", "$\\boxed{\\text{Osteophytes}}$", "C", "text"),
    case("sll-text-final-answer-levels", "Final answer: L4/L5 and L5/S1", "BC", "text", sll=True),
    case("sll-text-en-dash", "Narrowing at L4–L5.", "C", "text", sll=True),
    case("sll-text-short-slash", "The lesion is at L4/5.", "C", "text", sll=True),
    case("cervical-text-kyphosis", "The cervical spine shows kyphosis.", "B", "text", options=CERVICAL),
    case(
        "sll-letters-with-own-texts",
        "Final answer: (A) L1/L2, (B) L4/L5",
        "AB",
        "tolerant",
        sll=True,
        options=SLL_IN_ORDER,
    ),
    case("sll-letter-text-list", "(A) L1/L2, (B) L4/L5", "AB", "tolerant", sll=True, options=SLL_IN_ORDER),
    case("sll-letters-with-other-texts", "Final answer: (A) L1/L2, (B) L4/L5", "", "unparsed", sll=True),
    case("text-two-options", "Spondylolisthesis with vertebral collapse.", "", "unparsed"),
    case("text-inside-another-option", "It shows stenosis.", "", "unparsed", options=STENOSES),
    case("text-longer-option", "It shows spinal canal stenosis.", "B", "text", options=STENOSES),
    case("text-loss-of-lordosis", "Loss of lordosis.", "", "unparsed", options=CERVICAL),
    # Reasoning blocks: stored apart, never read.
    case(
        "think-then-strict",
        "<think>Maybe A or B... no slip, so not A.</think>\nMy final option: [B]",
        "B",
        "strict",
    ),
    case(
        "think-hedges-ignored",
        "<think>It could be C, or possibly D.</think>\nThe answer is C.",
        "C",
        "tolerant",
    ),
    case("think-without-opening-tag", "Hmm, B or D?</think>\n\nMy final option: [D]", "D", "strict"),
    case("thinking-tag", "<thinking>A?</thinking>Answer: C", "C", "tolerant"),
    case("think-answer-only-inside", "<think>The answer is B.</think>", "", "unparsed"),
    case("think-magistral-answer-only-inside", "[THINK]The answer is B.[/THINK]", "", "unparsed"),
    case("think-kimi-answer-only-inside", "◁think▷The answer is probably B.◁/think▷", "", "unparsed"),
    case("reasoning-tag-answer-only-inside", "<reasoning>The answer is B.</reasoning>", "", "unparsed"),
    case("think-magistral-then-answer", "[THINK]Maybe A.[/THINK]The answer is B.", "B", "tolerant"),
    case("think-kimi-then-answer", "◁think▷Maybe A.◁/think▷The answer is B.", "B", "tolerant"),
    case("think-magistral-unclosed", "[THINK]The answer is B", "", "truncated"),
    case("think-unclosed", "<think>Looking at L4/L5, the disc is", "", "truncated", sll=True),
    case(
        "think-unclosed-after-block",
        "<think>First pass.</think>Answer: <think>wait, let me re-check B",
        "",
        "truncated",
    ),
    # Cut off by the token limit: not read, whatever it says so far.
    case("truncated-mid-sentence", "Level by level: option E shows", "", "truncated", finish_reason="length"),
    case("truncated-with-answer-form", "The answer is B and", "", "truncated", finish_reason="length"),
    case("finished-normally", "The answer is B.", "B", "tolerant", finish_reason="stop"),
    case("cut-off-without-finish-reason", "Level by level: option E shows", "", "unparsed"),
    # Other languages.
    case("spanish", "La respuesta correcta es C.", "C", "tolerant"),
    case("german", "Die Antwort ist B.", "B", "tolerant"),
    case("french", "La réponse est D.", "D", "tolerant"),
    case("spanish-or", "La respuesta es B o C.", "", "unparsed"),
    case("german-or", "Die Antwort ist B oder C.", "", "unparsed"),
    case("french-or", "La réponse est B ou D.", "", "unparsed"),
    case("italian", "La risposta corretta è E.", "E", "tolerant"),
    case("japanese", "答え：C", "C", "tolerant"),
    case("japanese-seikai", "正解はB", "B", "tolerant"),
    # LaTeX.
    case("boxed-text-letter", "\\boxed{\\text{B}}", "B", "tolerant"),
    case("boxed-textbf", "The final answer is $\\boxed{\\textbf{D}}$.", "D", "tolerant"),
    case("boxed-two-letters-sdd", "\\boxed{B, C}", "", "unparsed"),
    # An answer, then a disclaimer: an answer.
    case(
        "answer-then-consult",
        "Based on the image I'd go with C. Please consult a radiologist.",
        "C",
        "tolerant",
    ),
    # A wrong letter is worse than none: rejections, corrections, hedges, negated texts and shortened sets
    # (found by review) give no letter.
    case(
        "sll-colon-not-affected-list",
        "Affected: L4/L5. Not affected: L5/S1, L3/L4.",
        "",
        "unparsed",
        sll=True,
    ),
    case("sll-colon-yes-no-values", "L4/L5: yes. L5/S1: no. L3/L4: no.", "", "unparsed", sll=True),
    case("sll-every-level-but", "Every level but L4/L5.", "", "unparsed", sll=True),
    case("rejected-cannot-be", "The answer cannot be A.", "", "unparsed"),
    case("rejected-would-never-be", "It would never be A.", "", "unparsed"),
    case("rejected-diagnosis-cannot-be", "The diagnosis cannot be B.", "", "unparsed"),
    case("rejected-dont-think", "I don't think the answer is A.", "", "unparsed"),
    case("rejected-unlikely-that", "It is unlikely that the answer is A.", "", "unparsed"),
    case("rejected-incorrect-option", "The incorrect option is A.", "", "unparsed"),
    case("rejected-wrong-answer", "The wrong answer is A.", "", "unparsed"),
    case("rejected-least-likely-answer", "The least likely answer is A.", "", "unparsed"),
    case("rejected-option-least-likely", "Option A is the least likely.", "", "unparsed"),
    case("rejected-option-improbable", "Option A is improbable.", "", "unparsed"),
    case("rejected-option-false", "Option A is false.", "", "unparsed"),
    case("rejected-option-distractor", "Option A is a distractor.", "", "unparsed"),
    case("rejected-eliminate-option", "We can eliminate option A.", "", "unparsed"),
    case("rejected-less-consistent-than", "Option A is less consistent than option C.", "", "unparsed"),
    case("rejected-fits-worse-than", "Option B fits worse than option D.", "", "unparsed"),
    case("rejected-answer-colon-incorrect", "Answer: A is incorrect.", "", "unparsed"),
    case("rejected-answer-no-yes", "Answer: A - no, C - yes", "", "unparsed"),
    case("rejected-option-inconsistent", "Option A is inconsistent with the findings.", "", "unparsed"),
    case("text-negative-for", "Negative for spondylolisthesis.", "", "unparsed"),
    case("text-free-of", "Free of spondylolisthesis.", "", "unparsed"),
    case("text-colon-absent", "Spondylolisthesis: absent.", "", "unparsed"),
    case("text-colon-none", "Spondylolisthesis: none.", "", "unparsed"),
    case("text-colon-no", "Spondylolisthesis: no.", "", "unparsed"),
    case("text-considered-and-rejected", "Spondylolisthesis was considered and rejected.", "", "unparsed"),
    case("correction-after-note", "The answer is B. Note: on closer inspection it is D.", "", "unparsed"),
    case(
        "correction-radiologist-would-favour",
        "The answer is B.\nHowever, a radiologist would favour D.",
        "",
        "unparsed",
    ),
    case("correction-note-i-meant", "My final option: [B]\nNote: I meant D.", "", "unparsed"),
    case("correction-wait-no", "Answer: B. Wait, no — D.", "", "unparsed"),
    case("correction-or-in-parentheses", "My final option: [B]\n(or D)", "", "unparsed"),
    case("correction-note-other-fits", "The answer is B\n\nNote: option C would also fit.", "", "unparsed"),
    case("hedge-percentages-or", "Answer: B (60%) or D (40%)", "", "unparsed"),
    case("hedge-sentence-or", "The answer is B. Or D.", "", "unparsed"),
    case("hedge-also-plausible", "The answer is B, though C is also plausible.", "", "unparsed"),
    case("hedge-not-excluded", "The answer is C, though D is not excluded.", "", "unparsed"),
    case("hedge-otherwise", "The answer is B; otherwise D.", "", "unparsed"),
    case("hedge-else", "The answer is B, else D.", "", "unparsed"),
    case("hedge-equally-plausible", "The answer is B. However, D is equally plausible.", "", "unparsed"),
    case("hedge-followed-closely", "The answer is B, followed closely by C.", "", "unparsed"),
    case("sll-hedge-questionable", "Final answer: B, C (D questionable)", "", "unparsed", sll=True),
    case("sll-hedge-borderline", "Final answer: B, C; D borderline", "", "unparsed", sll=True),
    case("sll-hedge-uncertain", "Final answer: B, C; D uncertain", "", "unparsed", sll=True),
    case("sll-hedge-equivocal", "Final answer: B, C; D equivocal", "", "unparsed", sll=True),
    case("japanese-not-a-but-c", "答えはAではなくC", "", "unparsed"),
    case("japanese-is-not", "答えはAではありません。", "", "unparsed"),
    case("japanese-or", "答えはBまたはC", "", "unparsed"),
    case("chinese-possibly", "答案是B，可能是C", "", "unparsed"),
    case("spanish-aunque", "La respuesta es A, aunque podría ser C.", "", "unparsed"),
    case("german-eventuell", "Die Antwort ist B, eventuell auch C.", "", "unparsed"),
    case("french-aussi-possible", "La réponse est B, mais C est aussi possible.", "", "unparsed"),
    case("sll-german-und", "Die Antwort ist B und C.", "", "unparsed", sll=True),
    case("sll-french-et", "La réponse est B et C.", "", "unparsed", sll=True),
    case("sll-chinese-he", "答案是B和C", "", "unparsed", sll=True),
    case("sll-chinese-enumeration-comma", "答案：B、C", "", "unparsed", sll=True),
    case(
        "healthy-alignment-side-remark",
        "Impression: osteophytes at L3-L4. Alignment is normal.",
        "",
        "unparsed",
    ),
    case("healthy-otherwise-side-remark", "Osteophytes. Otherwise healthy.", "", "unparsed"),
    case(
        "healthy-rest-of-spine-normal",
        "Diagnosis: vertebral collapse.\nThe rest of the spine looks normal.",
        "",
        "unparsed",
    ),
    case(
        "healthy-remaining-vertebrae-normal",
        "Osteophytes are seen at L3. The remaining vertebrae are normal.",
        "",
        "unparsed",
    ),
    case("healthy-far-from", "The spine is far from healthy.", "", "unparsed"),
    case("healthy-anything-but", "The spine is anything but healthy.", "", "unparsed"),
    case("healthy-non-healthy", "Non-healthy spine with changes.", "", "unparsed"),
    case("text-considered-but-dismissed", "Spondylolisthesis was considered but dismissed.", "", "unparsed"),
    case("sll-query-mark-level", "Levels: L4/L5, L5/S1, ? L3/L4.", "", "unparsed", sll=True),
    case("sll-query-mark-in-parentheses", "Levels: L4/L5, L5/S1 (? L3/L4).", "", "unparsed", sll=True),
    case("sll-range-through", "Multilevel narrowing from L3/L4 through L5/S1.", "BCD", "text", sll=True),
    case("sll-range-to", "Narrowing from L3/L4 to L5/S1.", "BCD", "text", sll=True),
    case("sll-range-through-other-levels", "Narrowing from L2/L3 through L4/L5.", "ACD", "text", sll=True),
    case("sll-colon-affected-label", "Affected: L4/L5.", "C", "text", sll=True),
    case("sll-colon-affected-value", "L4/L5: affected.", "C", "text", sll=True),
    case("text-impression-without-side-remark", "Impression: osteophytes at L3-L4.", "C", "text"),
    case("text-whole-spine-healthy", "The whole spine is healthy.", "E", "text"),
    case("answer-then-rejected-other", "The answer is C, not A.", "C", "tolerant"),
    case("rejected-then-answer", "Option A is unlikely; the answer is C.", "C", "tolerant"),
    case(
        "think-begin-of-thought-answer-only-inside",
        "<|begin_of_thought|>The answer is B.<|end_of_thought|>",
        "",
        "unparsed",
    ),
    case("hedge-question-mark-after-answer", "The answer is B?", "", "unparsed"),
    case("sll-hedge-question-mark-after-set", "Answer: B, C, D?", "", "unparsed", sll=True),
    case("hedge-low-confidence-also-fits", "Answer: B (low confidence; C also fits)", "", "unparsed"),
    case(
        "hedge-unless-in-which-case",
        "The answer is B unless the slip is real, in which case A.",
        "",
        "unparsed",
    ),
    case("hedge-might-be", "It might be C.", "", "unparsed"),
    case("hedge-if-forced", "None of the options fit; if forced, C.", "", "unparsed"),
    case(
        "hypothesis-would-be-correct-if",
        "Option A would be correct if there were a slip, but there isn't.",
        "",
        "unparsed",
    ),
    case(
        "hypothesis-for-option",
        "The lateral lumbar radiograph shows the vertebral bodies.\n\n"
        "For option D, one would expect loss of vertebral height.",
        "",
        "unparsed",
    ),
    case(
        "hypothesis-would-typically-show",
        "The lateral lumbar radiograph shows the vertebral bodies.\n\n"
        "Option A would typically show an anterior slip.",
        "",
        "unparsed",
    ),
    case("text-positive-for", "Positive for spondylolisthesis.", "A", "text"),
    case("go-for-option", "I go for option D.", "D", "tolerant"),
]
