"""Marked grade points, from the source image's pixels to the standardised image's pixels.

Standardising keeps the aspect and may shrink an image (never enlarges it), so a point marked on the source
moves by the ratio of the two sizes, per axis (the rounding of the shrunk size makes the two ratios differ by
a fraction of a pixel).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import pydicom
from PIL import Image

from spinebench.imaging import is_dicom
from spinebench.sources import Grade


def source_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of a source image from its header alone; None when the header does not say."""
    try:
        if is_dicom(path):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                header = pydicom.dcmread(path, stop_before_pixels=True, force=True)
            columns, rows = header.get("Columns"), header.get("Rows")
            return (int(columns), int(rows)) if columns and rows else None
        with Image.open(path) as image:
            return image.size
    except (OSError, ValueError, TypeError, pydicom.errors.InvalidDicomError):
        return None


class Sizes(Protocol):
    """A conversion's sizes: the standardised image's, and the source's (None when unknown)."""

    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def source_width(self) -> int | None: ...
    @property
    def source_height(self) -> int | None: ...


def scaled_grades(grades: Sequence[Grade], sizes: Sizes) -> tuple[Grade, ...]:
    """The grades with their points in the standardised image's pixels; a point is dropped (None) when the
    source size is unknown or the point lies outside the source image."""
    scaled: list[Grade] = []
    source_width, source_height = sizes.source_width, sizes.source_height
    for grade in grades:
        x = y = None
        if (
            grade.x is not None
            and grade.y is not None
            and source_width
            and source_height
            and grade.x <= source_width
            and grade.y <= source_height
        ):
            x = round(grade.x * sizes.width / source_width, 3)
            y = round(grade.y * sizes.height / source_height, 3)
        scaled.append(dataclasses.replace(grade, x=x, y=y))
    return tuple(scaled)
