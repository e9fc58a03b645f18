"""`spinebench import-release` (placeholder until the importer lands)."""

from __future__ import annotations


def import_release_command() -> None:
    """Import the published SpineBench release."""
    raise NotImplementedError
