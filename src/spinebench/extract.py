"""Read the chosen option letters out of a model's free-text answer.

The cascade: the protocol's exact final line (`strict`), then looser answer forms (`tolerant`), then refusal
detection; anything else is `unparsed`. The runner may then ask an LLM judge (prompt from `judge_prompt`) and
parse its one-line reply with the same two parsers (stage `judge`).

Tolerant extraction never guesses. It reads two units (a unit is a sentence or a line): the last one holding
an explicit answer form ("the answer is C", "My final option: C", `\\boxed{C}`), and the conclusion, the last
sentence before any trailing disclaimer, where weaker forms also count ("option C fits best", `**C**`, a lone
"C", or the text of exactly one option). When these disagree, hedge ("A or B"), or name a letter outside the
options, the answer is None.

Speed: the runner calls this for every answer. Whole responses are searched with str.find for literal
needles, and regexes run on short units, on lowercased text rather than with IGNORECASE (~10x slower).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
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

# Explicit answer cues. Each is found by a literal needle (str.find is far faster than a regex scan), then
# matched on lowercased text, with an optional check of what precedes it; the letter set after a cue is
# matched on the original text, within its unit.
_CUE_TAIL: Final = (
    r"(?![a-z])\**\s*(?:(?:is|are)\s*[:：]?|是|为|应为|[:：=>]|\s[-–—])\s*\**\s*"
    r"(?:(?:most\s+)?(?:likely|probably)\s+)?(?:(?:options?|choices?|选项)\s*)?"
)
_CHOOSE: Final = re.compile(r"(?:choose|select|pick|go\s+with|opt\s+for)\s+(?:(?:options?|choices?)\s+)?")
_OPTION_CUE: Final = re.compile(rf"(?:options?|choices?){_CUE_TAIL}")
# Only "I choose C", not "you may choose A or B"; only "the correct option is C", not "option A is likely".
_FIRST_PERSON: Final = re.compile(r"(?<![a-z])i(?:\s+would|\s+will|['’]d|['’]ll)?\s+$")
_ANSWER_WORD: Final = re.compile(r"(?:final|correct|best|right)\s+$")
_BEFORE_WINDOW: Final = 12
_CUES: Final[tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...]] = (
    ("answer", re.compile(rf"answers?{_CUE_TAIL}"), None),
    ("option", _OPTION_CUE, _ANSWER_WORD),
    ("choice", _OPTION_CUE, _ANSWER_WORD),
    *((verb, _CHOOSE, _FIRST_PERSON) for verb in ("choose", "select", "pick", "go with", "opt for")),
    ("\\boxed", re.compile(r"\\boxed\s*\{\s*(?:\\(?:text|textbf|mathrm|mathbf)\s*\{\s*)?"), None),
    ("答案", re.compile(r"答案\s*(?:是|为|应为)?\s*[:：]?\s*(?:选项)?\s*"), None),
)
_NO_ANSWER_LINE: Final = re.compile(r"final\s+(?:options?|answers?)\s*[:：]?\s*\[\s*(?:none)?\s*\]")

_LONE_MAX: Final = 120  # a lone letter with at most an option's text; also bounds the lazy label match
_LONE: Final = re.compile(
    r"^[\s\[(*_\"'`]*(?i:(?:final\s+)?(?:answers?|options?|choices?)\s*[:：]?\s*)?"
    rf"(?P<set>{_SET})[\s\])*_\"'`.:,;!\-–—]*(?P<label>.*?)[\s*_.]*$"
)
# Weaker forms, read in the conclusion only: (substrings one of which must be present, pattern).
_WEAK: Final[tuple[tuple[tuple[str, ...], re.Pattern[str]], ...]] = (
    (("option",), re.compile(rf"(?i:options?\s+)(?P<set>{_SET})(?!\s+(?:through|to)\b)")),
    (("choice",), re.compile(rf"(?i:choices?\s+)(?P<set>{_SET})(?!\s+(?:through|to)\b)")),
    (
        ("**",),
        re.compile(
            rf"\*\*\s*(?i:(?:options?|choices?)\s+)?(?P<set>{_letter_set('A-Za-z', 'AaIi', bold=False)})"
            r"\s*(?:[.:)\-–—][^*\n]{0,80}?)?\*\*(?!\s*:)"
        ),
    ),
    (("$",), re.compile(r"\$\s*(?:\\text(?:bf)?\{\s*)?(?P<set>[A-Za-z])\s*\}?\s*\$")),
    (("(",), re.compile(rf"\((?<![A-Za-z0-9]\()\s*(?P<set>{_UPPER_SET})\s*\)")),
    (
        ("is the ", "is correct", "is right", "is best", "is most", "are the ", "are correct", "are most"),
        re.compile(
            rf"(?P<set>{_UPPER_SET})\s+(?i:is|are)\s+(?i:the\s+)?"
            r"(?i:correct|right|best|most\s+(?:likely|appropriate|accurate|consistent))"
        ),
    ),
)
# "... is C." / "So it's D." / "Therefore, D." at the very end; not "vitamin D." or "hepatitis B.".
_END_LETTER: Final = re.compile(rf"(?<![A-Za-z0-9'’/\\-])(?P<set>[A-Z]){_LETTER_AFTER}[ \t]*[.!]?[ \t]*$")
_END_LETTER_AFTER: Final = re.compile(
    r"(?:^|[:,=→]|['’]s|\b(?:is|be|are|say|pick|choose|select|with|option|answer|choice|so|thus|hence"
    r"|therefore))\s*$"
)
_END_WINDOW: Final = 12

# Negation turns a mention into a rejection: "no evidence of spondylolisthesis", "option A is unlikely".
_NEGATION_BEFORE: Final = re.compile(
    r"[\s(\[\"'“](?:not|no|none|neither|nor|without|exclud\w*|rul(?:e|es|ed|ing)\s+out|rather\s+than"
    r"|instead\s+of|other\s+than|except|against|unlikely|absence\s+of|lack\s+of|than|versus|vs|unlike"
    r"|compared\s+(?:to|with)|in\s+contrast\s+to|as\s+opposed\s+to|normal|preserved|spared|intact"
    r"|unremarkable)\b|n['’]t\b"
)
_NEGATION_AFTER: Final = re.compile(
    r"^\W*(?:[\w'’]+\W+){0,3}?(?:not|unlikely|ruled\s+out|excluded|absent|less\s+likely|incorrect|wrong"
    r"|normal|preserved|spared|intact|unremarkable)\b|^\W*(?:[\w'’]+\W+){0,2}?\w+n['’]t\b"
)
_CLAUSE_BREAK: Final = re.compile(r"[,;:—]|\s(?:–|but|whereas|while|however|although|though)\b")

# A sentence ends at .!? before a space ("3.5 mm" and "e.g." go on), at 。！？, or at a line end.
_SENTENCE_ENDS: Final = (". ", "! ", "? ", ".\t", "。", "！", "？")
_BLOCK_BREAK: Final = re.compile(r"\n[ \t\r]*\n")
_LABEL_ONLY: Final = re.compile(r"[\W_]*[A-Za-z]\.")
_DISCLAIMER: Final = re.compile(
    r"disclaimer|medical\s+advice|substitute\s+for|replacement\s+for|consult\s+(?:a|an|your|with|the)\b"
    r"|clinical(?:ly)?\s+correlat|correlat\w*\s+clinically|educational\s+purpose|informational\s+purpose"
    r"|please\s+note|note\s*:|hope\s+this\s+helps|let\s+me\s+know|radiologist|qualified\s+(?:medical|health)"
    r"|healthcare\s+(?:provider|professional)"
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
    start: int  # offsets in the response
    end: int


# A unit's reading: letters, `_NO_ANSWER` (an answer form that commits to nothing valid), or None (no form).
_NO_ANSWER: Final[frozenset[str]] = frozenset()
_Reading = frozenset[str] | None


def extract_tolerant(response: str, options: Sequence[str], *, multiple: bool) -> tuple[str, ...] | None:
    """The letters of a looser answer form at the end of the response; None when absent or ambiguous."""
    valid = frozenset(LETTERS[: len(options)])
    low, marks = _lower(response), _sentence_ends(response)
    conclusion_unit, conclusion = _read_conclusion(response, low, marks, options, valid)
    strong_unit = _last_strong_unit(response, low, marks)
    reading = conclusion
    if strong_unit is not None and strong_unit != conclusion_unit:
        strong = _read_unit(strong_unit, options, valid, weak=False)
        if conclusion is None or strong is None:
            reading = strong if conclusion is None else conclusion
        else:
            # A conclusion that commits to nothing, or to other options, contradicts the earlier answer.
            reading = strong if conclusion and conclusion <= strong else _NO_ANSWER
    return None if not reading else _finish(reading, options, multiple=multiple)


def _finish(letters: frozenset[str], options: Sequence[str], *, multiple: bool) -> tuple[str, ...] | None:
    if not letters or not letters <= frozenset(LETTERS[: len(options)]):
        return None
    if not multiple and len(letters) != 1:
        return None
    return tuple(sorted(letters))


def _lower(text: str) -> str:
    low = text.lower()
    # A few characters lowercase to two ("İ"); keep them so that positions in `low` stay those in `text`.
    return low if len(low) == len(text) else "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


# Units are found around a position, working back from the end, because only the conclusion and the unit of
# the last explicit answer are ever read: splitting a whole long response would cost more than reading it.
def _unit_at(response: str, low: str, at: int, marks: Sequence[str]) -> _Unit:
    """The unit (sentence or line) holding `at`, with a lone label before it ("B." + "Osteophytes")."""
    start, end = _piece_at(response, at, marks)
    before = len(response[:start].rstrip())
    if before >= 2 and response[before - 1] == "." and response[before - 2].isalpha():
        label_start, label_end = _piece_at(response, before - 1, marks)
        if _LABEL_ONLY.fullmatch(response, label_start, label_end) and not _BLOCK_BREAK.search(
            response, label_end, start
        ):
            start = label_start
    return _Unit(response[start:end], low[start:end], start, end)


def _sentence_ends(response: str) -> tuple[str, ...]:
    # Looking only for marks the response has saves scanning whole paragraphs for a "？" that is not there.
    return tuple(mark for mark in _SENTENCE_ENDS if mark in response)


def _piece_at(response: str, at: int, marks: Sequence[str]) -> tuple[int, int]:
    start = response.rfind("\n", 0, at) + 1
    end = response.find("\n", at)
    end = len(response) if end < 0 else end
    for mark in marks:
        found = response.rfind(mark, start, at)
        if found >= 0:
            start = found + 1
        found = response.find(mark, at, end)
        if found >= 0:
            end = found + 1
    piece = response[start:end]
    return start + len(piece) - len(piece.lstrip()), start + len(piece.rstrip())


def _units_from_end(response: str, low: str, marks: Sequence[str]) -> Iterator[_Unit]:
    end = len(response.rstrip())
    while end > 0:
        unit = _unit_at(response, low, end - 1, marks)
        yield unit
        end = len(response[: unit.start].rstrip())


def _cue_ends(low: str) -> list[tuple[int, int]]:
    """(start, end) of each explicit answer cue in the text."""
    found = []
    for needle, cue, before in _CUES:
        at = low.find(needle)
        while at >= 0:
            match = cue.match(low, at)
            if match and (before is None or before.search(low, max(0, at - _BEFORE_WINDOW), at)):
                found.append((at, match.end()))
            at = low.find(needle, at + 1)
    return found


def _strong_sets(unit: _Unit) -> list[re.Match[str]]:
    """The letter sets that follow an explicit answer cue in the unit."""
    sets = (_SET_AT.match(unit.text, end) for _, end in sorted(_cue_ends(unit.low)))
    return [match for match in sets if match is not None]


def _last_strong_unit(response: str, low: str, marks: Sequence[str]) -> _Unit | None:
    cues = [start for start, end in _cue_ends(low) if _SET_AT.match(response, end)]
    cues += [m.start() for m in _no_answer_lines(low)]
    for at in sorted(cues, reverse=True):
        unit = _unit_at(response, low, at, marks)
        if _strong_sets(unit) or _no_answer_lines(unit.low):
            return unit
    return None


def _no_answer_lines(low: str) -> list[re.Match[str]]:
    if "final" not in low:
        return []
    return list(_NO_ANSWER_LINE.finditer(low))


def _read_conclusion(
    response: str, low: str, marks: Sequence[str], options: Sequence[str], valid: frozenset[str]
) -> tuple[_Unit | None, _Reading]:
    units = _units_from_end(response, low, marks)
    last = next((unit for unit in units if not _DISCLAIMER.search(unit.low)), None)
    if last is None:
        return None, None
    reading = _read_unit(last, options, valid, weak=True)
    if reading is not None:
        previous = next(units, None)
        if (
            previous is not None
            and _is_labelled_option(last, options)
            and _is_labelled_option(previous, options)
        ):
            # The response ends by listing options ("D. Vertebral collapse", "E. Healthy"): an echo.
            return last, _NO_ANSWER
        return last, reading
    for unit, _ in zip(units, range(_MARKER_LOOKBACK), strict=False):
        if _BLOCK_BREAK.search(response, unit.end, last.start):
            break
        if _CONCLUSION_MARKER.search(unit.low) and not _DISCLAIMER.search(unit.low):
            reading = _read_unit(unit, options, valid, weak=True)
            if reading is not None:
                return unit, reading
    return last, None


def _read_unit(unit: _Unit, options: Sequence[str], valid: frozenset[str], *, weak: bool) -> _Reading:
    text, low = unit.text, unit.low
    if _no_answer_lines(low):
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
        lone = _LONE.match(text) if len(text) <= _LONE_MAX else None
        lone_ok = lone is not None and _is_label(lone["label"], options)
        if not strong and not lone_ok and _OPTION_ITEM.match(text):
            return None
        matches = [
            m for needles, pattern in _WEAK if any(n in low for n in needles) for m in pattern.finditer(text)
        ]
        end = _END_LETTER.search(text, max(0, len(text) - 4))
        if end and not _END_LETTER_AFTER.search(low, max(0, end.start() - _END_WINDOW), end.start()):
            end = None
        for found in [*matches, end, lone if lone_ok else None]:
            if found is None:
                continue
            letters = _letters_of(found["set"])
            if letters <= valid and (found is lone or not _negated(low, found.start(), found.end())):
                mentioned |= letters
                hedged = hedged or bool(_HEDGE.search(found["set"]))
    named, rejected = _named_options(low, options) if weak or strong else (_NO_ANSWER, False)
    if strong:
        primary = frozenset(strong)
    elif mentioned:
        if hedged:
            return _NO_ANSWER
        primary = frozenset(mentioned)
    elif named:
        # Clause-level negation misses enumerations ("no slip, collapse or spurs"): when a unit both names and
        # rejects options, which are which is left to the judge.
        return _NO_ANSWER if rejected or _HEDGE.search(low) else named
    else:
        return None
    return primary if mentioned <= primary and named <= primary else _NO_ANSWER


def _letters_of(text: str) -> frozenset[str]:
    return frozenset(letter.upper() for letter in _LETTER_IN_SET.findall(text))


def _is_labelled_option(unit: _Unit, options: Sequence[str]) -> bool:
    lone = _LONE.match(unit.text) if len(unit.text) <= _LONE_MAX else None
    return bool(lone and lone["label"].strip(" \t*_.)") and _is_label(lone["label"], options))


def _is_label(label: str, options: Sequence[str]) -> bool:
    """A lone letter may carry its option text ("B. Osteophytes"), but nothing else."""
    label = label.strip(" \t*_.)").lower()
    return not label or any(_option_matcher(text)[1].fullmatch(label) for text in options)


def _negated(low: str, start: int, end: int) -> bool:
    # The clause around [start, end): from the end of the last break before it to the first break after it.
    break_starts, break_ends = _clause_breaks(low)
    before_index = bisect_right(break_ends, start) - 1
    after_index = bisect_left(break_starts, end)
    clause_start = break_ends[before_index] if before_index >= 0 else 0
    clause_end = break_starts[after_index] if after_index < len(break_starts) else len(low)
    # The space in front lets a negation that opens the clause match the leading `[\s(...]` of the pattern.
    before = f" {low[clause_start:start]}"
    return bool(_NEGATION_BEFORE.search(before) or _NEGATION_AFTER.search(low[end:clause_end]))


@lru_cache(maxsize=4)
def _clause_breaks(low: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Starts and ends of the clause breaks of a unit, found once per unit rather than once per mention:
    a degenerate answer repeating an option thousands of times would otherwise take seconds."""
    found = [(m.start(), m.end()) for m in _CLAUSE_BREAK.finditer(low)]
    return tuple(start for start, _ in found), tuple(end for _, end in found)


def _named_options(low: str, options: Sequence[str]) -> tuple[frozenset[str], bool]:
    """The options whose text the unit names, and whether it also names some only to reject them."""
    spans = [
        (m.start(), m.end(), letter)
        for letter, text in zip(LETTERS, options, strict=False)
        for needle, pattern in (_option_matcher(text),)
        if needle in low
        for m in pattern.finditer(low)
    ]
    named: set[str] = set()
    rejected = False
    inside = _nested_spans([(start, end) for start, end, _ in spans])
    for start, end, letter in spans:
        # A shorter option inside a longer one's mention ("stenosis" in "spinal canal stenosis") is not named.
        if (start, end) in inside:
            continue
        if _negated(low, start, end):
            rejected = True
        else:
            named.add(letter)
    return frozenset(named), rejected


def _nested_spans(spans: Sequence[tuple[int, int]]) -> set[tuple[int, int]]:
    """The spans that lie inside another, different span (in one sweep; comparing every pair would be
    quadratic in the mentions)."""
    nested: set[tuple[int, int]] = set()
    furthest = -1  # the furthest end of the spans seen so far, all of which start at or before this one
    # By start, longest first: a span is inside another exactly when an earlier one reaches its end.
    for start, end in sorted(set(spans), key=lambda span: (span[0], -span[1])):
        if furthest >= end:
            nested.add((start, end))
        furthest = max(furthest, end)
    return nested


@lru_cache(maxsize=1024)
def _option_matcher(text: str) -> tuple[str, re.Pattern[str]]:
    """A substring any mention must hold, and a pattern for the option's text in lowercased text."""
    words = text.lower().split()
    if not words:
        return "", re.compile(r"(?!)")
    level = _LEVEL.fullmatch("".join(words))
    if level:
        upper, region, lower = level.groups()
        # Levels are written many ways: L4/L5, L4-L5, L4-5, L4/5, L4–L5, L4 to L5, L5-S1, L5S1.
        second = f"l?{lower}" if region == "l" else f"s{lower}"
        first, rest = "l", rf"{upper}(?:\s*(?:[/\-‐–—]|to)\s*{second}|{region}{lower})"
        needle = f"l{upper}"
    else:
        first = re.escape(words[0][0])
        rest = re.escape(words[0][1:]) + "".join(rf"\s+{re.escape(word)}" for word in words[1:])
        needle = words[0]
    # The lookbehind sits after the first character so that the engine can skip ahead to that literal.
    return needle, re.compile(rf"{first}(?<![a-z0-9]{first}){rest}(?![a-z0-9])")


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
    return bool(_REFUSAL.search(_lower(response)))


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
        count_rule = (
            "Exactly one option is correct: if the response commits to more than one option, "
            "it commits to none."
        )
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
