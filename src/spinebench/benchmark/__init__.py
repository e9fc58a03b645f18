"""The benchmark directory users share and evaluate on: questions, images and a manifest of hashes."""

from spinebench.benchmark._directory import (
    PARQUET_WRITER,
    Benchmark,
    BenchmarkWriter,
    image_format,
    refuse_existing_benchmark,
)
from spinebench.benchmark._question import QUESTION_SCHEMA, Question, questions_from_batch
from spinebench.benchmark._sample import SAMPLE_PATH, open_sample

__all__ = [
    "PARQUET_WRITER",
    "QUESTION_SCHEMA",
    "SAMPLE_PATH",
    "Benchmark",
    "BenchmarkWriter",
    "Question",
    "image_format",
    "open_sample",
    "questions_from_batch",
    "refuse_existing_benchmark",
]
