from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from spinebench.benchmark import SAMPLE_PATH, Benchmark


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled sample benchmark."""
    target = tmp_path / "bench"
    shutil.copytree(SAMPLE_PATH, target)
    return target


@pytest.fixture
def sample() -> Benchmark:
    return Benchmark.open(SAMPLE_PATH, verify="full")
