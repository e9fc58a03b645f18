"""Reads BUU-LSPINE (Burapha University lumbar spine X-rays) as it unpacks.

    ROOT/
      AP/<id>-<sex>-<age>Y<view>.jpg   anteroposterior view, e.g. 0001-F-037Y0.jpg
      AP/<id>-<sex>-<age>Y<view>.csv   10 headerless rows: x1, y1, x2, y2, label
      LA/...                           lateral view, CSVs of 11 rows

Each CSV row is one vertebral edge, top to bottom: the upper and lower edge of L1, ..., L5, and (LA only) the
upper edge of S1. A label > 0 on a row marks spondylolisthesis at the row's level (`ROW_LEVELS`). The folder,
not the view digit of the name, says which view an image is. Pixels are not decoded here. See
docs/sources/buu.md.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from spinebench.sources._records import Finding, SkippedRecord, SourceImage, SourceLayoutError
from spinebench.taxonomy import LEVELS

SOURCE: Final = "buu"
DISEASE: Final = "Spondylolisthesis"
VIEWS: Final[dict[str, str]] = {"AP": "AP", "LA": "lateral"}  # folder -> SourceImage.view
ROW_COUNTS: Final[dict[str, int]] = {"AP": 10, "LA": 11}
# Rows 2k and 2k+1 are the upper and lower edges of vertebra L(k+1); a flag on either means L(k+1) slipped
# over the vertebra below, so the level is L(k+1)/L(k+2), and L5/S1 for L5. The S1 edge (row 10, LA) bounds
# the same L5/S1 segment.
ROW_LEVELS: Final[dict[str, tuple[str, ...]]] = {
    "AP": tuple(LEVELS[row // 2] for row in range(10)),
    "LA": (*(LEVELS[row // 2] for row in range(10)), "L5/S1"),
}
IMAGE_SUFFIXES: Final = (".jpg", ".jpeg")
_NAME: Final = re.compile(r"(?P<patient>\d+)-(?P<sex>[FM])-(?P<age>\d{1,3})Y(?P<view>\d)", re.IGNORECASE)
_HEADER: Final = ["x1", "y1", "x2", "y2", "label"]


@dataclass(frozen=True, slots=True)
class BuuName:
    """What a BUU-LSPINE file name says: patient number (as written), sex F/M, age in years, view digit."""

    patient: str
    sex: str
    age: int
    view_digit: int


class _Skip(Exception):
    def __init__(self, reason: str, row: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.row = row


def parse_buu_name(stem: str) -> BuuName | None:
    """Parse `0001-F-037Y0` into its parts, or None when the name does not have that form."""
    match = _NAME.fullmatch(stem)
    if match is None:
        return None
    return BuuName(match["patient"], match["sex"].upper(), int(match["age"]), int(match["view"]))


def check_layout(root: Path) -> None:
    """Raise SourceLayoutError, naming what was expected, unless `root` has BUU-LSPINE's AP/ and LA/."""
    expected = (
        "expected a BUU-LSPINE folder with subfolders AP/ and LA/ of <id>-<sex>-<age>Y<view>.jpg images "
        "(e.g. 0001-F-037Y0.jpg), each with a headerless .csv of the same name"
    )
    if not root.is_dir():
        raise SourceLayoutError(f"{root} is not a folder; {expected}")
    missing = [f"{folder}/" for folder in VIEWS if not (root / folder).is_dir()]
    if missing:
        hint = ""
        nested = sorted(c for c in root.iterdir() if c.is_dir() and all((c / f).is_dir() for f in VIEWS))
        if nested:
            hint = f" ({nested[0]} has them: pass that folder)"
        raise SourceLayoutError(f"{root} has no {' or '.join(missing)}; {expected}{hint}")
    if not any(
        _is_image(path) or path.suffix.lower() == ".csv" for f in VIEWS for path in (root / f).iterdir()
    ):
        raise SourceLayoutError(f"{root}: AP/ and LA/ hold no .jpg or .csv files; {expected}")


def read_buu(root: Path) -> Iterator[SourceImage | SkippedRecord]:
    """Yield every AP and LA image with its spondylolisthesis levels, and a SkippedRecord per unusable file.

    Order: AP then LA, by file name. A file name that does not parse, an image without its CSV (or the
    reverse) and a CSV with the wrong row count or a non-numeric value are skipped with file and reason.
    """
    check_layout(root)
    for folder in VIEWS:
        directory = root / folder
        images = {path.stem: path for path in sorted(directory.iterdir()) if _is_image(path)}
        tables = {path.stem: path for path in sorted(directory.iterdir()) if path.suffix.lower() == ".csv"}
        for stem in sorted(images.keys() | tables.keys()):
            yield _record(root, folder, stem, images.get(stem), tables.get(stem))


def _record(
    root: Path, folder: str, stem: str, image: Path | None, table: Path | None
) -> SourceImage | SkippedRecord:
    any_file = image if image is not None else table
    assert any_file is not None  # the stem came from one of them
    name = parse_buu_name(stem)
    if name is None:
        reason = f"file name {stem!r} is not <id>-<sex>-<age>Y<view> (e.g. 0001-F-037Y0)"
        return SkippedRecord(SOURCE, _relative(root, any_file), reason)
    if table is None:
        return SkippedRecord(SOURCE, _relative(root, any_file), f"no annotation {stem}.csv beside the image")
    if image is None:
        return SkippedRecord(SOURCE, _relative(root, table), f"no image {stem}.jpg beside the annotation")
    try:
        flagged = _flagged_rows(table, ROW_COUNTS[folder])
    except _Skip as skip:
        location = _relative(root, table) + (f" row {skip.row}" if skip.row is not None else "")
        return SkippedRecord(SOURCE, location, skip.reason)
    levels = tuple(level for level in LEVELS if level in {ROW_LEVELS[folder][row] for row in flagged})
    findings = (Finding(DISEASE, levels),) if levels else ()
    return SourceImage(
        SOURCE, f"{folder}/{stem}", image, "xray", VIEWS[folder], findings, patient_id=name.patient
    )


def _flagged_rows(path: Path, expected: int) -> list[int]:
    """0-based indices of the rows whose label is > 0; raises _Skip (row numbers 1-based) when malformed."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise _Skip(f"cannot be read as text ({error})") from error
    reader = csv.reader(io.StringIO(text))
    # (line number as an editor shows it, cells), blank lines dropped
    rows = [(reader.line_num, cells) for cells in ([c.strip() for c in row] for row in reader) if any(cells)]
    # The release has no header, but copies re-saved with pandas or Excel may carry one: tolerate it.
    header = bool(rows) and [cell.lower() for cell in rows[0][1]] == _HEADER
    body = rows[1:] if header else rows
    if len(body) != expected:
        raise _Skip(
            f"{len(body)} rows, expected {expected} (one x1, y1, x2, y2, label row per vertebral edge)"
        )
    flagged: list[int] = []
    for index, (number, row) in enumerate(body):
        while row and not row[-1]:
            row = row[:-1]  # a trailing comma leaves an empty last cell
        if len(row) != 5:
            raise _Skip(f"{len(row)} values, expected 5 (x1, y1, x2, y2, label)", number)
        try:
            values = [float(cell) for cell in row]
        except ValueError:
            raise _Skip(f"non-numeric value in {', '.join(row)}", number) from None
        if not all(math.isfinite(value) for value in values):
            raise _Skip(f"non-finite value in {', '.join(row)}", number)
        label = values[4]
        if label < 0 or not label.is_integer():
            raise _Skip(f"label {row[4]!r} is not a class number (0 normal, > 0 slipped)", number)
        if label > 0:
            flagged.append(index)
    return flagged


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()
