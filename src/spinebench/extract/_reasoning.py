"""Reasoning models: the `<think>` block is stored apart from the answer and never parsed.

Reasoning models write `<think>...</think>` before the answer (or `<thinking>`, `<reasoning>`, Magistral's
`[THINK]...[/THINK]`, Kimi-VL's `◁think▷...◁/think▷`, `<|begin_of_thought|>`: all read alike); some servers
drop the opening tag (it was in the chat template), so everything up to the last `</think>` is reasoning. A
block that never closes means the model ran out of tokens while thinking: there is no answer to read (stage
`truncated`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_OPEN: Final = re.compile(
    r"<(?:think(?:ing)?|reasoning)>|\[think\]|◁think▷|<\|begin_of_thought\|>", re.IGNORECASE
)
_CLOSE: Final = re.compile(
    r"</(?:think(?:ing)?|reasoning)>|\[/think\]|◁/think▷|<\|end_of_thought\|>", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class Reply:
    """A reply split into its answer and its reasoning (None when it had no think block)."""

    answer: str
    reasoning: str | None
    unclosed: bool = False  # a think block opened and never closed: the reply was cut off while thinking


def split_reasoning(text: str) -> Reply:
    """The answer after the last `</think>`, and the reasoning before it; an unclosed block is all
    reasoning."""
    low = text.lower()
    # Most replies have no tag: a literal scan is far cheaper than the tag patterns.
    if "think" not in low and "reasoning>" not in low and "_of_thought|>" not in low:
        return Reply(text, None)
    closes = list(_CLOSE.finditer(text))
    cut = closes[-1].end() if closes else 0
    earlier = _strip_open(text[: closes[-1].start()]) if closes else ""
    opened = _OPEN.search(text, cut)
    if opened is not None:
        thinking = "\n\n".join(part for part in (earlier, text[opened.end() :].strip()) if part)
        return Reply(text[cut : opened.start()].strip(), thinking, unclosed=True)
    if not closes:
        return Reply(text, None)
    return Reply(text[cut:].strip(), earlier)


def _strip_open(reasoning: str) -> str:
    return _OPEN.sub("", reasoning, count=1).strip()
