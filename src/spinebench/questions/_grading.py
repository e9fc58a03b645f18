"""Catalogue grades -> SSG (spinal severity grading) questions: how severe is a condition at a level.

One question per study, condition and disc level graded in RSNA 2024 lumbar, asked on the slice the
coordinates file marks for that condition and level. The options are the three grades in a fixed order,
mildest first (circular evaluation rotates them), so a model is never helped or hindered by a shuffle. With
`mark_levels` the marked point is circled on the image and the question says so; the manifest records it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from PIL import Image, ImageDraw

from spinebench.benchmark import Question
from spinebench.catalog import CatalogEntry
from spinebench.imaging import encode_png
from spinebench.questions._generate import SkippedQuestion
from spinebench.questions._subset import SUBSET_NAME, SubsetSelection
from spinebench.sources import Grade
from spinebench.taxonomy import GRADING_TASK, LETTERS, LEVELS, RSNA_CONDITIONS, SEVERITY_GRADES

DEFAULT_SUB_SSG: Final = 900
# The RSNA conditions as the questions name them, and the short codes of their question ids.
CONDITION_CODES: Final[dict[str, str]] = {
    "Spinal Canal Stenosis": "scs",
    "Left Neural Foraminal Narrowing": "lnfn",
    "Right Neural Foraminal Narrowing": "rnfn",
    "Left Subarticular Stenosis": "lss",
    "Right Subarticular Stenosis": "rss",
}
# Only RSNA's own series descriptions reach a question's text; any other view is "MRI slice".
_VIEWS: Final = {"Sagittal T1": "sagittal T1", "Sagittal T2/STIR": "sagittal T2/STIR", "Axial T2": "axial T2"}
MARKER_COLOUR: Final = (255, 220, 0)


@dataclass(frozen=True, slots=True)
class GradedSlice:
    """One grade to ask about, on the catalogue entry whose slice marks it."""

    entry: CatalogEntry
    grade: Grade


@dataclass
class GradingQuestions:
    questions: list[Question] = field(default_factory=list)
    skipped: list[SkippedQuestion] = field(default_factory=list)
    repeated: int = 0  # the same study, condition and level marked on a further slice (not asked twice)


def grading_id(entry: CatalogEntry, grade: Grade) -> str:
    level = grade.level.lower().replace("/", "")
    return f"ssg-{entry.image_id[:16]}-{CONDITION_CODES[grade.condition]}-{level}"


def graded_slices(entries: Iterable[CatalogEntry]) -> tuple[list[GradedSlice], int]:
    """One slice per (study, condition, level), and how many repeats were left out.

    When a study marks the same condition and level on several slices, the slice with the smallest image id
    is asked: a choice that does not depend on catalogue order. Grades of unknown conditions, levels or
    severities are ignored (the reader yields none).
    """
    chosen: dict[tuple[str, str, str], GradedSlice] = {}
    seen = 0
    for entry in entries:
        for grade in entry.grades:
            if (
                grade.condition not in CONDITION_CODES
                or grade.level not in LEVELS
                or grade.severity not in SEVERITY_GRADES
            ):
                continue
            seen += 1
            key = (entry.study or entry.record, grade.condition, grade.level)
            current = chosen.get(key)
            if current is None or entry.image_id < current.entry.image_id:
                chosen[key] = GradedSlice(entry, grade)
    ordered = sorted(
        chosen.values(),
        key=lambda s: (s.entry.image_id, tuple(RSNA_CONDITIONS).index(s.grade.condition), s.grade.level),
    )
    return ordered, seen - len(ordered)


def grading_wording(grade: Grade, view: str, *, marked: bool) -> str:
    kind = f"{_VIEWS[view]} MRI slice" if view in _VIEWS else "MRI slice"
    where = f"{grade.level} (circled on the image)" if marked else grade.level
    return f"What is the severity of {grade.condition.lower()} at {where} on this {kind}?"


def grading_question(graded: GradedSlice, image: str, *, marked: bool) -> Question:
    entry, grade = graded.entry, graded.grade
    return Question(
        id=grading_id(entry, grade),
        task=GRADING_TASK,
        image=image,
        question=grading_wording(grade, entry.view, marked=marked),
        options=SEVERITY_GRADES,
        answer=(LETTERS[SEVERITY_GRADES.index(grade.severity)],),
        disease=grade.condition,
        source=entry.source,
        modality=entry.modality,
        patient=entry.patient,
        level=grade.level,
    )


def marker_radius(width: int, height: int) -> int:
    """A ring wide enough to see around a disc or foramen, small enough not to hide its neighbours."""
    return max(5, round(0.04 * min(width, height)))


def mark_point(png: bytes, x: float, y: float) -> bytes:
    """The image with a ring drawn round (x, y), as canonical PNG bytes."""
    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("RGB")
    radius = marker_radius(*image.size)
    line = max(1, radius // 4)
    ImageDraw.Draw(image).ellipse(
        (x - radius, y - radius, x + radius, y + radius), outline=MARKER_COLOUR, width=line
    )
    return encode_png(image)


def grading_card_lines(
    questions: Sequence[Question], selection: SubsetSelection | None, *, marked: bool
) -> list[str]:
    """The SSG part of CARD.md: questions per grade and condition, the subset, how images are shown."""
    graded = [q for q in questions if q.task == GRADING_TASK]
    lines = ["", "### Severity grading (SSG): per condition and grade", ""]
    header = ["condition", *SEVERITY_GRADES, "SSG sub"]
    rows: list[list[object]] = []
    for condition in CONDITION_CODES:
        asked = [q for q in graded if q.disease == condition]
        if asked:
            rows.append(
                [
                    condition,
                    *(sum(q.answer_texts[0] == grade for q in asked) for grade in SEVERITY_GRADES),
                    sum(SUBSET_NAME in q.subsets for q in asked),
                ]
            )
    lines += ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    lines += [
        "",
        f"- Level marked on the image: {'yes (a ring round the marked point)' if marked else 'no'}.",
    ]
    if selection is not None:
        lines.append(
            f"- SSG in SpineBench-Sub: {selection.selected} of {selection.requested} requested, from "
            f"{selection.available}; balanced per grade, then per condition."
        )
    return lines
