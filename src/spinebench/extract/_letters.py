"""Letters in text: where a lone letter counts as an option letter, and checking a set of them.

Standard library only, like every module of this package but `_vocabulary` (see `_standalone.py`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from spinebench.extract._vocabulary import LETTERS

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


def _letters_of(text: str) -> frozenset[str]:
    return frozenset(letter.upper() for letter in _LETTER_IN_SET.findall(text))
