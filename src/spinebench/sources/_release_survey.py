"""`import-release --dry-run`: what a release folder holds and how its images resolve, writing nothing.

Run before an import of a copy of the release whose layout is unknown: records per file, tasks, how the
options are written, how each image was found (by its path, by its file name, inside a zip archive) and
why any record would be skipped.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spinebench.sources._release_images import ImageResolver
from spinebench.sources._release_text import Rejected, split_options_from_text
from spinebench.sources.release import (
    SkippedRecord,
    load_records,
    parse_record,
    release_files,
    release_root,
)


@dataclass
class ReleaseSurvey:
    root: Path
    records_per_file: dict[str, int] = field(default_factory=dict)
    tasks: Counter[str] = field(default_factory=Counter)
    option_formats: Counter[str] = field(default_factory=Counter)
    images: Counter[str] = field(default_factory=Counter)
    skipped: list[SkippedRecord] = field(default_factory=list)

    def skipped_by_kind(self) -> dict[str, int]:
        return dict(sorted(Counter(record.kind for record in self.skipped).items()))


def survey_release(release_dir: Path) -> ReleaseSurvey:
    """Reads every record and resolves every image of a release folder, as an import would; writes nothing."""
    root = release_root(release_dir)
    survey = ReleaseSurvey(root)
    resolver = ImageResolver(root)
    for name, path, _subsets in release_files(release_dir, root):
        records = load_records(path, name)
        survey.records_per_file[name] = len(records)
        for index, record in enumerate(records):
            try:
                if isinstance(record, Rejected):
                    raise Rejected(record.kind, record.reason)
                survey.option_formats[option_format(record)] += 1
                parsed = parse_record(record)
                survey.tasks[parsed.task] += 1
                found = resolver.resolve(parsed.image, path.parent)
                survey.images[f"by its {found.how}" if found.how != "archive" else "in a zip archive"] += 1
            except Rejected as rejected:
                survey.skipped.append(SkippedRecord(name, index, rejected.kind, rejected.reason))
    return survey


def option_format(record: Any) -> str:
    """How a record gives its options: a field (list or mapping, by its name) or lettered in the text."""
    if not isinstance(record, dict):
        return "not a record"
    for name in ("options", "choices"):
        if name in record:
            value = record[name]
            shape = "mapping" if isinstance(value, dict) else "list" if isinstance(value, list) else "text"
            return f"{name!r} field ({shape})"
    question = record.get("question")
    if isinstance(question, str) and split_options_from_text(question) is not None:
        return "lettered in the question text"
    return "none found"
