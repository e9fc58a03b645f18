from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.catalog import SourceFolders
from spinebench.synth import write_synthetic_sources


@pytest.fixture(autouse=True)
def _image_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Images converted for sending are cached per test session, never in the user's own cache."""
    monkeypatch.setenv("SPINEBENCH_IMAGE_CACHE", str(tmp_path_factory.getbasetemp() / "as-sent"))


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled sample benchmark."""
    target = tmp_path / "bench"
    shutil.copytree(SAMPLE_PATH, target)
    return target


@pytest.fixture
def sample() -> Benchmark:
    return Benchmark.open(SAMPLE_PATH, verify="full")


@pytest.fixture(scope="session")
def synthetic_sources(tmp_path_factory: pytest.TempPathFactory) -> SourceFolders:
    """Synthetic copies of the four datasets in their native layouts (seed 3), read with default options.

    Shared by every test that catalogues or builds; tests must not write into these folders.
    """
    folders = write_synthetic_sources(tmp_path_factory.mktemp("synthetic-sources"), seed=3)
    return SourceFolders(**{name: folders[name] for name in ("vindr", "rsna", "csxa", "buu")})
