"""Reads VinDr-SpineXR (PhysioNet) as it unpacks: lesion boxes per radiologist merged into findings per image.

Layout: `annotations/{train,test}.csv` (one row per box) and `{train,test}_images/<image_id>.dicom`.
Merge rule for an image labelled by several radiologists (docs/sources/vindr.md):

- its findings are the union of the SpineBench diseases over all its rows (boxes carry no level);
- it is Healthy only when every one of its rows is "No finding";
- a dropped label (Other lesions, Surgical implant, ...) beside a kept disease is ignored; an image whose only
  lesions are dropped labels is skipped: it is neither healthy nor does it show a SpineBench disease;
- a rejected row (unknown label, bad box) means the image cannot be called Healthy; it keeps the diseases of
  its valid rows.

Only the CSV files are read here; pixels are standardised later from `SourceImage.path`.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from spinebench.sources._listing import FolderListing, list_folder
from spinebench.sources._records import Finding, SkippedRecord, SourceImage, SourceLayoutError
from spinebench.taxonomy import DISEASE_NAMES, HEALTHY, VINDR_LESIONS

SOURCE: Final = "vindr"
SPLITS: Final = ("train", "test")
REQUIRED_COLUMNS: Final = ("image_id", "study_id", "lesion_type", "xmin", "ymin", "xmax", "ymax")
IMAGE_SUFFIX: Final = ".dicom"
_BOX: Final = ("xmin", "ymin", "xmax", "ymax")


def _fold(label: str) -> str:
    return re.sub(r"\s+", " ", label.strip()).casefold()


# Raw lesion name (case and spacing ignored) -> (the release's spelling, disease, Healthy or None if dropped).
_LESIONS: Final = {_fold(name): (name, disease) for name, disease in VINDR_LESIONS.items()}


@dataclass
class _Image:
    """What the rows of one image say, gathered before the merge rule is applied."""

    split: str
    image_id: str
    study_id: str | None
    lines: list[int] = field(default_factory=list)
    diseases: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    rejected: int = 0
    no_finding: int = 0


def _csv_name(split: str) -> str:
    return f"annotations/{split}.csv"


def _images_name(split: str) -> str:
    return f"{split}_images"


def _listing(root: Path) -> str:
    names = sorted(entry.name + ("/" if entry.is_dir() else "") for entry in root.iterdir())
    if not names:
        return "an empty folder"
    return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")


def check_layout(root: Path) -> None:
    """Raises SourceLayoutError naming what is missing unless `root` looks like the VinDr-SpineXR folder.

    At least one split must be present; a split is its CSV and its image folder together (a download of the
    test split alone is accepted).
    """
    expected = "annotations/{train,test}.csv and {train,test}_images/<image_id>.dicom"
    if not root.is_dir():
        raise SourceLayoutError(
            f"{root}: not a folder (expected the VinDr-SpineXR folder holding {expected})"
        )
    if not any((root / _csv_name(split)).is_file() for split in SPLITS):
        raise SourceLayoutError(
            f"{root}: neither annotations/train.csv nor annotations/test.csv exists, so this is not a "
            f"VinDr-SpineXR folder (expected {expected}; found {_listing(root)})"
        )
    for split in SPLITS:
        has_csv = (root / _csv_name(split)).is_file()
        has_images = (root / _images_name(split)).is_dir()
        if has_csv and not has_images:
            raise SourceLayoutError(
                f"{root}: {_csv_name(split)} exists but its image folder {_images_name(split)}/ is missing"
            )
        if has_images and not has_csv:
            raise SourceLayoutError(
                f"{root}: {_images_name(split)}/ exists but its labels {_csv_name(split)} are missing"
            )


def _box_problem(row: dict[str, str]) -> str | None:
    """Why the box of a lesion row is unusable, or None when it is a proper box."""
    values: list[float] = []
    for name in _BOX:
        text = (row.get(name) or "").strip()
        try:
            value = float(text)
        except ValueError:
            return f"{name}={text!r} is not a number"
        if not math.isfinite(value) or value < 0:
            return f"{name}={text!r} is not a finite, non-negative coordinate"
        values.append(value)
    xmin, ymin, xmax, ymax = values
    if xmin >= xmax or ymin >= ymax:
        return f"empty box (xmin={xmin:g}, ymin={ymin:g}, xmax={xmax:g}, ymax={ymax:g})"
    return None


def _read_split(
    root: Path, split: str, images: dict[str, _Image], skipped: list[SkippedRecord]
) -> str | None:
    """Adds the rows of one split's CSV to `images`; returns why the whole file is unusable, or None."""
    name = _csv_name(split)
    try:
        with (root / name).open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [column.strip() for column in reader.fieldnames or []]
            missing = [column for column in REQUIRED_COLUMNS if column not in header]
            if missing:
                return f"missing columns {', '.join(missing)} (header: {', '.join(header) or 'empty'})"
            reader.fieldnames = header  # real exports sometimes pad column names with spaces
            # Read to the end before using any row: a file that breaks partway is skipped whole, since the
            # rows before the break may hold only some of an image's radiologists.
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return f"cannot be read as CSV ({error})"
    for line, row in rows:
        _add_row(split, name, line, row, images, skipped)
    return None


def _add_row(
    split: str,
    name: str,
    line: int,
    row: dict[str, str],
    images: dict[str, _Image],
    skipped: list[SkippedRecord],
) -> None:
    image_id = (row.get("image_id") or "").strip()
    if not image_id:
        skipped.append(SkippedRecord(SOURCE, f"{name} line {line}", "empty image_id"))
        return
    image = images.get(image_id)
    if image is None:
        image = images[image_id] = _Image(split, image_id, (row.get("study_id") or "").strip() or None)
    elif image.split != split:
        skipped.append(
            SkippedRecord(
                SOURCE,
                f"{name} line {line} (image {image_id})",
                f"image id already labelled in {_csv_name(image.split)}; a row of one image in two splits is "
                "ignored",
            )
        )
        return
    image.lines.append(line)
    where = f"{name} line {line} (image {image_id})"
    raw = (row.get("lesion_type") or "").strip()
    known = _LESIONS.get(_fold(raw))
    if known is None:
        image.rejected += 1
        skipped.append(
            SkippedRecord(
                SOURCE, where, f"unknown lesion type {raw!r} (expected one of {', '.join(VINDR_LESIONS)})"
            )
        )
        return
    label, disease = known
    if disease == HEALTHY:
        image.no_finding += 1  # "No finding" rows carry an empty box, whatever their box fields hold
        return
    problem = _box_problem(row)
    if problem is not None:
        image.rejected += 1
        skipped.append(SkippedRecord(SOURCE, where, f"bad box for {label!r}: {problem}"))
        return
    if disease is None:
        image.dropped.add(label)
    else:
        image.diseases.add(disease)


def _files_in(folder: Path) -> FolderListing:
    # One listing per split instead of one stat per image: the train split alone holds ~8,000 files.
    return list_folder(folder)


def _lines(image: _Image) -> str:
    shown = ", ".join(str(line) for line in image.lines[:5])
    more = f" and {len(image.lines) - 5} more" if len(image.lines) > 5 else ""
    return f"{_csv_name(image.split)} line{'s' if len(image.lines) > 1 else ''} {shown}{more}"


def _merge(root: Path, image: _Image, files: FolderListing) -> SourceImage | SkippedRecord:
    """Applies the merge rule to one image's rows (see the module docstring)."""
    where = f"{_lines(image)} (image {image.image_id})"
    file_name = image.image_id + IMAGE_SUFFIX
    if file_name not in files:
        reason = files.missing_reason(file_name)
        return SkippedRecord(SOURCE, where, f"image {_images_name(image.split)}/{file_name} {reason}")
    if not image.diseases:
        if image.rejected:
            return SkippedRecord(
                SOURCE, where, f"no usable label: {image.rejected} of its rows rejected (reported above)"
            )
        if image.dropped:
            return SkippedRecord(
                SOURCE,
                where,
                f"only dropped labels ({', '.join(sorted(image.dropped))}): neither healthy nor a SpineBench "
                "disease",
            )
    findings = tuple(Finding(disease) for disease in sorted(image.diseases, key=DISEASE_NAMES.index))
    return SourceImage(
        source=SOURCE,
        native_id=image.image_id,
        path=root / _images_name(image.split) / file_name,
        modality="xray",
        view="unknown",  # neither the CSV nor the file names say lateral or AP
        findings=findings,
        patient_id=image.study_id,  # VinDr publishes no patient id; one study is the closest grouping
        study_id=image.study_id,
    )


def read_vindr(root: Path) -> Iterator[SourceImage | SkippedRecord]:
    """The images of a VinDr-SpineXR folder with merged findings, and every record it skipped, in order.

    Skipped records (file- and row-level) come first, in file order, then one record per image, train before
    test, by image id. Raises SourceLayoutError when the folder is not VinDr-SpineXR or no CSV is usable.
    """
    check_layout(root)
    skipped: list[SkippedRecord] = []
    images: dict[str, _Image] = {}
    unusable: list[str] = []
    present = [split for split in SPLITS if (root / _csv_name(split)).is_file()]
    for split in present:
        problem = _read_split(root, split, images, skipped)
        if problem is not None:
            unusable.append(f"{_csv_name(split)}: {problem}")
            skipped.append(SkippedRecord(SOURCE, _csv_name(split), f"whole file skipped: {problem}"))
    if len(unusable) == len(present):
        raise SourceLayoutError(
            f"{root}: no usable annotation file ({'; '.join(unusable)}); expected columns "
            f"{', '.join(REQUIRED_COLUMNS)}"
        )
    return _emit(root, skipped, images)


def _emit(
    root: Path, skipped: list[SkippedRecord], images: dict[str, _Image]
) -> Iterator[SourceImage | SkippedRecord]:
    yield from skipped
    files = {split: _files_in(root / _images_name(split)) for split in {i.split for i in images.values()}}
    for image in sorted(images.values(), key=lambda i: (SPLITS.index(i.split), i.image_id)):
        yield _merge(root, image, files[image.split])
