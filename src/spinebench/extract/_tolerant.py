"""Looser answer forms than the protocol's final line (stage `tolerant`), and option texts (stage `text`).

Tolerant extraction never guesses. It reads two units (a unit is a sentence or a line): the last one holding
an explicit answer form ("the answer is C", "My final option: C", `\\boxed{C}`), and the conclusion, the last
sentence before any trailing disclaimer, where weaker forms also count ("option C fits best", `**C**`, a lone
"C", or the text of exactly one option). When these disagree, hedge ("A or B", "B, but could be C" anywhere
from the answer to the end), or name a letter outside the options, the answer is None.

Speed: the runner calls this for every answer. Whole responses are searched with str.find for literal
needles, and regexes run on short units, on lowercased text rather than with IGNORECASE (~10x slower).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from spinebench.extract._hedges import _HEDGE, _TRAILING_HEDGE, hedged_conclusion
from spinebench.extract._letters import (
    _LETTER_AFTER,
    _SET,
    _SET_AT,
    _UPPER_SET,
    _finish,
    _letter_set,
    _letters_of,
    _lower,
)
from spinebench.extract._option_text import _named_options, _negated, _option_matcher, read_labelled_list
from spinebench.extract._units import _BLOCK_BREAK, _sentence_ends, _Unit, _unit_at, _units_from_end
from spinebench.extract._vocabulary import LETTERS

# Explicit answer cues. Each is found by a literal needle (str.find is far faster than a regex scan), then
# matched on lowercased text, with an optional check of what precedes it; the letter set after a cue is
# matched on the original text, within its unit.
_CUE_TAIL: Final = (
    r"(?![a-z])\**\s*(?:(?:is|are)\s*[:：]?|是|为|应为|[:：=>]|\s[-–—])\s*\**\s*"
    r"(?:(?:most\s+)?(?:likely|probably)\s+)?(?:(?:options?|choices?|选项)\s*)?"
)
# "La respuesta correcta es C", "Die Antwort ist B", "La réponse est D", "La risposta è A", "Resposta: C".
_FOREIGN_CUE: Final = re.compile(
    r"(?:respuesta|antwort|r[ée]ponse|risposta|resposta)s?\s*(?:correcta\s*|correcte\s*|corretta\s*"
    r"|final[e]?\s*|richtige\s*)?(?:est|ist|es|è|é|[:：])(?![a-z])\s*[:：]?\s*(?:la\s+|l['’]|die\s+)?"
    r"(?:opci[oó]n\s*|option\s*|opzione\s*|opção\s*)?"
)
_CHOOSE: Final = re.compile(r"(?:choose|select|pick|go\s+with|opt\s+for)\s+(?:(?:options?|choices?)\s+)?")
_OPTION_CUE: Final = re.compile(rf"(?:options?|choices?){_CUE_TAIL}")
# Only "I choose C", not "you may choose A or B"; only "the correct option is C", not "option A is likely".
_FIRST_PERSON: Final = re.compile(r"(?<![a-z])i(?:\s+would|\s+will|['’]d|['’]ll)?\s+$")
_ANSWER_WORD: Final = re.compile(r"(?<![a-z])(?:final|correct|best|right)\s+$")
_BEFORE_WINDOW: Final = 12
_CUES: Final[tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...]] = (
    ("answer", re.compile(rf"answers?{_CUE_TAIL}"), None),
    ("option", _OPTION_CUE, _ANSWER_WORD),
    ("choice", _OPTION_CUE, _ANSWER_WORD),
    *((verb, _CHOOSE, _FIRST_PERSON) for verb in ("choose", "select", "pick", "go with", "opt for")),
    ("\\boxed", re.compile(r"\\boxed\s*\{\s*(?:\\(?:text|textbf|mathrm|mathbf)\s*\{\s*)?"), None),
    ("答案", re.compile(r"答案\s*(?:是|为|应为)?\s*[:：]?\s*(?:选项)?\s*"), None),
    ("答え", re.compile(r"答え\s*(?:は)?\s*[:：]?\s*"), None),
    ("正解", re.compile(r"正解\s*(?:は)?\s*[:：]?\s*"), None),
    *(
        (needle, _FOREIGN_CUE, None)
        for needle in ("respuesta", "antwort", "réponse", "reponse", "risposta", "resposta")
    ),
)
# After a cued set, words that negate it or go on to more letters the set did not take in ("B und C"): a
# shorter set than the reply gives is a wrong answer, so such a reply is left to the judge.
_SET_CONTINUES: Final = re.compile(
    r"\s*(?:では(?:なく|ない|ありません)|じゃな|ではな|不是|而不是"
    r"|(?:[,;]\s*)?(?:und|et|y|e|sowie|ainsi\s+que|和|与|及|、|，)\s*\(?[a-z](?![a-z0-9]))"
)
_UPPER_ANYWHERE: Final = re.compile(_UPPER_SET)
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
# A unit that ends in words after "option X", with no closing punctuation: the reply was cut off.
_UNFINISHED: Final = re.compile(
    r"(?:options?|choices?)\s+[a-z](?:\s*,\s*[a-z]|\s+and\s+[a-z])*\s+[a-z][\w'’ ,]*$"
)

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


class _ByText(frozenset[str]):
    """Letters read only from the options' texts the unit names (stage `text`)."""


# A unit's reading: letters, `_NO_ANSWER` (an answer form that commits to nothing valid), or None (no form).
_NO_ANSWER: Final[frozenset[str]] = frozenset()
_Reading = frozenset[str] | None


@dataclass(frozen=True, slots=True)
class TolerantReading:
    letters: tuple[str, ...]
    by_text: bool  # read from an option's text named instead of its letter


def read_tolerant(response: str, options: Sequence[str], *, multiple: bool) -> TolerantReading | None:
    """The letters of a looser answer form at the end of the response; None when absent or ambiguous."""
    valid = frozenset(LETTERS[: len(options)])
    low, marks = _lower(response), _sentence_ends(response)
    conclusion_unit, conclusion = _read_conclusion(response, low, marks, options, valid)
    strong_unit = _last_strong_unit(response, low, marks)
    reading, start = conclusion, conclusion_unit.start if conclusion_unit is not None else len(response)
    read_to = conclusion_unit.end if conclusion_unit is not None and conclusion is not None else 0
    if strong_unit is not None and strong_unit != conclusion_unit:
        strong = _read_unit(strong_unit, options, valid, weak=False)
        if strong is not None:
            start = min(start, strong_unit.start)
            read_to = max(read_to, strong_unit.end)
        if conclusion is None or strong is None:
            reading = strong if conclusion is None else conclusion
        else:
            # A conclusion that commits to nothing, or to other options, contradicts the earlier answer.
            reading = strong if conclusion and conclusion <= strong else _NO_ANSWER
    if not reading or hedged_conclusion(low, start, multiple=multiple):
        return None
    if _names_others_after(response, low, read_to, reading, options, valid):
        return None  # "The answer is B. Note: on closer inspection it is D.", "Answer: B. Wait, no — D."
    if conclusion_unit is not None and reading & _rejected_letters(conclusion_unit, valid):
        return None  # "Answer: B. Option B is incorrect."
    if reading is conclusion and conclusion_unit is not None and _cut_off(low, conclusion_unit):
        return None
    letters = _finish(reading, options, multiple=multiple)
    return None if letters is None else TolerantReading(letters, isinstance(reading, _ByText))


def _names_others_after(
    response: str, low: str, end: int, reading: frozenset[str], options: Sequence[str], valid: frozenset[str]
) -> bool:
    """Whether the text after the units read names an option they did not give, by letter or by text: a
    correction, a second option kept open or a note that contradicts them, however it is worded (a trailing
    disclaimer that names another option is not a disclaimer)."""
    if end >= len(response.rstrip()):
        return False
    # A letter the tail only rules out ("option A is unlikely because there is no slip") keeps the answer.
    for found in _UPPER_ANYWHERE.finditer(response, end):
        if (_letters_of(found[0]) & valid) - reading and not _negated(low, found.start(), found.end()):
            return True
    return bool(_named_options(low[end:], options)[0] - reading)


def extract_tolerant(response: str, options: Sequence[str], *, multiple: bool) -> tuple[str, ...] | None:
    """The letters `read_tolerant` finds (by letter or by option text); None when absent or ambiguous."""
    reading = read_tolerant(response, options, multiple=multiple)
    return None if reading is None else reading.letters


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
    return [match for _, match in _cued_sets(unit)]


def _cued_sets(unit: _Unit) -> list[tuple[int, re.Match[str]]]:
    """(where the cue starts, the letter set after it) for each explicit answer cue in the unit."""
    sets = ((start, _SET_AT.match(unit.text, end)) for start, end in sorted(_cue_ends(unit.low)))
    return [(start, match) for start, match in sets if match is not None]


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


def _cut_off(low: str, unit: _Unit) -> bool:
    """Whether the reply stops in the middle of describing an option ("Level by level: option E shows"):
    cut off by the token limit though the server's finish_reason is not known here."""
    return unit.end == len(low.rstrip()) and _UNFINISHED.search(unit.low) is not None


def _rejected_letters(unit: _Unit, valid: frozenset[str]) -> frozenset[str]:
    """The letters the unit names only to reject them ("option B is incorrect")."""
    rejected: set[str] = set()
    for needles, pattern in _WEAK:
        if any(needle in unit.low for needle in needles):
            for found in pattern.finditer(unit.text):
                if _negated(unit.low, found.start(), found.end()):
                    rejected |= _letters_of(found["set"]) & valid
    return frozenset(rejected)


def _read_unit(unit: _Unit, options: Sequence[str], valid: frozenset[str], *, weak: bool) -> _Reading:
    text, low = unit.text, unit.low
    if _no_answer_lines(low):
        return _NO_ANSWER
    pairs = read_labelled_list(text, options)
    if pairs is not None:
        return pairs
    strong: set[str] = set()
    for cue_start, match in _cued_sets(unit):
        letters = _letters_of(match[0])
        if not letters <= valid or _HEDGE.search(match[0]) or _TRAILING_HEDGE.match(low, match.end()):
            return _NO_ANSWER
        # "The answer cannot be A", "I don't think the answer is A", "Answer: A is wrong", "答えはAではなく".
        if _negated(low, cue_start, match.end()) or _SET_CONTINUES.match(low, match.end()):
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
        return _NO_ANSWER if rejected or _HEDGE.search(low) else _ByText(named)
    else:
        return None
    return primary if mentioned <= primary and named <= primary else _NO_ANSWER


def _is_labelled_option(unit: _Unit, options: Sequence[str]) -> bool:
    lone = _LONE.match(unit.text) if len(unit.text) <= _LONE_MAX else None
    return bool(lone and lone["label"].strip(" \t*_.)") and _is_label(lone["label"], options))


def _is_label(label: str, options: Sequence[str]) -> bool:
    """A lone letter may carry its option text ("B. Osteophytes"), but nothing else."""
    label = label.strip(" \t*_.)").lower()
    return not label or any(_option_matcher(text)[1].fullmatch(label) for text in options)
