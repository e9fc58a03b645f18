"""The protocol's exact final line, `My final option: [X]` / `My final options: [X, Y]`, as the last line."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from spinebench.extract._letters import _finish, _letters_of

_STRICT: Final = re.compile(
    r"\s*(?i:my\s+final\s+options?)\s*:\s*\[\s*(?P<set>[A-Z](?:\s*,\s*[A-Z]|\s+[A-Z])*)\s*\]\s*\.?\s*"
)


def extract_strict(response: str, options: Sequence[str], *, multiple: bool) -> tuple[str, ...] | None:
    """The letters of the protocol's final line when it is the last non-empty line, exactly; else None."""
    match = _STRICT.fullmatch(response.rstrip().rsplit("\n", 1)[-1])
    return None if match is None else _finish(_letters_of(match["set"]), options, multiple=multiple)
