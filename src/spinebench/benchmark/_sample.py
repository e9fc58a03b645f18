"""The small synthetic benchmark bundled with the package, so that `spinebench eval` works offline.

It holds phantom images, not patient data; `spinebench.synth.write_sample_benchmark` regenerates it. Its
scores mean nothing medically.
"""

from __future__ import annotations

from pathlib import Path

from spinebench.benchmark._directory import Benchmark

SAMPLE_PATH = Path(__file__).resolve().parent.parent / "data" / "sample"


def open_sample() -> Benchmark:
    return Benchmark.open(SAMPLE_PATH, verify="full")
