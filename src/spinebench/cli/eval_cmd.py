"""`spinebench eval` (placeholder)."""

from __future__ import annotations


def eval_command() -> None:
    """Evaluate a model."""
    raise NotImplementedError
