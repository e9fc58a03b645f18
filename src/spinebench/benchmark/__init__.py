"""The benchmark directory users share and evaluate on: questions, images and a manifest of hashes."""

from spinebench.benchmark._directory import (
    PARQUET_WRITER,
    Benchmark,
    BenchmarkWriter,
    image_format,
    refuse_existing_benchmark,
)
from spinebench.benchmark._question import Question
from spinebench.benchmark._sample import SAMPLE_PATH, open_sample

__all__ = [
    "PARQUET_WRITER",
    "SAMPLE_PATH",
    "Benchmark",
    "BenchmarkWriter",
    "Question",
    "image_format",
    "open_sample",
    "refuse_existing_benchmark",
]
