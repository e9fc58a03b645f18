"""Test helpers that ship with the package: a scripted OpenAI-compatible server on 127.0.0.1, and `require`
to skip a test whose optional extra is absent.

The names are loaded on first use, so `python -m spinebench.testing.openai_stub` runs its module only once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from spinebench.testing._extras import INSTALL_HINTS, require

if TYPE_CHECKING:
    from spinebench.testing.openai_stub import (
        DEFAULT_ANSWER,
        OpenAIStubServer,
        RecordedRequest,
        Script,
        StubReply,
        answer_script,
        script_by_marker,
        user_text,
    )

__all__ = [
    "DEFAULT_ANSWER",
    "INSTALL_HINTS",
    "OpenAIStubServer",
    "RecordedRequest",
    "Script",
    "StubReply",
    "answer_script",
    "require",
    "script_by_marker",
    "user_text",
]

_STUB_NAMES = frozenset(__all__) - {"INSTALL_HINTS", "require"}


def __getattr__(name: str) -> Any:
    if name in _STUB_NAMES:
        return getattr(importlib.import_module("spinebench.testing.openai_stub"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
