"""Reads RSNA 2024 Lumbar Spine Degenerative Classification (Kaggle) as it unpacks: an image per marked slice.

Layout: `train.csv` (a severity per study, condition and level), `train_label_coordinates.csv` (the slice and
point where each condition/level was marked), `train_series_descriptions.csv` and
`train_images/<study_id>/<series_id>/<instance_number>.dcm`. Rules (docs/sources/rsna_lumbar.md):

- every annotated instance becomes one SourceImage; its findings are the conditions marked on it, left and
  right merged, keeping the levels whose severity in train.csv is at least `min_severity` (default
  Moderate); a finding's severity is the worst of its kept levels;
- a slice with nothing at or above the threshold is Healthy only when all 25 labels of its study are
  Normal/Mild and none of its rows was rejected; otherwise it is kept for severity grading only
  (`graded_only`), since the study's disease (or the unknown grade) may be visible on it;
- every slice carries its grades: each condition and level marked on it with its train.csv severity and the
  marked point (`x`, `y`, optional columns), whatever the threshold.

Only the CSV files are read here; pixels are standardised later from `SourceImage.path`.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from spinebench.errors import SpineBenchError
from spinebench.sources._listing import FolderListing, list_folder
from spinebench.sources._records import Finding, Grade, SkippedRecord, SourceImage, SourceLayoutError
from spinebench.taxonomy import DISEASE_NAMES, LEVELS, RSNA_CONDITIONS, RSNA_SEVERITIES

SOURCE: Final = "rsna"
SEVERITY_FILE: Final = "train.csv"
COORDINATES_FILE: Final = "train_label_coordinates.csv"
DESCRIPTIONS_FILE: Final = "train_series_descriptions.csv"
IMAGES_DIR: Final = "train_images"
IMAGE_SUFFIX: Final = ".dcm"
DEFAULT_MIN_SEVERITY: Final = "Moderate"
COORDINATE_COLUMNS: Final = ("study_id", "series_id", "instance_number", "condition", "level")
DESCRIPTION_COLUMNS: Final = ("study_id", "series_id", "series_description")
HEALTHY_SEVERITY: Final = RSNA_SEVERITIES[0]


class SeverityThresholdError(SpineBenchError, ValueError):
    """`min_severity` names no RSNA severity."""


def severity_column(condition: str, level: str) -> str:
    """The train.csv column of a condition at a level: ("Spinal Canal Stenosis", "L4/L5") -> ..._l4_l5."""
    return f"{condition.lower().replace(' ', '_')}_{level.lower().replace('/', '_')}"


SEVERITY_COLUMNS: Final = tuple(severity_column(c, level) for c in RSNA_CONDITIONS for level in LEVELS)


def _fold(text: str) -> str:
    return re.sub(r"[\s_]+", " ", text.strip()).casefold()


_CONDITIONS: Final = {_fold(condition): condition for condition in RSNA_CONDITIONS}
_SEVERITY_RANK: Final = {_fold(severity): rank for rank, severity in enumerate(RSNA_SEVERITIES)}
_LEVEL: Final = re.compile(r"L([1-5])\s*[/_\-\s]\s*(?:L([1-5])|(S1))", re.IGNORECASE)


def _level(text: str) -> str | None:
    """The taxonomy spelling of a disc level ("L4/L5", "l4_l5", "L4-L5"), or None."""
    match = _LEVEL.fullmatch(text.strip())
    if match is None:
        return None
    level = f"L{match.group(1)}/{'L' + match.group(2) if match.group(2) else 'S1'}"
    return level if level in LEVELS else None


def _severity_rank(name: str) -> int:
    rank = _SEVERITY_RANK.get(_fold(name))
    if rank is None:
        raise SeverityThresholdError(
            f"unknown severity threshold {name!r} (expected one of {', '.join(RSNA_SEVERITIES)})"
        )
    return rank


def _natural(text: str) -> tuple[int, int, str]:
    # RSNA ids are integers; sort them as numbers so that "10" follows "9".
    return (0, int(text), "") if text.isdigit() else (1, 0, text)


def check_layout(root: Path) -> None:
    """Raises SourceLayoutError naming every missing file or folder unless `root` is an RSNA lumbar folder."""
    if not root.is_dir():
        raise SourceLayoutError(f"{root}: not a folder (expected the RSNA 2024 lumbar folder)")
    expected = [
        (SEVERITY_FILE, (root / SEVERITY_FILE).is_file()),
        (COORDINATES_FILE, (root / COORDINATES_FILE).is_file()),
        (DESCRIPTIONS_FILE, (root / DESCRIPTIONS_FILE).is_file()),
        (IMAGES_DIR + "/", (root / IMAGES_DIR).is_dir()),
    ]
    missing = [name for name, present in expected if not present]
    if missing:
        listing = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in root.iterdir())
        raise SourceLayoutError(
            f"{root}: not an RSNA 2024 lumbar folder: missing {', '.join(missing)} (expected "
            f"{SEVERITY_FILE}, {COORDINATES_FILE}, {DESCRIPTIONS_FILE} and "
            f"{IMAGES_DIR}/<study_id>/<series_id>/<instance_number>.dcm; found "
            f"{', '.join(listing[:8]) or 'an empty folder'}{' ...' if len(listing) > 8 else ''})"
        )


def _read_table(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a CSV; raises _BadFile naming missing columns or a read error."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [column.strip() for column in reader.fieldnames or []]
            missing = [column for column in required if column not in header]
            if missing:
                raise _BadFile(
                    f"missing columns {', '.join(missing)} (header: {', '.join(header) or 'empty'})"
                )
            reader.fieldnames = header
            return [(reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise _BadFile(f"cannot be read as CSV ({error})") from error


class _BadFile(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Mark:
    """One valid row of the coordinates file: a condition marked at a level on a slice."""

    line: int
    condition: str
    level: str
    severity: int
    x: float | None = None
    y: float | None = None


@dataclass
class _Slice:
    study: str
    series: str
    instance: int
    marks: list[_Mark]
    lines: list[int]
    rejected: int = 0


def read_rsna_lumbar(
    root: Path, *, min_severity: str = DEFAULT_MIN_SEVERITY
) -> Iterator[SourceImage | SkippedRecord]:
    """The annotated slices of an RSNA 2024 lumbar folder with their findings, and every record it skipped.

    `min_severity` ("Normal/Mild", "Moderate" or "Severe") is the least severity that counts as disease.
    Skipped records come first in file order, then one record per annotated slice by study, series, instance.
    """
    threshold = _severity_rank(min_severity)
    check_layout(root)
    skipped: list[SkippedRecord] = []
    severities = _read_severities(root, skipped)
    views = _read_views(root, skipped)
    slices = _read_marks(root, severities, skipped)
    healthy_studies = {study for study, values in severities.items() if all(v == 0 for v in values.values())}
    return _emit(root, skipped, slices, views, healthy_studies, threshold)


def _read_severities(root: Path, skipped: list[SkippedRecord]) -> dict[str, dict[str, int | None]]:
    """study -> column -> severity rank (None when blank). A wrong header makes the folder unusable."""
    try:
        rows = _read_table(root / SEVERITY_FILE, ("study_id", *SEVERITY_COLUMNS))
    except _BadFile as error:
        raise SourceLayoutError(
            f"{root / SEVERITY_FILE}: {error}; expected study_id and the 25 <condition>_<level> columns such "
            "as spinal_canal_stenosis_l4_l5"
        ) from error
    severities: dict[str, dict[str, int | None]] = {}
    for line, row in rows:
        study = row["study_id"]
        where = f"{SEVERITY_FILE} line {line} (study {study})"
        if not study:
            skipped.append(SkippedRecord(SOURCE, f"{SEVERITY_FILE} line {line}", "empty study_id"))
            continue
        if study in severities:
            skipped.append(SkippedRecord(SOURCE, where, "study_id repeated; its first row is used", (study,)))
            continue
        values: dict[str, int | None] = {}
        for column in SEVERITY_COLUMNS:
            text = row.get(column, "")
            values[column] = _SEVERITY_RANK.get(_fold(text)) if text else None
            if text and values[column] is None:
                skipped.append(
                    SkippedRecord(
                        SOURCE,
                        where,
                        f"unknown severity {text!r} in column {column}; read as blank",
                        (study,),
                    )
                )
        severities[study] = values
    return severities


def _read_views(root: Path, skipped: list[SkippedRecord]) -> dict[tuple[str, str], str]:
    """(study, series) -> series description. A wrong header is reported and every view becomes unknown."""
    try:
        rows = _read_table(root / DESCRIPTIONS_FILE, DESCRIPTION_COLUMNS)
    except _BadFile as error:
        skipped.append(
            SkippedRecord(SOURCE, DESCRIPTIONS_FILE, f"whole file skipped: {error}; every view is 'unknown'")
        )
        return {}
    return {
        (row["study_id"], row["series_id"]): row["series_description"]
        for _, row in rows
        if row["series_description"]
    }


def _read_marks(
    root: Path, severities: dict[str, dict[str, int | None]], skipped: list[SkippedRecord]
) -> dict[tuple[str, str, int], _Slice]:
    """The coordinate rows grouped by slice, each valid row with its severity; bad rows are reported."""
    try:
        rows = _read_table(root / COORDINATES_FILE, COORDINATE_COLUMNS)
    except _BadFile as error:
        raise SourceLayoutError(f"{root / COORDINATES_FILE}: {error}") from error
    slices: dict[tuple[str, str, int], _Slice] = {}
    for line, row in rows:
        study, series, instance = row["study_id"], row["series_id"], _instance(row["instance_number"])
        if not study or not series or instance is None:
            skipped.append(
                SkippedRecord(
                    SOURCE,
                    f"{COORDINATES_FILE} line {line}",
                    f"bad slice id (study {study!r}, series {series!r}, instance {row['instance_number']!r})",
                    (study, series),
                )
            )
            continue
        slice_ = slices.setdefault((study, series, instance), _Slice(study, series, instance, [], []))
        slice_.lines.append(line)
        mark = _mark(line, row, severities.get(study))
        if isinstance(mark, str):
            slice_.rejected += 1
            where = f"{COORDINATES_FILE} line {line} (study {study}, series {series}, instance {instance})"
            skipped.append(SkippedRecord(SOURCE, where, mark, (study, series)))
        else:
            slice_.marks.append(mark)
    return slices


def _instance(text: str) -> int | None:
    try:
        value = float(text)  # pandas exports may write "8.0"
    except ValueError:
        return None
    return int(value) if value.is_integer() and value >= 0 else None


def _mark(line: int, row: dict[str, str], study_severities: dict[str, int | None] | None) -> _Mark | str:
    """The mark a coordinate row makes, or why it is unusable."""
    condition = _CONDITIONS.get(_fold(row["condition"]))
    if condition is None:
        return f"unknown condition {row['condition']!r} (expected one of {', '.join(RSNA_CONDITIONS)})"
    level = _level(row["level"])
    if level is None:
        return f"unknown level {row['level']!r} (expected one of {', '.join(LEVELS)})"
    if study_severities is None:
        return f"study {row['study_id']} has no row in {SEVERITY_FILE}"
    column = severity_column(condition, level)
    severity = study_severities[column]
    if severity is None:
        return f"blank severity in {SEVERITY_FILE} column {column}"
    x, y = _coordinate(row.get("x", "")), _coordinate(row.get("y", ""))
    return _Mark(line, condition, level, severity, x, y)


def _coordinate(text: str) -> float | None:
    # Optional columns: a missing, blank or non-finite point leaves the grade without a mark.
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _grades(marks: list[_Mark]) -> tuple[Grade, ...]:
    """Every condition and level marked on the slice with its severity (a repeated mark: the first row)."""
    first: dict[tuple[str, str], _Mark] = {}
    for mark in marks:
        first.setdefault((mark.condition, mark.level), mark)
    conditions = tuple(RSNA_CONDITIONS)
    return tuple(
        Grade(mark.condition, mark.level, RSNA_SEVERITIES[mark.severity], mark.x, mark.y)
        for (condition, level), mark in sorted(
            first.items(), key=lambda item: (conditions.index(item[0][0]), LEVELS.index(item[0][1]))
        )
    )


def _findings(marks: list[_Mark], threshold: int) -> tuple[Finding, ...]:
    """Left and right merged per disease; the levels at or above the threshold; the worst as the severity."""
    by_disease: dict[str, dict[str, int]] = defaultdict(dict)
    for mark in marks:
        if mark.severity >= threshold:
            levels = by_disease[RSNA_CONDITIONS[mark.condition]]
            levels[mark.level] = max(levels.get(mark.level, 0), mark.severity)
    return tuple(
        Finding(
            disease,
            levels=tuple(sorted(levels, key=LEVELS.index)),
            severity=RSNA_SEVERITIES[max(levels.values())],
        )
        for disease, levels in sorted(by_disease.items(), key=lambda item: DISEASE_NAMES.index(item[0]))
    )


def _series_files(
    root: Path, study: str, series: str, cache: dict[tuple[str, str], FolderListing]
) -> FolderListing:
    # One listing per series instead of one stat per slice.
    key = (study, series)
    if key not in cache:
        cache[key] = list_folder(root / IMAGES_DIR / study / series)
    return cache[key]


def _emit(
    root: Path,
    skipped: list[SkippedRecord],
    slices: dict[tuple[str, str, int], _Slice],
    views: dict[tuple[str, str], str],
    healthy_studies: set[str],
    threshold: int,
) -> Iterator[SourceImage | SkippedRecord]:
    yield from skipped
    listings: dict[tuple[str, str], FolderListing] = {}
    order = sorted(slices, key=lambda key: (_natural(key[0]), _natural(key[1]), key[2]))
    for key in order:
        slice_ = slices[key]
        shown = ", ".join(str(line) for line in slice_.lines[:5]) + (" ..." if len(slice_.lines) > 5 else "")
        where = (
            f"{COORDINATES_FILE} line{'s' if len(slice_.lines) > 1 else ''} {shown} "
            f"(study {slice_.study}, series {slice_.series}, instance {slice_.instance})"
        )
        if not slice_.marks:
            continue  # every row of it was rejected and reported already
        relative = f"{IMAGES_DIR}/{slice_.study}/{slice_.series}/{slice_.instance}{IMAGE_SUFFIX}"
        listing = _series_files(root, slice_.study, slice_.series, listings)
        if f"{slice_.instance}{IMAGE_SUFFIX}" not in listing:
            reason = listing.missing_reason(f"{slice_.instance}{IMAGE_SUFFIX}")
            yield SkippedRecord(SOURCE, where, f"image {relative} {reason}", (slice_.study, slice_.series))
            continue
        findings = _findings(slice_.marks, threshold)
        # Nothing at the threshold, and either disease elsewhere in the study or rows of this slice rejected:
        # not called Healthy (the disease, or the unknown grade, may show on it), but its valid grades are
        # known, so it serves severity grading alone.
        graded_only = not findings and (slice_.rejected > 0 or slice_.study not in healthy_studies)
        yield SourceImage(
            source=SOURCE,
            native_id=f"{slice_.study}/{slice_.series}/{slice_.instance}",
            path=root / relative,
            modality="mri",
            view=views.get((slice_.study, slice_.series), "unknown"),
            findings=findings,
            patient_id=slice_.study,  # RSNA gives one study per patient and no separate patient id
            study_id=slice_.study,
            grades=_grades(slice_.marks),
            graded_only=graded_only,
            private_ids=(slice_.series,),
        )
