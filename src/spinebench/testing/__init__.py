"""Test helpers that ship with the package: a scripted OpenAI-compatible server on 127.0.0.1.

The names are loaded on first use, so `python -m spinebench.testing.openai_stub` runs its module only once.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    "OpenAIStubServer",
    "RecordedRequest",
    "Script",
    "StubReply",
    "answer_script",
    "script_by_marker",
    "user_text",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("spinebench.testing.openai_stub"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
