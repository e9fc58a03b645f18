"""Writing a report or leaderboard file where `--out` says: a clear error naming the path, never a stray file.

The text goes to `<name>.partial` beside the target and is renamed onto it, so a reader never sees half a
report; when the target is a folder or cannot be written, the error says so and the partial file is gone.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from spinebench.errors import SpineBenchError


class ReportError(SpineBenchError):
    """A report or leaderboard file cannot be written at the path given."""


def write_report_file(out: Path, text: str) -> None:
    if out.is_dir():
        raise ReportError(f"{out}: is a folder; --out names the file to write")
    temporary = out.with_name(out.name + ".partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(out)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise ReportError(f"{out}: cannot write ({error.strerror or error})") from error
