"""Small file helpers shared by the synthetic dataset writers."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from spinebench.errors import SpineBenchError

MARKER = "README.txt"


def prepare_synthetic_folder(out: Path, readme: str) -> None:
    """Creates `out`, or empties it when an earlier synthetic copy is there, and marks it SYNTHETIC.

    Any other non-empty folder is refused: a writer must never delete a user's real dataset.
    """
    if out.exists() and not out.is_dir():
        raise SpineBenchError(f"{out} exists and is not a folder; choose a new folder")
    if out.exists() and any(out.iterdir()):
        marker = out / MARKER
        if not (marker.is_file() and marker.read_text(errors="replace").startswith("SYNTHETIC")):
            raise SpineBenchError(
                f"{out} is not empty and not a synthetic dataset folder; choose a new folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text(readme, encoding="utf-8")


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    """A CSV with a header row and Unix line ends (the datasets' own files use them)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
