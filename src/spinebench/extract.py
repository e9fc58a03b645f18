"""Read the chosen option letters out of a model's free-text answer.

The cascade: the protocol's exact final line (`strict`), then looser answer forms (`tolerant`), then refusal
detection; anything else is `unparsed`. The runner may then ask an LLM judge (prompt from `judge_prompt`) and
parse its one-line reply with the same two parsers (stage `judge`).

Tolerant extraction never guesses. It reads two units (a unit is a sentence or a line): the last one holding an
explicit answer form ("the answer is C", "My final option: C", `\\boxed{C}`), and the conclusion, the last
sentence before any trailing disclaimer, where weaker forms also count ("option C fits best", `**C**`, a lone
"C", or the text of exactly one option). When these disagree, hedge ("A or B"), or name a letter outside the
options, the answer is None.

Speed: the runner calls this for every answer, so regexes that scan a whole response start with a literal
(Python's engine skips ahead on one) and run on lowercased text instead of with IGNORECASE, which is ~10x slower.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, NamedTuple

from spinebench.taxonomy import LETTERS

__all__ = [
    "Extraction",
    "Stage",
    "extract_answer",
    "extract_strict",
    "extract_tolerant",
    "is_refusal",
    "judge_prompt",
]

Stage = Literal["strict", "tolerant", "judge", "unparsed", "refused"]


@dataclass(frozen=True, slots=True)
class Extraction:
    """The letters read from a response (sorted, unique; empty when unparsed or refused) and how."""

    letters: tuple[str, ...]
    stage: Stage


def extract_answer(response: str, options: Sequence[str], *, multiple: bool) -> Extraction:
    """Strict, then tolerant extraction, then refusal detection; `unparsed` when all fail."""
    letters = extract_strict(response, options, multiple=multiple)
    if letters is not None:
        return Extraction(letters, "strict")
    letters = extract_tolerant(response, options, multiple=multiple)
    if letters is not None:
        return Extraction(letters, "tolerant")
    return Extraction((), "refused" if is_refusal(response) else "unparsed")


_STRICT: Final = re.compile(
    r"\s*(?i:my\s+final\s+options?)\s*:\s*\[\s*(?P<set>[A-Z](?:\s*,\s*[A-Z]|\s+[A-Z])*)\s*\]\s*\.?\s*"
)


def extract_strict(response: str, options: Sequence[str], *, multiple: bool) -> tuple[str, ...] | None:
    """The letters of the protocol's final line when it is the last non-empty line, exactly; else None."""
    match = _STRICT.fullmatch(response.rstrip().rsplit("\n", 1)[-1])
    return None if match is None else _finish(_letters_of(match["set"]), options, multiple=multiple)


# A letter counts only where it cannot be part of a word, a spine level ("C5"), "C-spine", "e.g." or "I'm".
_LETTER_AFTER: Final = r"(?![A-Za-z0-9'’]|[-‐–][A-Za-z0-9]|\.[A-Za-z0-9])"
# "A" and "I" are also English words: before a lowercase word they are an article or a pronoun
# ("A disc space...", "I think..."), unless that word is one that follows an answer letter.
_WORD_LETTER_GUARD: Final = (
    r"(?!\s+(?!(?:is|was|because|since|as|for|which|given|due|seems|appears|and|or|with|fits|best|would"
    r"|matches)\b)[a-z])"
)


def _letter_set(letters: str, words: str, *, bold: bool = True) -> str:
    letter = (
        rf"(?<![A-Za-z0-9'’/\\-])(?:(?![{words}])[{letters}]|[{words}]{_WORD_LETTER_GUARD}){_LETTER_AFTER}"
    )
    stars = "*" if bold else ""
    opening = rf"[\[({{{stars}_$\"'`“‘【「]+"
    closing = rf"[\])}}{stars}_$\"'`”’】」]+"
    joiner = r"(?:\s*[,;&+]\s*(?:(?:and|or)\s+)?|\s+(?:(?:and|or|&)\s+)?)"
    # Whitespace belongs to the joiner: the first way to match wins, so a trailing `\s*` would end the set.
    item = rf"(?:{opening}\s*)?{letter}(?:\s*{closing})?"
    return rf"{item}(?:{joiner}{item})*"


_SET: Final = _letter_set("A-Za-z", "AaIi")
_UPPER_SET: Final = _letter_set("A-Z", "AI")
_SET_AT: Final = re.compile(_SET)
_LETTER_IN_SET: Final = re.compile(r"(?<![A-Za-z])[A-Za-z](?![A-Za-z])")
_HEDGE: Final = re.compile(r"\b(?:or|either)\b")
_TRAILING_HEDGE: Final = re.compile(r"[\s,]*(?:or\b|/)")

# Cues of an explicit answer, matched on lowercased text; the letter set after them is matched on the original.
_STRONG_CUE: Final = re.compile(
    r"(?:final\s+(?:answers?|options?|choices?)|(?:correct|best|right)\s+(?:options?|choices?)|answers?)"
    r"(?![a-z])\**\s*(?:(?:is|are)\s*[:：]?|是|为|应为|[:：=]|\s[-–—])\s*\**\s*(?:(?:most\s+)?(?:likely|probably)\s+)?"
    r"(?:(?:options?|choices?|选项)\s*)?"
    r"|答案\s*(?:是|为|应为)?\s*[:：]?\s*(?:选项)?\s*"
    r"|(?P<verb>choose|select|pick|go\s+with|opt\s+for)\s+(?:(?:options?|choices?)\s+)?"
    r"|\\boxed\s*\{\s*(?:\\(?:text|textbf|mathrm|mathbf)\s*\{\s*)?"
)
_STRONG_NEEDLES: Final = (
    "answer",
    "option",
    "choice",
    "choose",
    "select",
    "pick",
    "go with",
    "opt for",
    "boxed",
    "答案",
)
# Only "I choose C", not "you may choose A or B".
_FIRST_PERSON_BEFORE: Final = re.compile(r"(?<![a-z])i(?:\s+would|\s+will|['’]d|['’]ll)?\s+$")
_FIRST_PERSON_WINDOW: Final = 12
_NO_ANSWER_LINE: Final = re.compile(r"final\s+(?:options?|answers?)\s*[:：]?\s*\[\s*(?:none)?\s*\]")

_LONE: Final = re.compile(
    r"^[\s\[(*_\"'`]*(?i:(?:final\s+)?(?:answers?|options?|choices?)\s*[:：]?\s*)?"
    rf"(?P<set>{_SET})[\s\])*_\"'`.:,;!\-–—]*(?P<label>.*?)[\s*_.]*$"
)
# Weaker forms, read in the conclusion only: (substring that must be present, pattern).
_WEAK: Final = (
    ("option", re.compile(rf"(?i:options?\s+)(?P<set>{_SET})")),
    ("choice", re.compile(rf"(?i:choices?\s+)(?P<set>{_SET})")),
    (
        "**",
        re.compile(
            rf"\*\*\s*(?i:(?:options?|choices?)\s+)?(?P<set>{_letter_set('A-Za-z', 'AaIi', bold=False)})"
            r"\s*(?:[.:)\-–—][^*\n]{0,80}?)?\*\*(?!\s*:)"
        ),
    ),
    ("$", re.compile(r"\$\s*(?:\\text(?:bf)?\{\s*)?(?P<set>[A-Za-z])\s*\}?\s*\$")),
    ("(", re.compile(rf"\((?<![A-Za-z0-9]\()\s*(?P<set>{_UPPER_SET})\s*\)")),
    (
        " ",
        re.compile(
            rf"(?P<set>{_UPPER_SET})\s+(?i:is|are)\s+(?i:the\s+)?"
            r"(?i:correct|right|best|most\s+(?:likely|appropriate|accurate|consistent))"
        ),
    ),
)
_END_LETTER: Final = re.compile(
    r"(?:^|[:,=→]|['’]s|(?i:\b(?:is|be|are|say|pick|choose|select|with|option|answer|choice)))"
    rf"\s*(?P<set>[A-Z]){_LETTER_AFTER}\s*[.!]?\s*$"
)
_END_WINDOW: Final = 48

# Negation makes a mention of an option a rejection: "no evidence of spondylolisthesis", "option A is unlikely".
_NEGATION_BEFORE: Final = re.compile(
    r"\b(?:not|no|none|neither|nor|without|exclud\w*|rul(?:e|es|ed|ing)\s+out|rather\s+than|instead\s+of"
    r"|other\s+than|except|against|unlikely|absence\s+of|lack\s+of|than|versus|vs|unlike|compared\s+(?:to|with)"
    r"|in\s+contrast\s+to|as\s+opposed\s+to)\b|n['’]t\b"
)
_NEGATION_AFTER: Final = re.compile(
    r"^\W*(?:[\w'’]+\W+){0,3}?(?:not|unlikely|ruled\s+out|excluded|absent|less\s+likely|incorrect|wrong"
    r"|normal|preserved|spared|intact|unremarkable)\b|^\W*(?:[\w'’]+\W+){0,2}?\w+n['’]t\b"
)
_CLAUSE_BREAK: Final = re.compile(r"[,;:]|—|\s–\s|\b(?:but|whereas|while|however|although|though)\b")

_BLOCK_BREAK: Final = re.compile(r"\n[ \t\r]*\n")
_UNIT_END: Final = re.compile(r"[.!?][ \t\r]+|[。！？]|\n")
_LABEL_ONLY: Final = re.compile(r"[\W_]*[A-Za-z]\.")
_DISCLAIMER: Final = re.compile(
    r"disclaimer|medical\s+advice|substitute\s+for|replacement\s+for|consult|clinical(?:ly)?\s+correlat"
    r"|correlat\w*\s+clinically|educational\s+purpose|informational\s+purpose|please\s+note|note\s*:"
    r"|hope\s+this\s+helps|let\s+me\s+know|radiologist|healthcare\s+(?:provider|professional)"
    r"|qualified\s+(?:medical|health)"
)
_CONCLUSION_MARKER: Final = re.compile(
    r"therefore|thus\b|hence\b|consequently|in\s+conclusion|in\s+summary|to\s+summari[sz]e|overall"
    r"|most\s+(?:likely|consistent|probable)|best\s+(?:answer|choice|option|fits|matches|explains|describes)"
    r"|correct\s+(?:answer|option|choice)|diagnosis\s+is|affected\s+levels?|levels?\s+(?:affected|involved)"
)
_MARKER_LOOKBACK: Final = 3
# A unit that opens with an option's label and goes on to discuss it is a step of the reasoning
# ("**E. Healthy**: would fit if...", "- Option A: no slip"), not a conclusion.
_OPTION_ITEM: Final = re.compile(
    r"^[\s\-*•>#\d.]*(?i:(?:options?|choices?)\s+)?[\[(]?[A-Za-z][\])]?\**\s*[.):\-–—]\s*\S"
)
_LEVEL: Final = re.compile(r"l(\d)\s*/\s*([ls])(\d)")


class _Unit(NamedTuple):
    text: str
    low: str  # same length as `text`, so match positions carry over
    block: int


# A unit's reading: letters, `_NO_ANSWER` (an answer form that commits to nothing valid), or None (no form).
_NO_ANSWER: Final[frozenset[str]] = frozenset()
_Reading = frozenset[str] | None


def extract_tolerant(response: str, options: Sequence[str], *, multiple: bool) -> tuple[str, ...] | None:
    """The letters of a looser answer form at the end of the response; None when absent or ambiguous."""
    valid = frozenset(LETTERS[: len(options)])
    units = _split_units(response)
    if not units:
        return None
    conclusion_at, conclusion = _read_conclusion(units, options, valid)
    strong_at = next((i for i in range(len(units) - 1, -1, -1) if _has_strong(units[i])), None)
    reading = conclusion
    if strong_at is not None and strong_at != conclusion_at:
        strong = _read_unit(units[strong_at], options, valid, weak=False)
        if conclusion is None or strong is None:
            reading = strong if conclusion is None else conclusion
        else:
            reading = strong if conclusion <= strong else _NO_ANSWER
    return None if not reading else _finish(reading, options, multiple=multiple)


def _finish(letters: frozenset[str], options: Sequence[str], *, multiple: bool) -> tuple[str, ...] | None:
    if not letters or not letters <= frozenset(LETTERS[: len(options)]):
        return None
    if not multiple and len(letters) != 1:
        return None
    return tuple(sorted(letters))


def _split_units(response: str) -> list[_Unit]:
    pieces: list[tuple[str, int]] = []
    for block_index, block in enumerate(_BLOCK_BREAK.split(response)):
        start = 0
        for end in _UNIT_END.finditer(block):
            pieces.append((block[start : end.start() + (end[0] != "\n")], block_index))
            start = end.end()
        pieces.append((block[start:], block_index))
    units: list[_Unit] = []
    label = ""
    for piece, block_index in pieces:
        piece = piece.strip()
        if _LABEL_ONLY.fullmatch(piece):
            # "B. Osteophytes" is one answer, not two sentences.
            label = f"{label} {piece}".lstrip()
            continue
        text = f"{label} {piece}".strip() if label else piece
        label = ""
        if text:
            low = text.lower()
            units.append(_Unit(text, low if len(low) == len(text) else text, block_index))
    if label:
        units.append(_Unit(label, label.lower(), pieces[-1][1]))
    return units


def _strong_sets(unit: _Unit) -> list[re.Match[str]]:
    """The letter sets that follow an explicit answer cue in the unit."""
    if not any(needle in unit.low for needle in _STRONG_NEEDLES):
        return []
    sets = []
    for cue in _STRONG_CUE.finditer(unit.low):
        if cue["verb"] and not _FIRST_PERSON_BEFORE.search(
            unit.low, max(0, cue.start() - _FIRST_PERSON_WINDOW), cue.start()
        ):
            continue
        match = _SET_AT.match(unit.text, cue.end())
        if match is not None:
            sets.append(match)
    return sets


def _has_strong(unit: _Unit) -> bool:
    return bool(_strong_sets(unit)) or ("final" in unit.low and bool(_NO_ANSWER_LINE.search(unit.low)))


def _read_conclusion(
    units: list[_Unit], options: Sequence[str], valid: frozenset[str]
) -> tuple[int | None, _Reading]:
    last = next((i for i in range(len(units) - 1, -1, -1) if not _DISCLAIMER.search(units[i].low)), None)
    if last is None:
        return None, None
    reading = _read_unit(units[last], options, valid, weak=True)
    if reading is not None:
        if (
            last > 0
            and _is_labelled_option(units[last], options)
            and _is_labelled_option(units[last - 1], options)
        ):
            # The response ends by listing options ("D. Vertebral collapse" / "E. Healthy"): an echo, not a choice.
            return last, _NO_ANSWER
        return last, reading
    for i in range(last - 1, max(last - 1 - _MARKER_LOOKBACK, -1), -1):
        unit = units[i]
        if unit.block != units[last].block:
            break
        if _CONCLUSION_MARKER.search(unit.low) and not _DISCLAIMER.search(unit.low):
            reading = _read_unit(unit, options, valid, weak=True)
            if reading is not None:
                return i, reading
    return last, None


def _read_unit(unit: _Unit, options: Sequence[str], valid: frozenset[str], *, weak: bool) -> _Reading:
    text, low = unit.text, unit.low
    if _NO_ANSWER_LINE.search(low):
        return _NO_ANSWER
    strong: set[str] = set()
    for match in _strong_sets(unit):
        letters = _letters_of(match[0])
        if not letters <= valid or _HEDGE.search(match[0]) or _TRAILING_HEDGE.match(low, match.end()):
            return _NO_ANSWER
        strong |= letters
    mentioned: set[str] = set()
    hedged = False
    if weak:
        lone = _LONE.match(text)
        lone_ok = lone is not None and _is_label(lone["label"], options)
        if not strong and not lone_ok and _OPTION_ITEM.match(text):
            return None
        matches = [m for needle, pattern in _WEAK if needle in low for m in pattern.finditer(text)]
        end = _END_LETTER.search(text, max(0, len(text) - _END_WINDOW))
        for match in [*matches, end, lone if lone_ok else None]:
            if match is None:
                continue
            letters = _letters_of(match["set"])
            if letters <= valid and (match is lone or not _negated(low, match.start(), match.end())):
                mentioned |= letters
                hedged = hedged or bool(_HEDGE.search(match["set"]))
    named = _named_options(low, options) if weak or strong else _NO_ANSWER
    if strong:
        primary = frozenset(strong)
    elif mentioned:
        if hedged:
            return _NO_ANSWER
        primary = frozenset(mentioned)
    elif named:
        return _NO_ANSWER if _HEDGE.search(low) else named
    else:
        return None
    return primary if mentioned <= primary and named <= primary else _NO_ANSWER


def _letters_of(text: str) -> frozenset[str]:
    return frozenset(letter.upper() for letter in _LETTER_IN_SET.findall(text))


def _is_labelled_option(unit: _Unit, options: Sequence[str]) -> bool:
    lone = _LONE.match(unit.text)
    return bool(lone and lone["label"].strip(" \t*_.)") and _is_label(lone["label"], options))


def _is_label(label: str, options: Sequence[str]) -> bool:
    """A lone letter may carry its option text ("B. Osteophytes"), but nothing else."""
    label = label.strip(" \t*_.)").lower()
    return not label or any(_option_pattern(text).fullmatch(label) for text in options)


def _negated(low: str, start: int, end: int) -> bool:
    clause_start, clause_end = 0, len(low)
    for brk in _CLAUSE_BREAK.finditer(low):
        if brk.end() <= start:
            clause_start = brk.end()
        elif brk.start() >= end:
            clause_end = brk.start()
            break
    return bool(
        _NEGATION_BEFORE.search(low, clause_start, start) or _NEGATION_AFTER.search(low[end:clause_end])
    )


def _named_options(low: str, options: Sequence[str]) -> frozenset[str]:
    spans = [
        (m.start(), m.end(), letter)
        for letter, text in zip(LETTERS, options, strict=False)
        for m in _option_pattern(text).finditer(low)
    ]
    named = {
        letter
        for start, end, letter in spans
        # A shorter option text inside a longer one's mention ("stenosis" in "spinal canal stenosis") is not named.
        if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in spans)
        and not _negated(low, start, end)
    }
    return frozenset(named)


@lru_cache(maxsize=1024)
def _option_pattern(text: str) -> re.Pattern[str]:
    """Matches the option's text in lowercased text, as a whole phrase."""
    text = text.strip().lower()
    level = _LEVEL.fullmatch(text)
    if level:
        upper, region, lower = level.groups()
        # Levels are written many ways: L4/L5, L4-L5, L4-5, L4/5, L4–L5, L4 to L5, L5-S1, L5S1.
        second = f"l?{lower}" if region == "l" else f"s{lower}"
        rest = rf"{upper}(?:\s*(?:[/\-‐–—]|to)\s*{second}|{region}{lower})"
        first = "l"
    else:
        first, rest = re.escape(text[:1]), r"\s+".join(re.escape(word) for word in text[1:].split(" "))
    # The lookbehind sits after the first character so that the engine can skip ahead to that literal.
    return re.compile(rf"{first}(?<![a-z0-9]{first}){rest}(?![a-z0-9])")


_REFUSAL: Final = re.compile(
    r"i(?<![a-z]i)(?:\s+am|['’]m)\s+(?:unable|not\s+(?:able|qualified|in\s+a\s+position|permitted|allowed))\b"
    r"|i(?<![a-z]i)\s+(?:can(?:no|['’])t|could\s*n['’]t|could\s+not|will\s+not|won['’]t|must\s+decline"
    r"|do\s+not\s+feel\s+comfortable|don['’]t\s+feel\s+comfortable)\s+(?:[\w'’]+\s+){0,2}?(?:provide|give"
    r"|offer|make|render|diagnose|interpret|analy[sz]e|assess|evaluate|view|see|read|access|process|help"
    r"|assist|answer|comply|determine|identify|choose|select)"
    r"|as\s+an?\s+(?:ai|artificial\s+intelligence|(?:large\s+)?language\s+model)\b"
    r"|consult\s+(?:with\s+)?(?:a|an|your)\s+(?:(?:qualified|licensed|board[-\s]certified|medical)\s+)*"
    r"(?:medical\s+professional|health\s*care\s+(?:professional|provider)|doctor|physician|radiologist"
    r"|specialist|clinician)"
    r"|not\s+(?:able|qualified|permitted|allowed)\s+to\s+(?:provide|give|offer|make|diagnose|interpret)"
    r"|i['’]m\s+sorry,?\s+but\b|i\s+apologi[sz]e,?\s+but\b"
    r"|我无法|无法提供|不能提供"
)


def is_refusal(response: str) -> bool:
    """Whether the response declines to answer (e.g. "As an AI, I cannot provide a diagnosis")."""
    return bool(_REFUSAL.search(response.lower()))


def judge_prompt(question: str, options: Sequence[str], response: str, *, multiple: bool) -> str:
    """The request to an LLM judge: which option(s) the response commits to, as one final line."""
    letters = LETTERS[: len(options)]
    listed = "\n".join(f"{letter}. {text}" for letter, text in zip(letters, options, strict=False))
    span = f"{letters[0]} to {letters[-1]}" if letters else "none"
    if multiple:
        answer_line, none_line = "My final options: [X, Y]", "My final options: [NONE]"
        count_rule = (
            "Several options may be correct: give every option the response commits to in its conclusion, "
            "separated by commas."
        )
    else:
        answer_line, none_line = "My final option: [X]", "My final option: [NONE]"
        count_rule = "Exactly one option is correct: if the response commits to more than one option, it commits to none."
    return (
        "You are reading another model's answer to a multiple-choice question about a spine image. "
        "Do not answer the question yourself and do not judge whether the answer is right: only report "
        "which option(s) the response commits to as its final answer.\n\n"
        f"Question:\n{question}\n\nOptions:\n{listed}\n\n"
        f"Response:\n<<<RESPONSE\n{response}\nRESPONSE>>>\n\n"
        "Rules:\n"
        "- Use the response's final conclusion; ignore options it only discusses or rules out on the way.\n"
        "- The response may name an option by its letter or by its text.\n"
        f"- {count_rule}\n"
        "- If the response refuses, hedges between options, gives no answer, or names something that is "
        "not among the options, it commits to none.\n\n"
        f"Reply with one line only, exactly `{answer_line}` with letters from {span}, "
        f"or `{none_line}` when the response commits to no option."
    )
