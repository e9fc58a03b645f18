"""VLMEvalKit export: one MCQ TSV that VLMEvalKit loads as a custom dataset from `$LMUData/<name>.tsv`.

Columns: index, image (base64 of the image file), question (the stem), A..E (option texts; empty cells read
as missing options), answer, category (task: SDD, SLL or SSG), l2-category (disease), then extra columns that
VLMEvalKit carries along untouched: id, task, disease, source, modality, subsets (comma-joined), prompt
(the paper-template prompt, for a custom dataset class that sends SpineBench's wording) and level (SSG).

- SSG (severity grading) rows have three options (A..C: Normal/Mild, Moderate, Severe) and their graded disc
  level in `level`; VLMEvalKit's accuracy holds for them, while weighted kappa and severe sensitivity are
  computed from its per-row predictions (see docs/exports.md) or by `spinebench eval`.
- SLL answers are the correct letters joined by commas ("A,C"). VLMEvalKit's stock MCQ evaluator extracts
  one letter per reply and compares it with `answer`, so it can never credit a multi-letter answer: its
  numbers are valid for the SDD rows only (its per-category table has an "SDD" column); score SLL rows,
  `category == "SLL"`, as sets (see docs/exports.md).
- An image shared by several questions (an SLL question shares its image with the SDD question of the same
  image) is stored once: later rows hold the index of the first row with that image, which VLMEvalKit
  resolves (an `image` value of at most 64 characters is a row index). `share_images=False` repeats it.

Rows are written as they are read, so the file never sits in memory.
"""

from __future__ import annotations

import base64
import csv
from pathlib import Path
from typing import Final

from spinebench.benchmark import Benchmark, Question
from spinebench.export._common import (
    ExportError,
    ExportResult,
    atomic_file,
    check_written,
    prepare_out,
    progress_bar,
    question_count,
)
from spinebench.prompts import PAPER, render_prompt
from spinebench.taxonomy import LETTERS

DEFAULT_NAME: Final = "SpineBench_MCQ"
MIN_OPTION_COLUMNS: Final = 5
EXTRA_COLUMNS: Final = ("id", "task", "disease", "source", "modality", "subsets", "prompt", "level")


def tsv_columns(option_columns: int) -> list[str]:
    return [
        "index",
        "image",
        "question",
        *LETTERS[:option_columns],
        "answer",
        "category",
        "l2-category",
        *EXTRA_COLUMNS,
    ]


def tsv_row(index: int, image: str, question: Question, option_columns: int) -> list[str | int]:
    options = [*question.options, *[""] * (option_columns - len(question.options))]
    return [
        index,
        image,
        question.question,
        *options,
        ",".join(question.answer),
        question.task,
        question.disease,
        question.id,
        question.task,
        question.disease,
        question.source,
        question.modality,
        ",".join(question.subsets),
        render_prompt(question, PAPER),
        question.level or "",
    ]


def export_vlmevalkit(
    bench: Benchmark,
    out: Path,
    *,
    subset: str | None = None,
    force: bool = False,
    name: str = DEFAULT_NAME,
    share_images: bool = True,
    progress: bool = False,
) -> ExportResult:
    """Writes `out/<name>.tsv`; copy it into `$LMUData` and run VLMEvalKit with `--data <name>`."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ExportError(f"{name!r} is not a usable dataset name (it becomes the file name <name>.tsv)")
    count = question_count(bench, subset)
    # One cheap pass without images: the widest question sets the option columns (A..E at least).
    option_columns = max(
        MIN_OPTION_COLUMNS, *(len(question.options) for question in bench.iter_questions(subset))
    )
    target = out / f"{name}.tsv"
    prepare_out(out, (target.name,), force=force, bench=bench)
    first_row: dict[str, int] = {}
    written = 0
    with progress_bar(progress) as bar, atomic_file(target) as temporary:
        task_id = bar.add_task("Exporting VLMEvalKit TSV", total=count)
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            writer.writerow(tsv_columns(option_columns))
            for index, question in enumerate(bench.iter_questions(subset)):
                if share_images and question.image in first_row:
                    image = str(first_row[question.image])
                else:
                    image = base64.b64encode(bench.read_image(question)).decode("ascii")
                    first_row.setdefault(question.image, index)
                writer.writerow(tsv_row(index, image, question, option_columns))
                written += 1
                bar.advance(task_id)
    check_written(bench, subset, count, written)
    return ExportResult("vlmevalkit", out, target, count, len(first_row), (target,))
