"""Reads CSXA (the Cervical Spine X-ray Atlas) as it unpacks: PNG radiographs with LabelMe keypoint JSONs
beside them, and one metadata table (CSV or XLSX) giving each image's cervical curvature class.

    ROOT/
      <table>.csv | <table>.xlsx      the single table in ROOT, unless `table=` names one
      <id>.png  [<id>.json]           images in ROOT ...
      images/<id>.png  [<id>.json]    ... or in ROOT/images/

The public column names are not settled, so the id and class columns are found among plausible names or named
with `CsxaColumns`. The class comes from the table only: a keypoint file that does not parse is reported but
does not drop its image. Pixels are not decoded here; the catalogue standardises `SourceImage.path` later.
See docs/sources/csxa.md.
"""

from __future__ import annotations

import csv
import datetime
import importlib
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from spinebench.errors import SpineBenchError
from spinebench.sources._records import Finding, SkippedRecord, SourceImage, SourceLayoutError
from spinebench.taxonomy import CSXA_CLASSES, canonical_answer

SOURCE: Final = "csxa"
TABLE_SUFFIXES: Final = (".csv", ".xlsx")
IMAGE_FOLDER: Final = "images"
# Header names tried when a column is not named, compared case-insensitively with spaces, "_" and "-" alike.
ID_COLUMN_NAMES: Final = ("image", "image id", "image name", "filename", "file name", "file", "name", "id")
CLASS_COLUMN_NAMES: Final = (
    "curvature",
    "cervical curvature",
    "curvature class",
    "curvature type",
    "class",
    "label",
    "category",
    "type",
)


@dataclass(frozen=True, slots=True)
class CsxaColumns:
    """Names of the table's image-id and curvature-class columns; None finds each among plausible names."""

    id: str | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True)
class _Table:
    path: Path
    header: tuple[str, ...]
    rows: tuple[tuple[int, tuple[str, ...]], ...]  # (row number as a spreadsheet shows it, cells)


def curvature_disease(label: str) -> str | None:
    """The canonical disease of a CSXA class ("Kyphosis", "cervical lordosis", ...), or None."""
    text = label.strip()
    disease = CSXA_CLASSES.get(text.lower()) or canonical_answer(text)
    return disease if disease in CSXA_CLASSES.values() else None


def check_layout(root: Path, *, table: Path | None = None) -> Path:
    """The metadata table of the CSXA folder `root`; SourceLayoutError if `root` does not look like CSXA."""
    expected = (
        f"expected a CSXA folder: one metadata table (*.csv or *.xlsx) and PNG images in it or in "
        f"{IMAGE_FOLDER}/, each optionally with a LabelMe .json beside it"
    )
    if not root.is_dir():
        raise SourceLayoutError(f"{root} is not a folder; {expected}")
    table_path = _find_table(root, table, expected)
    if next(root.rglob("*.png"), None) is None and next(root.rglob("*.PNG"), None) is None:
        raise SourceLayoutError(f"{root} holds no .png image; {expected}")
    return table_path


def read_csxa(
    root: Path,
    *,
    table: Path | None = None,
    columns: CsxaColumns = CsxaColumns(),  # frozen, so one shared default is safe
    validate_keypoints: bool = True,
) -> Iterator[SourceImage | SkippedRecord]:
    """Yield one lateral X-ray per table row with a known class, and a SkippedRecord for each unusable record.

    Order: rows without an id (table order), then images by id, then PNGs no row names.
    `validate_keypoints` parses each LabelMe JSON to report corrupt ones; turning it off saves reading
    keypoint files that embed their image (LabelMe's imageData).
    """
    table_path = check_layout(root, table=table)
    parsed = _read_table(table_path)
    id_column, class_column = _columns(parsed, columns)
    where = table_path.name
    by_id: dict[str, list[tuple[int, str]]] = {}
    for number, cells in parsed.rows:
        raw_id = _cell(cells, id_column)
        native_id = _native_id(raw_id)
        if native_id is None:
            reason = "no image id" if not raw_id else f"image id {raw_id!r} is not a path inside the folder"
            yield SkippedRecord(SOURCE, f"{where} row {number}", reason)
            continue
        by_id.setdefault(native_id, []).append((number, _cell(cells, class_column)))
    listed: set[Path] = set()
    for native_id in sorted(by_id):
        image = _find_image(root, native_id)
        if image is not None:
            listed.add(image)
        yield from _image_records(root, where, native_id, by_id[native_id], image, validate_keypoints)
    for image in _unlisted_images(root, listed):
        yield SkippedRecord(SOURCE, _relative(root, image), f"no row of {where} names this image")


def _image_records(
    root: Path,
    where: str,
    native_id: str,
    rows: list[tuple[int, str]],
    image: Path | None,
    validate_keypoints: bool,
) -> Iterator[SourceImage | SkippedRecord]:
    first, label = rows[0]
    location = f"{where} row {first}"
    for number, text in rows:
        if curvature_disease(text) is None:
            reason = "no curvature class" if not text else f"unknown curvature class {text!r}"
            yield SkippedRecord(
                SOURCE, f"{where} row {number}", f"{reason} (expected {', '.join(CSXA_CLASSES)})"
            )
            return
    diseases = {curvature_disease(text) for _, text in rows}
    if len(diseases) > 1:
        numbers = ", ".join(str(number) for number, _ in rows)
        classes = ", ".join(sorted(repr(text) for _, text in rows))
        yield SkippedRecord(
            SOURCE, location, f"image {native_id!r} is in rows {numbers} with different classes {classes}"
        )
        return
    if image is None:
        tried = " or ".join(
            str(PurePosixPath(folder) / _file_name(native_id)) for folder in (".", IMAGE_FOLDER)
        )
        yield SkippedRecord(SOURCE, location, f"image not found: no {tried} in the folder")
        return
    disease = curvature_disease(label)
    assert disease is not None  # every row was checked above
    # CSXA has one radiograph per person (an assumption, see docs): the image id is the patient id.
    yield SourceImage(SOURCE, native_id, image, "xray", "lateral", (Finding(disease),), patient_id=native_id)
    for number, _ in rows[1:]:
        yield SkippedRecord(SOURCE, f"{where} row {number}", f"repeats row {first} (same image and class)")
    keypoints = image.with_suffix(".json")
    if validate_keypoints and keypoints.is_file():
        problem = _keypoint_problem(keypoints)
        if problem is not None:
            yield SkippedRecord(
                SOURCE,
                _relative(root, keypoints),
                f"{problem}; the image is kept, its class comes from {where}",
            )


def _find_table(root: Path, table: Path | None, expected: str) -> Path:
    if table is not None:
        path = table if table.is_absolute() or table.is_file() else root / table
        if not path.is_file():
            raise SourceLayoutError(
                f"metadata table {table} not found (looked in the current folder and {root})"
            )
        if path.suffix.lower() not in TABLE_SUFFIXES:
            raise SourceLayoutError(f"metadata table {path} is neither .csv nor .xlsx")
        return path
    found = sorted(
        path
        for path in root.iterdir()
        # Excel leaves "~$name.xlsx" lock files beside a workbook it has open: never a table.
        if path.is_file() and path.suffix.lower() in TABLE_SUFFIXES and not path.name.startswith("~$")
    )
    if not found:
        raise SourceLayoutError(
            f"{root} has no metadata table (*.csv or *.xlsx) at its top level; {expected}"
        )
    if len(found) > 1:
        names = ", ".join(path.name for path in found)
        raise SourceLayoutError(f"{root} has several tables ({names}); choose one with the `table` option")
    return found[0]


def _read_table(path: Path) -> _Table:
    rows = _xlsx_rows(path) if path.suffix.lower() == ".xlsx" else _csv_rows(path)
    numbered = [(number, cells) for number, cells in enumerate(rows, start=1) if any(cells)]
    if not numbered:
        raise SourceLayoutError(f"metadata table {path} is empty")
    (_, header), *body = numbered
    width = len(header)
    padded = tuple((number, tuple(cells) + ("",) * (width - len(cells))) for number, cells in body)
    return _Table(path, tuple(header), padded)


def _csv_rows(path: Path) -> list[tuple[str, ...]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")  # Excel on Chinese-locale Windows saves plain CSV as GBK
        except UnicodeDecodeError as error:
            raise SourceLayoutError(
                f"metadata table {path} is neither UTF-8 nor GBK text ({error})"
            ) from error
    text = text.replace("\r\n", "\n")
    # Quirk: a stray carriage return inside a row (a cell edited on a Mac, a broken export) makes the csv
    # module refuse the whole file. A file with no newline at all uses CR as its line end (classic Mac OS).
    text = text.replace("\r", "\n") if "\n" not in text else text.replace("\r", "")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    # European-locale Excel writes ";"-separated CSV; tab-separated exports exist too.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline="\n"), delimiter=delimiter)
    try:
        return [tuple(cell.strip() for cell in row) for row in reader]
    except csv.Error as error:
        raise SourceLayoutError(
            f"metadata table {path} line {reader.line_num} cannot be read as CSV ({error})"
        ) from error


def _xlsx_rows(path: Path) -> list[tuple[str, ...]]:
    try:
        openpyxl = importlib.import_module("openpyxl")  # optional: only XLSX tables need it
    except ModuleNotFoundError as error:
        raise SpineBenchError(
            f"{path}: reading an .xlsx table needs openpyxl (pip install openpyxl); or save it as CSV"
        ) from error
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError and its own types for a broken workbook
        raise SourceLayoutError(
            f"metadata table {path} cannot be read as an XLSX workbook ({error})"
        ) from error
    try:
        sheet = workbook.worksheets[0]  # the first sheet holds the table; others are ignored
        return [tuple(_xlsx_text(value) for value in row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed as a number comes back as 12.0
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value).strip()


def _columns(table: _Table, columns: CsxaColumns) -> tuple[int, int]:
    id_column = _column(table, columns.id, ID_COLUMN_NAMES, "image id", "id")
    class_column = _column(table, columns.label, CLASS_COLUMN_NAMES, "curvature class", "label")
    if id_column == class_column:
        raise SourceLayoutError(
            f"metadata table {table.path}: column {table.header[id_column]!r} cannot be both the image id "
            "and the curvature class; set CsxaColumns(id=..., label=...)"
        )
    return id_column, class_column


def _column(table: _Table, name: str | None, candidates: Sequence[str], role: str, option: str) -> int:
    normalised = [_normalise(header) for header in table.header]
    shown = ", ".join(repr(header) for header in table.header)
    wanted = (_normalise(name),) if name is not None else tuple(_normalise(c) for c in candidates)
    matches = [index for index, header in enumerate(normalised) if header and header in wanted]
    if len(matches) == 1:
        return matches[0]
    prefix = f"metadata table {table.path}"
    if name is not None:
        problem = f"has no column {name!r}" if not matches else f"has several columns named {name!r}"
        raise SourceLayoutError(
            f"{prefix} {problem} (set by CsxaColumns({option}=...)); its columns: {shown}"
        )
    if not matches:
        raise SourceLayoutError(
            f"{prefix}: cannot tell which column holds the {role}: none of its columns ({shown}) is one of "
            f"{', '.join(candidates)}; name it with the columns option, CsxaColumns({option}='<column>')"
        )
    found = ", ".join(repr(table.header[index]) for index in matches)
    raise SourceLayoutError(
        f"{prefix}: several columns could hold the {role} ({found}); choose one with the columns option, "
        f"CsxaColumns({option}='<column>')"
    )


def _normalise(header: str) -> str:
    return re.sub(r"[\s_\-]+", " ", header.strip().lower())


def _cell(cells: tuple[str, ...], index: int) -> str:
    return cells[index].strip()


def _native_id(raw_id: str) -> str | None:
    """The image id as a relative POSIX path without ".png", or None when it is empty or leaves the folder."""
    path = PurePosixPath(raw_id.replace("\\", "/"))  # ids written on Windows use backslashes
    if not raw_id or path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    if path.suffix.lower() == ".png":
        path = path.with_suffix("")
    text = str(path)
    return text if text not in ("", ".") else None


def _file_name(native_id: str) -> str:
    return f"{native_id}.png"


def _find_image(root: Path, native_id: str) -> Path | None:
    for folder in (root, root / IMAGE_FOLDER):
        for suffix in (".png", ".PNG"):
            path = folder / f"{native_id}{suffix}"
            if path.is_file():
                return path
    return None


def _unlisted_images(root: Path, listed: set[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in (root, root / IMAGE_FOLDER):
        if folder.is_dir():
            found.extend(p for p in folder.iterdir() if p.suffix.lower() == ".png" and p.is_file())
    return sorted(path for path in found if path not in listed)


def _keypoint_problem(path: Path) -> str | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        return f"keypoint file does not parse as JSON ({error})"
    if not isinstance(data, dict) or not isinstance(data.get("shapes"), list):
        return "keypoint file is not LabelMe JSON (no 'shapes' list)"
    return None


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()
