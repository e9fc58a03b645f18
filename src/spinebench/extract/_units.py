"""Units of a reply (a sentence or a line), found around a position and working back from the end.

Only the conclusion and the unit of the last explicit answer are ever read: splitting a whole long response
would cost more than reading it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final, NamedTuple

# A sentence ends at .!? before a space ("3.5 mm" and "e.g." go on), at 。！？, or at a line end.
_SENTENCE_ENDS: Final = (". ", "! ", "? ", ".\t", "。", "！", "？")
_BLOCK_BREAK: Final = re.compile(r"\n[ \t\r]*\n")
_LABEL_ONLY: Final = re.compile(r"[\W_]*[A-Za-z]\.")


class _Unit(NamedTuple):
    text: str
    low: str  # same length as `text`, so match positions carry over
    start: int  # offsets in the response
    end: int


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
