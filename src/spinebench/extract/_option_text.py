"""Answers that name an option's text: matching it, with level spellings and synonyms, and negation.

"The most likely diagnosis is spondylolisthesis" names option A when A's text is Spondylolisthesis; "L4-5"
names the option L4/L5; "anterolisthesis" names Spondylolisthesis (synonyms come from the taxonomy through
`_vocabulary`). A mention inside a longer option's mention is not a naming, and a negated mention ("no
evidence of spondylolisthesis") is a rejection.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from functools import lru_cache
from typing import Final

from spinebench.extract._vocabulary import LETTERS, OPTION_SYNONYMS

# Negation turns a mention into a rejection: "no evidence of spondylolisthesis", "option A is unlikely".
_NEGATION_BEFORE: Final = re.compile(
    r"[\s(\[\"'“](?:not|no|none|neither|nor|never|cannot|without|exclud\w*|rul(?:e|es|ed|ing)\s+out|rather\s+than"
    r"|instead\s+of|other\s+than|except|against|unlikely|absence\s+of|lack\s+of|than|versus|vs|unlike"
    r"|compared\s+(?:to|with)|in\s+contrast\s+to|as\s+opposed\s+to|normal|preserved|spared|intact"
    r"|unremarkable|loss\s+of|lost|reversal\s+of|reversed|straightening\s+of|flattening\s+of"
    r"|negative\s+for|free\s+of|far\s+from|anything\s+but|non|doubt\w*|incorrect|wrong|false|least|worst"
    r"|improbable|eliminat\w*|discard\w*|dismiss\w*|reject\w*)\b|n['’]t\b"
)
# Said of an option after it: "option A is improbable", "spondylolisthesis was considered and rejected".
_NEGATION_AFTER: Final = re.compile(
    r"^\W*(?:[\w'’]+\W+){0,3}?(?:not|never|cannot|unlikely|ruled\s+out|excluded|absent|less|least|worse|worst"
    r"|incorrect|wrong|false|improbable|inconsistent|distractors?|eliminated|discarded|dismissed|rejected"
    r"|normal|preserved|spared|intact|unremarkable|lost|reversed)\b|^\W*(?:[\w'’]+\W+){0,2}?\w+n['’]t\b"
    r"|^\W*(?:would|could|might)\b(?!\s+(?:be\s+)?(?:my|the)\s+(?:final\s+)?(?:answer|choice|pick)\b)"
    r"|^\s*[-–—=]?\s*(?:no|none|negative)\b"
)
# A label before a colon negates what it lists ("Not affected: L5/S1, L3/L4"); a value after it negates
# what it labels ("Spondylolisthesis: absent", "L5/S1: no").
_NEGATED_LABEL: Final = re.compile(
    r"(?:^|[\s(\[*_])(?:not|no|non|un\w+|never|exclud\w*|rul\w*\s+out|negative|absent|normal|spared"
    r"|rejected|eliminated|incorrect|wrong|false)\b[^:]*$|n['’]t\b[^:]*$"
)
_NEGATED_VALUE: Final = re.compile(
    r"\s*\**\s*(?:not?|none|absent|negative|excluded|ruled\s+out|unlikely|false|incorrect|wrong|normal"
    r"|spared|preserved)\b"
)
# "Every level but L4/L5", "anything but healthy": the `but` excepts, it does not start a new clause.
_ALL_BUT: Final = re.compile(r"(?:\b(?:all|every|each|any)\b[\w\s]{0,30}|anything|everything)$")
_CLAUSE_BREAK: Final = re.compile(r"[,;:—]|\s(?:–|but|whereas|while|however|although|though)\b")
_PART_OF_SPINE: Final = re.compile(
    r"\b(?:otherwise|rest|remaining|remainder|other|others|elsewhere|apart\s+from|aside\s+from|besides"
    r"|except|alignment|aligned|discs?|heights?|bodies|curve|curvature|lordosis|facets?|canal|density"
    r"|levels?|segments?)\b"
)
# Two levels joined as a range: "L3/L4 through L5/S1", "L3-4 to L5-S1", "L2/L3–L4/L5".
_RANGE_END: Final = r"l([1-5])\s*[/\-‐–]\s*(?:l?[2-5]|s1)"
_LEVEL_RANGE: Final = re.compile(
    rf"(?<![a-z0-9]){_RANGE_END}\s*(?:through|thru|to|until|till|down\s+to|[-‐–—])\s*"
    rf"{_RANGE_END}(?![a-z0-9])"
)
_LEVEL: Final = re.compile(r"l(\d)([ls])(\d)")  # an option's words joined: "l4l5", "l5s1"
_WORD: Final = re.compile(r"[^\W_]+")


def _negated(low: str, start: int, end: int) -> bool:
    # The clause around [start, end): from the end of the last break before it to the first break after it.
    break_starts, break_ends = _clause_breaks(low)
    before_index = bisect_right(break_ends, start) - 1
    after_index = bisect_left(break_starts, end)
    clause_start = break_ends[before_index] if before_index >= 0 else 0
    clause_end = break_starts[after_index] if after_index < len(break_starts) else len(low)
    # The space in front lets a negation that opens the clause match the leading `[\s(...]` of the pattern.
    before = f" {low[clause_start:start]}"
    # "For option D, one would expect...": the clause is the topic of a hypothesis, not an answer.
    if before.strip() in ("for", "with", "in") and low.startswith("option", start):
        return True
    if _NEGATION_BEFORE.search(before) or _NEGATION_AFTER.search(low[end:clause_end]):
        return True
    if before_index >= 0 and low[break_starts[before_index] : clause_start].strip() == "but":
        previous_start = break_ends[before_index - 1] if before_index > 0 else 0
        if _ALL_BUT.search(low, previous_start, break_starts[before_index]):
            return True
    colon = low.rfind(":", 0, start)
    if colon >= 0 and not _SENTENCE_GAP.search(low, colon, start):
        label_start = max(low.rfind(mark, 0, colon) for mark in (".", ";", "\n", ":")) + 1
        if _NEGATED_LABEL.search(low, label_start, colon):
            return True
    if after_index < len(break_starts):
        after_break = low[break_starts[after_index] : break_ends[after_index]].strip()
        if after_break == ":":
            return _NEGATED_VALUE.match(low, break_ends[after_index]) is not None
        if after_break == "but":  # "spondylolisthesis was considered but dismissed"
            return _DISMISSED.match(low, break_ends[after_index]) is not None
    return False


_SENTENCE_GAP: Final = re.compile(r"[.;\n]")
_DISMISSED: Final = re.compile(
    r"\s*(?:(?:was|is|then|quickly|later)\s+)*(?:dismissed|rejected|discarded|excluded|eliminated|ruled\s+out)\b"
)


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
        for needles, pattern in (_option_matcher(text),)
        if any(needle in low for needle in needles)
        for m in pattern.finditer(low)
    ]
    named: set[str] = set()
    rejected = False
    inside = _nested_spans([(start, end) for start, end, _ in spans])
    partly = _PART_OF_SPINE.search(low) is not None
    for start, end, letter in spans:
        # A shorter option inside a longer one's mention ("stenosis" in "spinal canal stenosis") is not named.
        if (start, end) in inside:
            continue
        # "Alignment is normal", "otherwise healthy": a part said to be normal is not a healthy spine.
        if _negated(low, start, end) or (partly and _is_healthy(options[LETTERS.index(letter)])):
            rejected = True
        else:
            named.add(letter)
    named |= _levels_within_ranges(low, options)
    # A name that is part of another option ("stenosis" beside "spinal canal stenosis") may mean either.
    if any(_inside_another(letter, options) for letter in named):
        return frozenset(), True
    return frozenset(named), rejected


def _levels_within_ranges(low: str, options: Sequence[str]) -> set[str]:
    """The level options strictly inside a range of levels the unit names ("from L3/L4 through L5/S1"
    names L4/L5 too): reading only the range's two ends would give a shorter, wrong set."""
    inner: set[str] = set()
    if "l" not in low:
        return inner
    for found in _LEVEL_RANGE.finditer(low):
        if _negated(low, found.start(), found.end()):
            continue
        first, last = sorted((int(found[1]), int(found[2])))
        for letter, text in zip(LETTERS, options, strict=False):
            level = _LEVEL.fullmatch("".join(_WORD.findall(text.lower())))
            if level is not None and first < int(level[1]) < last:
                inner.add(letter)
    return inner


def _is_healthy(option: str) -> bool:
    return option.lower() in ("healthy", "normal") or "normal" in OPTION_SYNONYMS.get(option.lower(), ())


def _inside_another(letter: str, options: Sequence[str]) -> bool:
    pattern = _option_matcher(options[LETTERS.index(letter)])[1]
    return any(
        pattern.search(text.lower()) is not None
        for other, text in zip(LETTERS, options, strict=False)
        if other != letter
    )


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
def _option_matcher(text: str) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """Substrings one of which any mention must hold, and a pattern for the option's text or one of its
    synonyms in lowercased text, ignoring case and punctuation between words."""
    words = _WORD.findall(text.lower())
    if not words:
        return (), re.compile(r"(?!)")
    level = _LEVEL.fullmatch("".join(words))
    if level:
        upper, region, lower = level.groups()
        # Levels are written many ways: L4/L5, L4-L5, L4-5, L4/5, L4–L5, L4 to L5, L5-S1, L5S1.
        second = f"l?{lower}" if region == "l" else f"s{lower}"
        pattern = rf"l(?<![a-z0-9]l){upper}(?:\s*(?:[/\-‐–—]|to)\s*{second}|{region}{lower})"
        return (f"l{upper}",), re.compile(rf"{pattern}(?![a-z0-9])")
    names = [words, *(_WORD.findall(synonym) for synonym in OPTION_SYNONYMS.get(" ".join(words), ()))]
    patterns = []
    for name in sorted(names, key=len, reverse=True):
        first = re.escape(name[0][0])
        rest = re.escape(name[0][1:]) + "".join(rf"[\W_]+{re.escape(word)}" for word in name[1:])
        # The lookbehind sits after the first character so that the engine can skip ahead to that literal.
        patterns.append(rf"{first}(?<![a-z0-9]{first}){rest}")
    return tuple(name[0] for name in names), re.compile(rf"(?:{'|'.join(patterns)})(?![a-z0-9])")


# "(A) L1/L2, (B) L4/L5", "Final answer: A. Osteophytes": every item a letter with that option's own text.
_LIST_CUE: Final = re.compile(
    r"[\s*_#>]*(?:(?:my\s+)?(?:final\s+)?(?:answers?|options?|choices?|levels?)\s*[:：]\s*)?", re.IGNORECASE
)
_LIST_ITEM: Final = re.compile(r"\s*[\[(]\s*([A-Z])\s*[\])]\s*[.:]?\s*|\s*([A-Z])[.:)]\s+")
_LIST_SPLIT: Final = re.compile(r"\s*(?:[,;]\s*(?:and\s+)?|\s+and\s+)\s*(?=[\[(]?[A-Z][\])]?[.:)\s])")


def read_labelled_list(text: str, options: Sequence[str]) -> frozenset[str] | None:
    """The letters of a unit that is a list of lettered options, each with its own text; the empty set when
    a letter comes with another option's text; None when the unit is not such a list."""
    rest = text[_LIST_CUE.match(text).end() :].strip().rstrip(".*_ ")  # type: ignore[union-attr]
    items = _LIST_SPLIT.split(rest) if rest else []
    letters: set[str] = set()
    for item in items:
        label = _LIST_ITEM.match(item)
        if label is None:
            return None
        letter = label[1] or label[2]
        named = item[label.end() :].strip(" *_.").lower()
        if not named or letter not in LETTERS[: len(options)]:
            return None
        if not _option_matcher(options[LETTERS.index(letter)])[1].fullmatch(named):
            # The text is another option's: the letter and the text disagree. Anything else: not a list.
            matching = any(_option_matcher(option)[1].fullmatch(named) for option in options)
            return frozenset() if matching else None
        letters.add(letter)
    return frozenset(letters) if letters else None
