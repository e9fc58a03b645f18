"""One multiple-choice question, as stored in `benchmark.parquet`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa

from spinebench.taxonomy import LETTERS, TASKS, Task, letters_for


@dataclass(frozen=True, slots=True)
class Question:
    """A question about one image.

    `answer` holds the correct option letters, sorted: one for SDD and SSG, one or more for SLL. `disease`
    is the true answer class for SDD, the finding whose levels are asked for SLL, and the graded RSNA
    condition for SSG (e.g. "Left Neural Foraminal Narrowing"). `subsets` names the flagged subsets the
    question belongs to (e.g. "sub" for SpineBench-Sub). `patient` is the catalogue's keyed pseudonym of the
    patient (never a dataset identifier); None where unknown (an imported release), in which case statistics
    cluster on the image instead. `level` is the disc level graded (SSG only).
    """

    id: str
    task: Task
    image: str
    question: str
    options: tuple[str, ...]
    answer: tuple[str, ...]
    disease: str
    source: str
    modality: str
    subsets: tuple[str, ...] = field(default=())
    patient: str | None = None
    level: str | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"question {self.id}: unknown task {self.task!r} (expected one of {TASKS})")
        allowed = letters_for(len(self.options))
        if not self.answer or any(letter not in allowed for letter in self.answer):
            raise ValueError(f"question {self.id}: answer {self.answer!r} is not among options {allowed}")
        if list(self.answer) != sorted(set(self.answer)):
            raise ValueError(f"question {self.id}: answer letters must be sorted and unique: {self.answer!r}")
        if self.task != "SLL" and len(self.answer) != 1:
            raise ValueError(f"question {self.id}: a {self.task} question has exactly one answer")
        if (self.level is not None) != (self.task == "SSG"):
            raise ValueError(f"question {self.id}: a level is given for grading questions, and only for them")

    @property
    def multiple(self) -> bool:
        """Whether several letters may be correct (the localization task)."""
        return self.task == "SLL"

    @property
    def letters(self) -> str:
        return LETTERS[: len(self.options)]

    @property
    def cluster(self) -> str:
        """What intervals resample as one unit: the patient, or the image where the patient is unknown."""
        return f"patient:{self.patient}" if self.patient is not None else f"image:{self.image}"

    @property
    def answer_texts(self) -> tuple[str, ...]:
        return tuple(self.options[LETTERS.index(letter)] for letter in self.answer)


QUESTION_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("task", pa.string(), nullable=False),
        pa.field("image", pa.string(), nullable=False),
        pa.field("question", pa.string(), nullable=False),
        pa.field("options", pa.list_(pa.string()), nullable=False),
        pa.field("answer", pa.list_(pa.string()), nullable=False),
        pa.field("disease", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("modality", pa.string(), nullable=False),
        pa.field("subsets", pa.list_(pa.string()), nullable=False),
        pa.field("patient", pa.string()),
        pa.field("level", pa.string()),
    ]
)
# Columns added after format version 1 was first written, nullable; a file without any of them still reads
# (no patient: intervals cluster on images; no level: no severity grading).
_ADDED_COLUMNS: Final = ("patient", "level")


def readable_schema(schema: pa.Schema) -> bool:
    """Whether a benchmark.parquet schema is the question schema, maybe without columns added later."""
    present = set(schema.names)
    expected = pa.schema([f for f in QUESTION_SCHEMA if f.name not in _ADDED_COLUMNS or f.name in present])
    return bool(schema == expected)


def questions_to_table(questions: list[Question]) -> pa.Table:
    columns = {name: [getattr(q, name) for q in questions] for name in QUESTION_SCHEMA.names}
    for name in ("options", "answer", "subsets"):
        columns[name] = [list(value) for value in columns[name]]
    return pa.Table.from_pydict(columns, schema=QUESTION_SCHEMA)


def questions_from_batch(batch: pa.RecordBatch) -> list[Question]:
    rows = batch.to_pydict()
    return [
        Question(
            id=rows["id"][i],
            task=rows["task"][i],
            image=rows["image"][i],
            question=rows["question"][i],
            options=tuple(rows["options"][i]),
            answer=tuple(rows["answer"][i]),
            disease=rows["disease"][i],
            source=rows["source"][i],
            modality=rows["modality"][i],
            subsets=tuple(rows["subsets"][i]),
            patient=rows["patient"][i] if "patient" in rows else None,
            # Benchmarks written before severity grading have no level column.
            level=rows["level"][i] if "level" in rows else None,
        )
        for i in range(batch.num_rows)
    ]
