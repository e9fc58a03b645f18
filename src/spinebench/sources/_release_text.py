"""Reading options and answers out of the release's free text: lettered option lists and answer strings.

Kept apart from the importer because it is the fiddly part: options may be a field or written into the
question in several styles, answers may be letters or option texts. Anything doubtful is rejected with a
reason, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from spinebench.taxonomy import LETTERS, canonical_answer


class Rejected(Exception):
    """A record the importer cannot use; `kind` groups the reasons in the report."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


_OPTION_LINE = re.compile(r"^\s*(?:\(([A-J])\)|([A-J])\s*[.):])\s*(\S.*?)\s*$")
_HEADER_LINE = re.compile(r"^\s*(?:answer\s+)?(?:options|choices)\s*:?\s*$", re.IGNORECASE)
_LABEL = re.compile(r"\b(?:answer\s+)?(?:options|choices)\s*:\s*", re.IGNORECASE)
_TRAILING_LABEL = re.compile(r"\b(?:answer\s+)?(?:options|choices)\s*:?[ \t]*$", re.IGNORECASE)
_BRACKETS = re.compile(r"\[([^\[\]]*)\]")
_SPACES = re.compile(r"\s+")


def _marker(letter: str) -> str:
    """An inline option marker "(A)", "A.", "A)" or "A:", at the start or after a space, comma, ; or [."""
    return rf"(?:^|(?<=[\s,;\[]))(?:\({letter}\)|{letter}\s*[.):])"


def _inline_options(body: str) -> list[str] | None:
    """Options written on one line ("A: x, B: y" or "(A) x (B) y"); `body` must start with the A marker."""
    first = re.match(r"\s*" + _marker("A"), body)
    if first is None:
        return None
    starts, ends = [first.start()], [first.end()]
    for letter in LETTERS[1:]:
        found = re.compile(_marker(letter)).search(body, ends[-1])
        if found is None:
            break
        starts.append(found.start())
        ends.append(found.end())
    texts = [
        body[ends[i] : (starts[i + 1] if i + 1 < len(starts) else len(body))] for i in range(len(starts))
    ]
    texts = [text.strip().rstrip(",;").strip() for text in texts]
    return texts if len(texts) >= 2 and all(texts) else None


def _cut(text: str, start: int, end: int) -> str:
    before, after = text[:start].rstrip(" \t"), text[end:].lstrip(" \t")
    before = _TRAILING_LABEL.sub("", before).rstrip(" \t")
    if before and after and before[-1] in ".?!:" and after[0] in ".,;:":
        after = after[1:].lstrip(" \t")  # "Which one? [A: x, B: y]." keeps one full stop
    joiner = " " if before and after and before[-1] != "\n" and after[0] not in "\n.,;:?!" else ""
    return (before + joiner + after).strip()


def split_options_from_text(text: str) -> tuple[str, list[str]] | None:
    """(stem, options) when the question text lists lettered options, else None.

    Accepted: one option per line ("A. x", "A) x", "(A) x", "A: x", optionally under an "Options:" line);
    the paper's inline "[A: x, B: y, ...]"; "Options: A: x, B: y" or an unlabelled "(A) x (B) y" up to the
    end of its line. Options need consecutive letters from A and at least two of them.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    for i, line in enumerate(lines):
        match = _OPTION_LINE.match(line)
        if match is None or (match.group(1) or match.group(2)) != "A":
            continue
        options, last = [match.group(3)], i
        for j in range(i + 1, len(lines)):
            if not lines[j].strip():
                continue
            following = _OPTION_LINE.match(lines[j])
            if following is None or (following.group(1) or following.group(2)) != LETTERS[len(options)]:
                break
            options.append(following.group(3))
            last = j
        first = i - 1 if i > 0 and _HEADER_LINE.match(lines[i - 1]) else i
        if len(options) < 2:
            inline = _inline_options(line)  # the whole list on the A line
            if inline is None:
                continue
            options = inline
        stem = "\n".join(lines[:first] + lines[last + 1 :])
        return re.sub(r"\n{3,}", "\n\n", stem).strip(), options
    for bracket in _BRACKETS.finditer(text):
        inline = _inline_options(bracket.group(1))
        if inline is not None:
            return _cut(text, bracket.start(), bracket.end()), inline
    for label in _LABEL.finditer(text):
        line_end = text.find("\n", label.end())
        line_end = len(text) if line_end < 0 else line_end
        inline = _inline_options(text[label.end() : line_end])
        if inline is not None:
            return _cut(text, label.start(), line_end), inline
    for marker in re.finditer(_marker("A"), text):  # unlabelled, "Which one? (A) x (B) y", to the line end
        line_end = text.find("\n", marker.start())
        line_end = len(text) if line_end < 0 else line_end
        inline = _inline_options(text[marker.start() : line_end])
        if inline is not None:
            return _cut(text, marker.start(), line_end), inline
    return None


def _strip_letter_prefixes(texts: list[str]) -> list[str]:
    """["A. x", "B. y"] -> ["x", "y"], only when every text carries its own letter in order."""
    matches = [_OPTION_LINE.match(text) for text in texts]
    if all(m is not None and (m.group(1) or m.group(2)) == LETTERS[i] for i, m in enumerate(matches)):
        return [m.group(3) for m in matches if m is not None]
    return texts


def options_field(value: Any) -> list[str]:
    if isinstance(value, dict):
        keys = [re.sub(r"[\s().:]", "", str(key)).upper() for key in value]
        if sorted(keys) != list(LETTERS[: len(keys)]):
            raise Rejected(
                "bad options", f"option letters {sorted(keys)} do not run A, B, C, ... without gaps"
            )
        texts = [value[key] for _, key in sorted(zip(keys, value, strict=True))]
    elif isinstance(value, list):
        texts = value
    else:
        raise Rejected(
            "bad options", f"options must be a list or a letter->text object, not {type(value).__name__}"
        )
    if not all(isinstance(text, str) and text.strip() for text in texts):
        raise Rejected("bad options", "every option must be a non-empty string")
    return _strip_letter_prefixes([text.strip() for text in texts])


def option_key(text: str) -> str:
    return _SPACES.sub(" ", text.strip()).casefold()


def _loose_key(text: str) -> str:
    """Equal for names of one disease ("Spondylolysthesis"/"Spondylolisthesis") or level ("L4-5"/"L4/L5")."""
    level = re.fullmatch(r"\s*L([1-5])\s*[-/]\s*(?:L?([1-5])|(S1))\s*", text, re.IGNORECASE)
    if level is not None:
        return f"L{level.group(1)}/{('L' + level.group(2)) if level.group(2) else 'S1'}"
    return canonical_answer(text) or option_key(text)


_ANSWER_LETTER = re.compile(r"^\(?([A-Ja-j])\)?(?:\s*[.:)]\s*(.*))?$", re.DOTALL)


def _letter_of(token: str, options: Sequence[str]) -> str | None:
    """The option letter an answer token names: a letter ("B", "(B)", "B. text") or an option text."""
    token = token.strip().strip("'\"").strip()
    match = _ANSWER_LETTER.match(token)
    if match is not None:
        letter = match.group(1).upper()
        if LETTERS.index(letter) >= len(options):
            raise Rejected(
                "bad answer", f"answer letter {letter} is not among options A-{LETTERS[len(options) - 1]}"
            )
        text = match.group(2)
        if text and _loose_key(text) != _loose_key(options[LETTERS.index(letter)]):
            raise Rejected("bad answer", f"answer {token!r} does not match option {letter}")
        return letter
    for finder in (option_key, _loose_key):
        found = [LETTERS[i] for i, option in enumerate(options) if finder(option) == finder(token)]
        if len(found) == 1:
            return found[0]
    return None


def answer_letters(raw: Any, options: Sequence[str]) -> tuple[str, ...]:
    """Sorted answer letters from "B", "B, D", "[B, D]", ["B", "D"], or option texts ("Healthy")."""
    items = raw if isinstance(raw, list) else [raw]
    letters: set[str] = set()
    for item in items:
        if not isinstance(item, str):
            raise Rejected("bad answer", f"answer {item!r} is not a string")
        item = item.strip().removeprefix("[").removesuffix("]").strip()
        whole = _letter_of(item, options) if item else None
        if whole is not None:
            letters.add(whole)
            continue
        parts = [part.strip() for part in re.split(r"[,;]", item) if part.strip()]
        if len(parts) == 1 and re.fullmatch(r"[A-J](?:\s+[A-J])+", parts[0]):
            parts = parts[0].split()
        for part in parts:
            letter = _letter_of(part, options)
            if letter is None:
                raise Rejected(
                    "bad answer", f"answer {part!r} is neither an option letter nor an option text"
                )
            letters.add(letter)
    if not letters:
        raise Rejected("bad answer", "no answer given")
    return tuple(sorted(letters))


# ---------------------------------------------------------------- one record
