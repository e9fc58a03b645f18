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
    condition for SSG (e.g. "Left Neural Foraminal Narrowing"). `level` is the disc level graded (SSG only).
    `subsets` names the flagged subsets the question belongs to (e.g. "sub" for SpineBench-Sub).
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
        pa.field("level", pa.string()),
    ]
)


# Columns added after format version 1 was first written, nullable; a file without them still reads.
_ADDED_COLUMNS: Final = ("level",)


def readable_schema(schema: pa.Schema) -> bool:
    """Whether a benchmark.parquet schema is the question schema, or it without the columns added later."""
    if schema == QUESTION_SCHEMA:
        return True
    older = pa.schema([f for f in QUESTION_SCHEMA if f.name not in _ADDED_COLUMNS])
    return bool(schema == older)


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
            # Benchmarks written before severity grading have no level column.
            level=rows["level"][i] if "level" in rows else None,
        )
        for i in range(batch.num_rows)
    ]
