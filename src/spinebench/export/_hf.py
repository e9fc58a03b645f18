"""Hugging Face export: parquet shards, images embedded, that `datasets.load_dataset("parquet", ...)` reads.

`datasets` stores an `Image()` feature as a struct {bytes: binary, path: string} and reads the column as an
image only when the file's schema metadata (key `huggingface`) declares the features; that metadata is
written here with pyarrow alone, so exporting does not need `datasets`. Lists are declared as `Sequence`,
which `datasets` 2.x to 5.x all read (4.x+ also writes `List`, unknown to older releases).

Rows are written in groups of 100 (the row-group size `datasets` itself uses for images), so a reader never
has to load thousands of images at once and the writer holds at most one group in memory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
import pyarrow.parquet as pq

from spinebench import __version__
from spinebench.benchmark import Benchmark, Question
from spinebench.export._common import (
    ExportResult,
    atomic_file,
    check_written,
    prepare_out,
    progress_bar,
    question_count,
    tracked,
    write_text,
)
from spinebench.prompts import PAPER, render_prompt

DATA_DIR: Final = "data"
SPLIT: Final = "test"
CARD_NAME: Final = "README.md"
DEFAULT_SHARD_ROWS: Final = 5000
IMAGE_ROW_GROUP: Final = 100

_STRING: Final = {"dtype": "string", "_type": "Value"}
_STRINGS: Final = {"feature": _STRING, "_type": "Sequence"}
# Column order and `datasets` feature of every column; `prompt` is the question rendered with the paper
# template, for harnesses that take a whole prompt.
FEATURES: Final[dict[str, dict[str, Any]]] = {
    "id": _STRING,
    "task": _STRING,
    "image": {"_type": "Image"},
    "question": _STRING,
    "options": _STRINGS,
    "answer": _STRINGS,
    "answer_text": _STRINGS,
    "disease": _STRING,
    "source": _STRING,
    "modality": _STRING,
    "subsets": _STRINGS,
    "prompt": _STRING,
    "level": _STRING,  # the graded disc level of an SSG question; null for SDD and SLL
}
_IMAGE_TYPE: Final = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
_LIST_TYPE: Final = pa.list_(pa.string())
SCHEMA: Final = pa.schema(
    [
        pa.field(
            name,
            _IMAGE_TYPE
            if feature["_type"] == "Image"
            else _LIST_TYPE
            if "feature" in feature
            else pa.string(),
        )
        for name, feature in FEATURES.items()
    ],
    metadata={b"huggingface": json.dumps({"info": {"features": FEATURES}}).encode()},
)


def question_row(question: Question, image: bytes) -> dict[str, Any]:
    """One parquet row: the question, its image bytes and the paper-template prompt."""
    return {
        "id": question.id,
        "task": question.task,
        "image": {"bytes": image, "path": question.image.rsplit("/", 1)[-1]},
        "question": question.question,
        "options": list(question.options),
        "answer": list(question.answer),
        "answer_text": list(question.answer_texts),
        "disease": question.disease,
        "source": question.source,
        "modality": question.modality,
        "subsets": list(question.subsets),
        "prompt": render_prompt(question, PAPER),
        "level": question.level,
    }


def write_question_parquet(bench: Benchmark, questions: Iterable[Question], target: Path) -> int:
    """Writes the questions with embedded images to one parquet file; returns the rows written."""
    written = 0
    with (
        atomic_file(target) as temporary,
        pq.ParquetWriter(temporary, SCHEMA, compression="zstd", write_statistics=False) as writer,
    ):
        for group in _groups(questions, IMAGE_ROW_GROUP):
            rows = [question_row(question, bench.read_image(question)) for question in group]
            writer.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), row_group_size=IMAGE_ROW_GROUP)
            written += len(rows)
    return written


def _groups(questions: Iterable[Question], size: int) -> Iterator[list[Question]]:
    group: list[Question] = []
    for question in questions:
        group.append(question)
        if len(group) == size:
            yield group
            group = []
    if group:
        yield group


def shard_names(count: int, shard_rows: int) -> list[str]:
    """File names of the shards, the Hub's way: data/test-00000-of-00003.parquet."""
    shards = max(1, math.ceil(count / shard_rows))
    return [f"{DATA_DIR}/{SPLIT}-{index:05d}-of-{shards:05d}.parquet" for index in range(shards)]


def export_hf(
    bench: Benchmark,
    out: Path,
    *,
    subset: str | None = None,
    force: bool = False,
    shard_rows: int = DEFAULT_SHARD_ROWS,
    progress: bool = False,
) -> ExportResult:
    """Writes `out/data/test-*.parquet` (at most `shard_rows` questions each) and a dataset card
    `out/README.md`, so that both `load_dataset("parquet", data_files=...)` and `load_dataset(out)` work."""
    if shard_rows < 1:
        raise ValueError(f"shard_rows must be at least 1, not {shard_rows}")
    count = question_count(bench, subset)
    prepare_out(out, (DATA_DIR, CARD_NAME), force=force, bench=bench)
    names = shard_names(count, shard_rows)
    images: set[str] = set()
    written = 0
    with progress_bar(progress) as bar:
        task_id = bar.add_task("Exporting Hugging Face parquet", total=count)
        questions = tracked(bench.iter_questions(subset), bar, task_id, images)
        for name in names:
            # zip stops on the range first, so no question is drawn and dropped between shards
            shard = (question for _, question in zip(range(shard_rows), questions, strict=False))
            written += write_question_parquet(bench, shard, out / name)
        written += sum(1 for _ in questions)  # more rows than the manifest counts: reported below
    check_written(bench, subset, count, written)
    card = write_text(out / CARD_NAME, dataset_card(bench, subset, count, len(images)))
    files = (*(out / name for name in names), card)
    return ExportResult("hf", out, out / DATA_DIR, count, len(images), files)


def dataset_card(bench: Benchmark, subset: str | None, questions: int, images: int) -> str:
    """README.md with the Hub's YAML header (so `load_dataset(folder)` finds the split) and column notes."""
    scope = f'subset "{subset}" of ' if subset else ""
    return f"""---
configs:
- config_name: default
  data_files:
  - split: {SPLIT}
    path: {DATA_DIR}/{SPLIT}-*
task_categories:
- visual-question-answering
tags:
- medical
- spine
- multiple-choice
---

# {bench.name}: SpineBench questions

Exported by spinebench {__version__} from {scope}benchmark `{bench.name}` (manifest sha256
`{bench.manifest_sha256}`): {questions} questions, {images} distinct images.

```python
from datasets import load_dataset
ds = load_dataset("parquet", data_files="{DATA_DIR}/{SPLIT}-*.parquet", split="train")
```

| column | meaning |
|---|---|
| id | SpineBench question id |
| task | SDD (diagnosis, one answer) or SLL (lesion localization, one or more answers) |
| image | the standardised image (PNG/JPEG bytes, decoded by `datasets` as a PIL image) |
| question | the question stem |
| options | option texts, lettered A, B, C... in order |
| answer | the correct letters, sorted |
| answer_text | the texts of the correct options |
| disease | SDD: the true answer class; SLL: the finding whose levels are asked |
| source, modality | source dataset and imaging modality |
| subsets | flagged subsets the question belongs to (e.g. "sub" for SpineBench-Sub) |
| prompt | the question as SpineBench's `paper` prompt template renders it (the image follows the text) |

Scoring (SpineBench protocol): SDD accuracy; SLL exact-set accuracy (plus per-question precision and
recall). The images derive from the public source datasets; their licences apply.
"""
