"""A benchmark is written beside its target and moved into place: a failure never leaves a partial one."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from spinebench.benchmark import Benchmark, BenchmarkWriter

from .test_bench_directory import _png, _question


def _fill(writer: BenchmarkWriter) -> None:
    image = writer.add_image(_png(10))
    writer.add_question(_question("q1", image))


def test_an_error_while_writing_leaves_nothing_at_or_beside_the_target(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), BenchmarkWriter(tmp_path / "b", name="t") as writer:
        _fill(writer)
        assert not (tmp_path / "b").exists()  # nothing at the target while it is being written
        raise RuntimeError("the build broke")
    assert list(tmp_path.iterdir()) == []


def test_a_writer_dropped_without_close_removes_its_folder(tmp_path: Path) -> None:
    writer = BenchmarkWriter(tmp_path / "b", name="t")
    _fill(writer)
    del writer
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_close_moves_the_benchmark_into_place_even_into_an_existing_folder(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    writer = BenchmarkWriter(tmp_path / "b", name="t")
    _fill(writer)
    writer.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
    assert (tmp_path / "b" / "notes.txt").read_text() == "mine"
    assert len(Benchmark.open(tmp_path / "b", verify="full")) == 1
