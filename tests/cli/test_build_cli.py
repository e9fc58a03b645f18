from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from spinebench.benchmark import Benchmark
from spinebench.cli.build_cmd import build_command
from spinebench.questions import CARD_FILE
from spinebench.synth import write_synthetic_sources

# The command alone, so these tests do not depend on how the main app registers it.
app = typer.Typer()
app.command("build")(build_command)


@app.callback()
def _root() -> None:
    """Test app."""


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_synthetic_sources(tmp_path_factory.mktemp("sources"), seed=7)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    key = tmp_path / "key"
    key.write_text("a-private-key-of-enough-length")
    return key


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["build", *args])
    return result.exit_code, result.output


def test_build_from_source_folders_then_from_the_catalogue(
    sources: dict[str, Path], key_file: Path, tmp_path: Path
) -> None:
    folders = [f"--{name}={folder}" for name, folder in sources.items()]
    code, output = _invoke(
        *folders, "--out", str(tmp_path / "a"), "--key-file", str(key_file), "--workers", "1",
        "--encoder", "pixels", "--sub-sdd", "20", "--sub-sll", "8",
    )  # fmt: skip
    assert code == 0, output
    assert "SDD" in output and "SYNTHETIC" in output
    built = Benchmark.open(tmp_path / "a", verify="full")
    assert built.count("sub") == 28
    # The catalogue (whose report names source files) lies beside the shared folder, never inside it.
    assert (tmp_path / "a.catalog" / "catalog.parquet").exists() and not (tmp_path / "a" / "catalog").exists()
    assert (tmp_path / "a.embeddings.npz").is_file()
    assert "SYNTHETIC DATA" in (tmp_path / "a" / CARD_FILE).read_text()

    code, output = _invoke(
        "--catalog", str(tmp_path / "a.catalog"), "--out", str(tmp_path / "b"), "--encoder", "pixels",
        "--sub-sdd", "20", "--sub-sll", "8",
    )  # fmt: skip
    assert code == 0, output
    assert (tmp_path / "b" / "benchmark.parquet").read_bytes() == (
        tmp_path / "a" / "benchmark.parquet"
    ).read_bytes()


# The torch-free encoder, so that these errors are reached with or without the embed extra installed.
PIXELS = ("--encoder", "pixels")


def test_build_errors_are_one_clear_line(sources: dict[str, Path], key_file: Path, tmp_path: Path) -> None:
    code, output = _invoke("--catalog", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x"), *PIXELS)
    assert code == 2 and "no such catalogue folder" in output
    (tmp_path / "not-a-catalogue").mkdir()
    code, output = _invoke(
        "--catalog", str(tmp_path / "not-a-catalogue"), "--out", str(tmp_path / "x"), *PIXELS
    )
    assert code == 2 and "catalog.parquet: missing" in output
    code, output = _invoke("--out", str(tmp_path / "x"), *PIXELS)
    assert code == 2 and "--catalog DIR or at least one source" in output
    code, output = _invoke(
        "--catalog", str(tmp_path), "--buu", str(sources["buu"]), "--out", str(tmp_path / "x"), *PIXELS
    )
    assert code == 2 and "not both" in output
    code, output = _invoke(
        "--buu", str(sources["buu"]), "--out", str(tmp_path / "y"), "--key-file", str(key_file),
        "--workers", "1", "--encoder", "resnet-9000",
    )  # fmt: skip
    assert code == 2 and "resnet-9000" in output and "not understood" in output
    assert not (tmp_path / "y").exists()  # checked before any cataloguing
    code, output = _invoke(
        "--buu", str(sources["buu"]), "--out", str(tmp_path / "z"), "--key-file", str(key_file),
        "--encoder", "pixels", "--aggregation", "median",
    )  # fmt: skip
    assert code == 2 and "topk:K" in output and not (tmp_path / "z").exists()


def test_an_existing_benchmark_is_refused_before_any_cataloguing(
    sources: dict[str, Path], key_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bench"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    code, output = _invoke(
        "--buu", str(sources["buu"]), "--out", str(out), "--key-file", str(key_file), "--workers", "1",
        "--encoder", "pixels",
    )  # fmt: skip
    assert code == 2 and "already holds a benchmark" in output
    assert not (tmp_path / "bench.catalog").exists()  # nothing was catalogued first


def test_a_bracket_in_the_output_path_is_printed_not_read_as_markup(
    sources: dict[str, Path], key_file: Path, tmp_path: Path
) -> None:
    code, output = _invoke(
        "--buu", str(sources["buu"]), "--out", str(tmp_path / "a"), "--key-file", str(key_file),
        "--workers", "1", "--encoder", "pixels",
    )  # fmt: skip
    assert code == 0, output
    out = tmp_path / "bench[" / "]"  # "…bench[/]": a closing tag, were it read as markup
    catalog = tmp_path / "a.catalog"
    code, output = _invoke("--catalog", str(catalog), "--out", str(out), "--encoder", "pixels")
    assert code == 0, output
    assert Benchmark.open(out).count() > 0


def test_tasks_option_adds_severity_grading_under_its_own_protocol(
    sources: dict[str, Path], key_file: Path, tmp_path: Path
) -> None:
    code, output = _invoke(
        f"--rsna={sources['rsna']}", "--out", str(tmp_path / "g"), "--key-file", str(key_file),
        "--workers", "1", "--encoder", "pixels", "--tasks", "SDD,SLL,SSG", "--mark-levels", "--sub-ssg", "6",
    )  # fmt: skip
    assert code == 0, output
    assert "SSG" in output
    built = Benchmark.open(tmp_path / "g", verify="full")
    build = built.manifest["build"]
    assert build["protocol"] == "spinebench-paper-v1+ssg-v1" and build["tasks"] == ["SDD", "SLL", "SSG"]
    assert build["grading"]["mark_levels"] is True
    assert build["subsets"]["sub"]["SSG"] == {"requested": 6, "selected": 6}

    code, output = _invoke(
        f"--rsna={sources['rsna']}", "--out", str(tmp_path / "bad"), "--encoder", "pixels", "--tasks", "SSG",
    )  # fmt: skip
    assert code != 0 and "must include the paper's SDD, SLL" in output
    assert not (tmp_path / "bad").exists()  # refused before any cataloguing
