from __future__ import annotations

from spinebench.display import terminal_safe, visible_escapes

HOSTILE = "ok\x1b]0;PWNED\x07\x1b[2J\x00\x9b[C]\u202eA\u2066x\u2069\tend\n"


def test_terminal_safe_strips_escapes_controls_and_bidi_but_keeps_text_tabs_and_newlines() -> None:
    assert terminal_safe(HOSTILE) == "ok]0;PWNED[2J[C]Ax\tend\n"


def test_visible_escapes_show_each_such_character() -> None:
    assert visible_escapes(HOSTILE) == (
        "ok\\x1b]0;PWNED\\x07\\x1b[2J\\x00\\x9b[C]\\u202eA\\u2066x\\u2069\tend\n"
    )


def test_ordinary_unicode_is_untouched() -> None:
    text = "Spondylolisthesis L4/L5 — 腰椎 ✓ مرحبا"
    assert terminal_safe(text) == visible_escapes(text) == text
