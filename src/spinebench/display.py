"""Text from a model, a server or a file made safe to show: in a terminal, or as visible escapes in HTML.

A model's answer or a server's error body may hold terminal escape sequences (`ESC ] 0 ; title BEL` retitles
the window, `ESC [ 2 J` clears it), NUL bytes, or Unicode bidirectional overrides (U+202E shows "A ]C[" as
"[C] A", spoofing the answer a reader sees). Both functions keep newlines and tabs.
"""

from __future__ import annotations

import re
from typing import Final

# C0 controls but tab and newline, DEL, C1 controls, and the bidi embeddings, overrides, isolates and marks.
_UNSAFE: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_safe(text: str) -> str:
    """`text` without the characters that could drive a terminal or reorder what it shows."""
    return _UNSAFE.sub("", text)


def visible_escapes(text: str) -> str:
    """`text` with each such character written as a visible escape (`\\x1b`, `\\u202e`), for showing."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
