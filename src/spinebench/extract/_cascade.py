"""The extraction cascade: which letters a reply commits to, and by which stage they were read.

`strict` (the protocol's exact final line), `tolerant` (looser answer forms), `text` (an option's text named
instead of its letter), then `truncated` (cut off by the token limit or inside an unclosed think block: not
read), `refused` and `unparsed`. A `<think>` block is split off first and never read. The runner may then
ask an LLM judge (stage `judge`) about `unparsed`, `refused` and `truncated` replies; `refused` stays only
when the judge finds no letter either.

The rule for every stage: a wrong letter is worse than no letter. A reply that hedges, names alternatives or
contradicts itself gets no letter from the rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from spinebench.extract._reasoning import split_reasoning
from spinebench.extract._refusal import is_refusal
from spinebench.extract._strict import extract_strict
from spinebench.extract._tolerant import read_tolerant

Stage = Literal["strict", "tolerant", "text", "judge", "truncated", "unparsed", "refused"]
STAGES: tuple[Stage, ...] = ("strict", "tolerant", "text", "judge", "truncated", "unparsed", "refused")


@dataclass(frozen=True, slots=True)
class Extraction:
    """The letters read from a response (sorted, unique; empty when no stage read any) and how."""

    letters: tuple[str, ...]
    stage: Stage


def extract_answer(
    response: str, options: Sequence[str], *, multiple: bool, finish_reason: str | None = None
) -> Extraction:
    """The letters a reply commits to. `finish_reason` is the server's (`length`: cut off by max_tokens)."""
    reply = split_reasoning(response)
    if reply.unclosed or finish_reason == "length":
        return Extraction((), "truncated")
    letters = extract_strict(reply.answer, options, multiple=multiple)
    if letters is not None:
        return Extraction(letters, "strict")
    tolerant = read_tolerant(reply.answer, options, multiple=multiple)
    if tolerant is not None:
        return Extraction(tolerant.letters, "text" if tolerant.by_text else "tolerant")
    return Extraction((), "refused" if is_refusal(reply.answer) else "unparsed")
