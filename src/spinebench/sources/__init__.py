"""Readers of spine datasets in their native layouts, and of the published SpineBench release."""

from spinebench.sources.release import RELEASE_FILES, ImportReport, SkippedRecord, import_release

__all__ = ["RELEASE_FILES", "ImportReport", "SkippedRecord", "import_release"]
