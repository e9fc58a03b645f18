"""Errors a user can act on. Each message names the file or record and what is wrong with it."""


class SpineBenchError(Exception):
    """Base of every error the CLI reports as a one-line message with a non-zero exit."""


class BenchmarkError(SpineBenchError):
    """A benchmark directory is missing, altered or malformed."""


class ReleaseFormatError(SpineBenchError):
    """The published release folder cannot be read at all (single bad records are reported, not raised)."""


class ModelSpecError(SpineBenchError):
    """A `--model`/`--judge` spec names no known provider or has a bad argument."""


class RunDirectoryError(SpineBenchError):
    """A run directory cannot be written, or belongs to a different configuration."""


class RunStoppedError(SpineBenchError):
    """A run stopped early: every request was failing the same way (the message names cause and fix)."""
