from __future__ import annotations

import csv
import json
import sys
from dataclasses import replace
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.cli.export_cmd import export_command
from spinebench.errors import BenchmarkError
from spinebench.export import FORMATS, ExportError, export_benchmark
from spinebench.export._common import image_path


@pytest.fixture(scope="module")
def sample() -> Benchmark:
    return Benchmark.open(SAMPLE_PATH, verify="full")


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("format", FORMATS)
def test_every_export_is_byte_identical_when_repeated(sample: Benchmark, tmp_path: Path, format: str) -> None:
    first = _files(export_benchmark(sample, format, tmp_path / "one").out)
    second = _files(export_benchmark(sample, format, tmp_path / "two").out)
    assert first.keys() == second.keys() and len(first) >= 1
    for name, data in first.items():
        # lmms-eval YAMLs name their parquet by absolute path, the one thing that differs between folders
        expected = data.replace(
            str((tmp_path / "one").resolve()).encode(), str((tmp_path / "two").resolve()).encode()
        )
        assert second[name] == expected, name


def test_subset_exports_only_flagged_questions(sample: Benchmark, tmp_path: Path) -> None:
    flagged = [q.id for q in sample.iter_questions("sub")]
    assert len(flagged) == sample.count("sub") == 19
    hf = export_benchmark(sample, "hf", tmp_path / "hf", subset="sub")
    table = pq.read_table(next((tmp_path / "hf" / "data").iterdir()), columns=["id", "subsets"])
    assert table["id"].to_pylist() == flagged and hf.questions == 19
    assert all("sub" in subsets for subsets in table["subsets"].to_pylist())
    export_benchmark(sample, "vlmevalkit", tmp_path / "tsv", subset="sub")
    csv.field_size_limit(sys.maxsize)
    with (tmp_path / "tsv" / "SpineBench_MCQ.tsv").open(encoding="utf-8", newline="") as handle:
        assert [row["id"] for row in csv.DictReader(handle, delimiter="\t")] == flagged
    inspect = export_benchmark(sample, "inspect", tmp_path / "inspect", subset="sub")
    lines = (inspect.main / "samples.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == flagged
    lmms = export_benchmark(sample, "lmms-eval", tmp_path / "lmms", subset="sub")
    assert pq.read_table(lmms.main / "data" / "test.parquet", columns=["id"])["id"].to_pylist() == flagged
    assert "subset 'sub'" in (lmms.main / "spinebench_sdd.yaml").read_text()


def test_unknown_format_and_subset_are_named(sample: Benchmark, tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"unknown export format 'csv'.*vlmevalkit, lmms-eval, inspect, hf"):
        export_benchmark(sample, "csv", tmp_path / "out")
    with pytest.raises(ExportError, match=r"no subset 'hard'.*it has: sub"):
        export_benchmark(sample, "hf", tmp_path / "out", subset="hard")
    assert not (tmp_path / "out").exists()


def test_non_empty_out_is_refused_unless_forced(sample: Benchmark, tmp_path: Path) -> None:
    out = tmp_path / "out"
    export_benchmark(sample, "hf", out, shard_rows=10)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match=r"not empty.*--force"):
        export_benchmark(sample, "hf", out)
    export_benchmark(sample, "hf", out, force=True)
    # the four shards of the first export are gone, not mixed with the new single one; other files stay
    assert [p.name for p in (out / "data").iterdir()] == ["test-00000-of-00001.parquet"]
    assert (out / "notes.txt").read_text() == "mine"


def test_unusable_out_paths_are_named(sample: Benchmark, tmp_path: Path) -> None:
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(ExportError, match="exists and is not a folder"):
        export_benchmark(sample, "vlmevalkit", a_file)
    with pytest.raises(ExportError, match="cannot create the export folder"):
        export_benchmark(sample, "vlmevalkit", a_file / "below")
    with pytest.raises(ExportError, match="inside the benchmark folder"):
        export_benchmark(sample, "vlmevalkit", SAMPLE_PATH / "exports")
    assert not (SAMPLE_PATH / "exports").exists()


def test_an_altered_image_stops_the_export_without_a_partial_file(sample_copy: Path, tmp_path: Path) -> None:
    bench = Benchmark.open(sample_copy)
    victim = sorted(sample_copy.glob("images/*/*.jpg"))[-1]
    victim.write_bytes(victim.read_bytes()[:-4] + b"\x00\x00\x00\x00")
    with pytest.raises(BenchmarkError, match=f"{victim.name}: altered"):
        export_benchmark(bench, "vlmevalkit", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_image_paths_outside_the_images_folder_are_refused(sample: Benchmark) -> None:
    question = next(sample.iter_questions())
    assert image_path(question) == question.image
    with pytest.raises(ExportError, match=r"is not images/xx/<sha256>\.ext"):
        image_path(replace(question, image="../../outside.jpg"))


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("export")(export_command)

    @app.callback()
    def _root() -> None:
        """Keep `export` a subcommand."""

    return app


def test_cli_exports_and_says_how_to_run_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        _cli(),
        ["export", str(SAMPLE_PATH), "--format", "lmms-eval", "--out", str(tmp_path), "--subset", "sub"],
    )
    assert result.exit_code == 0, result.output
    assert "Exported 19 questions" in result.output and "--include_path" in result.output
    assert (tmp_path / "spinebench" / "utils.py").is_file()


def test_cli_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = runner.invoke(_cli(), ["export", str(SAMPLE_PATH), "--format", "csv", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "csv" in bad.output
    (tmp_path / "keep.txt").write_text("x")
    busy = runner.invoke(_cli(), ["export", str(SAMPLE_PATH), "--format", "hf", "--out", str(tmp_path)])
    assert busy.exit_code == 2 and "not empty" in busy.output
    forced = runner.invoke(_cli(), ["export", str(SAMPLE_PATH), "-f", "hf", "-o", str(tmp_path), "--force"])
    assert forced.exit_code == 0, forced.output
    assert (tmp_path / "README.md").is_file()
