"""SpineBench: build and run multiple-choice spine imaging questions for vision-language models.

The pipeline reads off the subpackages:
sources -> catalog -> embeddings -> questions -> benchmark -> run -> report.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("spinebench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
