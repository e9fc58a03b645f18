"""The severity-grading part of a build: catalogue grades -> SSG questions and their images in the benchmark.

Kept apart from the diagnosis build: grading needs no embedding and no hard negative, only the slices the
coordinates file marks (which include the slices kept for grading alone).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from spinebench.benchmark import BenchmarkWriter, Question
from spinebench.catalog import CatalogEntry
from spinebench.errors import BenchmarkError, SpineBenchError
from spinebench.questions._generate import SkippedQuestion
from spinebench.questions._grading import (
    GradedSlice,
    graded_slices,
    grading_id,
    grading_question,
    mark_point,
)
from spinebench.questions._subset import SUBSET_NAME, SubsetSelection, select_subset


@dataclass
class GradingBuild:
    questions: list[Question] = field(default_factory=list)
    selection: SubsetSelection | None = None
    skipped: list[str] = field(default_factory=list)
    repeated: int = 0


def _grade_and_condition(question: Question) -> tuple[str, str]:
    return question.answer_texts[0], question.disease


def build_grading(
    writer: BenchmarkWriter,
    catalog_dir: Path,
    entries: Sequence[CatalogEntry],
    *,
    seed: int,
    mark_levels: bool,
    subset_size: int,
) -> GradingBuild:
    """Adds the images of the SSG questions to `writer` and returns the questions, flagged for the subset.

    A catalogue image that cannot be read, or (with `mark_levels`) a grade without a marked point, skips
    its questions with the reason; an unwritable benchmark folder raises.
    """
    slices, repeated = graded_slices(entries)
    made = GradingBuild(repeated=repeated)
    if not slices:
        # Said, not silent: a catalogue made before grades were catalogued, or without RSNA, has none.
        made.skipped.append(
            "SSG: the catalogue holds no graded RSNA slice (built without --rsna, or before severity "
            "grades were catalogued: catalogue the sources again), so no severity-grading question was made"
        )
    images: dict[str, str | SkippedQuestion] = {}  # image id -> benchmark path of the unmarked image
    for graded in slices:
        image = _image(writer, catalog_dir, graded, images, mark_levels=mark_levels)
        if isinstance(image, SkippedQuestion):
            made.skipped.append(str(image))
            continue
        made.questions.append(grading_question(graded, image, marked=mark_levels))
    made.selection = select_subset(made.questions, subset_size, seed=seed, strata=_grade_and_condition)
    chosen = made.selection.ids
    made.questions = [
        dataclasses.replace(q, subsets=(SUBSET_NAME,)) if q.id in chosen else q for q in made.questions
    ]
    return made


def _image(
    writer: BenchmarkWriter,
    catalog_dir: Path,
    graded: GradedSlice,
    cache: dict[str, str | SkippedQuestion],
    *,
    mark_levels: bool,
) -> str | SkippedQuestion:
    """The benchmark path of the question's image (added once per distinct image), or why there is none."""
    entry, grade = graded.entry, graded.grade
    question_id = grading_id(entry, grade)
    point = (grade.x, grade.y) if grade.x is not None and grade.y is not None else None
    if mark_levels and point is None:
        return SkippedQuestion(question_id, entry.image_id, "no marked point to circle on the image")
    key = f"{entry.image_id}:{point}" if mark_levels else entry.image_id
    if key not in cache:
        cache[key] = _add_image(writer, catalog_dir, entry, point if mark_levels else None, question_id)
    found = cache[key]
    if isinstance(found, SkippedQuestion):
        return SkippedQuestion(question_id, entry.image_id, found.reason)
    return found


def _add_image(
    writer: BenchmarkWriter,
    catalog_dir: Path,
    entry: CatalogEntry,
    point: tuple[float, float] | None,
    question_id: str,
) -> str | SkippedQuestion:
    what = f"catalogue image {entry.image}"
    try:
        data = (catalog_dir / entry.image).read_bytes()
    except OSError as error:
        reason = f"{what}: cannot read ({error.strerror or error})"
        return SkippedQuestion(question_id, entry.image_id, reason)
    if point is not None:
        try:
            data = mark_point(data, *point)
        except (OSError, ValueError, SyntaxError) as error:  # PIL on a corrupt catalogue image
            return SkippedQuestion(question_id, entry.image_id, f"{what}: cannot be decoded ({error})")
    try:
        return writer.add_image(data, what=what)
    except BenchmarkError as error:  # the image does not decode: its questions are skipped
        return SkippedQuestion(question_id, entry.image_id, str(error))
    except OSError as error:  # the benchmark folder itself (full disk, permissions)
        raise SpineBenchError(f"{writer.out}: cannot write {what} ({error.strerror or error})") from error
