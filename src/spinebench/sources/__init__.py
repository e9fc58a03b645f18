"""Readers of the four spine datasets in their native layouts, and of the published SpineBench release.

Dataset readers only read labels: they yield `SourceImage` records (or `SkippedRecord`s saying why a record
was left out); the catalogue step decodes and standardises the images.
"""

from spinebench.sources._records import (
    Finding,
    Grade,
    SkippedRecord,
    SourceImage,
    SourceLayoutError,
    pseudonym,
)
from spinebench.sources._release_survey import ReleaseSurvey, survey_release
from spinebench.sources.buu import read_buu
from spinebench.sources.csxa import CsxaColumns, read_csxa
from spinebench.sources.release import RELEASE_FILES, ImportReport, import_release
from spinebench.sources.release import SkippedRecord as ReleaseSkippedRecord
from spinebench.sources.rsna_lumbar import read_rsna_lumbar
from spinebench.sources.vindr import read_vindr

__all__ = [
    "RELEASE_FILES",
    "CsxaColumns",
    "Finding",
    "Grade",
    "ImportReport",
    "ReleaseSkippedRecord",
    "ReleaseSurvey",
    "SkippedRecord",
    "SourceImage",
    "SourceLayoutError",
    "import_release",
    "pseudonym",
    "read_buu",
    "read_csxa",
    "read_rsna_lumbar",
    "read_vindr",
    "survey_release",
]
