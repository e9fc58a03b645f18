"""What every dataset reader yields: images to standardise with their findings, or records it skipped."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from spinebench.errors import SpineBenchError
from spinebench.taxonomy import Modality


class SourceLayoutError(SpineBenchError):
    """A dataset folder does not have the layout its reader expects; the message names what was expected."""


@dataclass(frozen=True, slots=True)
class Finding:
    """A disease seen on an image, with the lumbar levels where it is (empty when unknown or not levelled)."""

    disease: str
    levels: tuple[str, ...] = ()
    severity: str | None = None


@dataclass(frozen=True, slots=True)
class Grade:
    """A severity graded for one condition at one level and marked on this image (RSNA 2024 lumbar).

    `condition` is the dataset's own condition (left and right kept apart, e.g. "Left Subarticular Stenosis"),
    `severity` one of `taxonomy.SEVERITY_GRADES`; `x`, `y` the marked point in the image's pixels (None when
    the coordinates file gives none).
    """

    condition: str
    level: str
    severity: str
    x: float | None = None
    y: float | None = None


@dataclass(frozen=True, slots=True)
class SourceImage:
    """One image of a dataset, before standardisation.

    `native_id`, `patient_id` and `study_id` are the dataset's own identifiers: they never reach an output
    unhashed (see `pseudonym`). `private_ids` lists any other identifier that the path holds (RSNA's series
    id): a report replaces each by its pseudonym. No findings means Healthy. `frame` picks a slice of a
    multi-frame file. `grades` are the severities marked on the image (severity grading). `graded_only`
    images serve the grading task alone: their findings are not known to be complete, so the diagnosis tasks
    leave them out.
    """

    source: str
    native_id: str
    path: Path
    modality: Modality
    view: str
    findings: tuple[Finding, ...]
    patient_id: str | None = None
    study_id: str | None = None
    frame: int | None = None
    grades: tuple[Grade, ...] = ()
    graded_only: bool = False
    private_ids: tuple[str, ...] = ()

    def identifiers(self) -> tuple[str, ...]:
        """The native patient, study and series identifiers of the record, which a report must not show.

        Not `native_id`: where it is a file name (VinDr's image ids) the report must still let the user
        find the file; where it holds a study or series id (RSNA), those are listed here too."""
        named = (self.patient_id, self.study_id, *self.private_ids)
        return tuple(dict.fromkeys(value for value in named if value))


@dataclass(frozen=True, slots=True)
class SkippedRecord:
    """A record a reader could not use: where it is (file, row, relative to the dataset root) and why.

    `private_ids`: the native patient, study or series identifiers that `location` or `reason` names; the
    catalogue's build report replaces each by its pseudonym before writing.
    """

    source: str
    location: str
    reason: str
    private_ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.source}: {self.location}: {self.reason}"


def pseudonym(key: bytes, source: str, value: str) -> str:
    """A keyed hash of a dataset identifier: stable for one key, unlinkable to the original without it."""
    return hmac.new(key, f"{source}\x00{value}".encode(), hashlib.sha256).hexdigest()[:20]
