"""A build from sources under a folder named like a patient, with RSNA records skipped (by the reader and by
the catalogue step), leaves that folder's name and every native RSNA id out of every file of the benchmark,
its catalogue and its embeddings file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import typer
from typer.testing import CliRunner

from spinebench.benchmark import Benchmark
from spinebench.cli.build_cmd import build_command
from spinebench.sources import SkippedRecord, read_rsna_lumbar
from spinebench.synth import write_synthetic_sources

PATIENT_FOLDER = "Zzyzx_Quentin_MRN8675309"

app = typer.Typer()
app.command("build")(build_command)


@app.callback()
def _root() -> None:
    """Test app."""


def _native_rsna_ids(rsna: Path) -> set[str]:
    ids: set[str] = set()
    for name, columns in (
        ("train.csv", ("study_id",)),
        ("train_series_descriptions.csv", ("study_id", "series_id")),
        ("train_label_coordinates.csv", ("study_id", "series_id")),
    ):
        with (rsna / name).open(newline="") as handle:
            for row in csv.DictReader(handle):
                ids.update(row[column] for column in columns if row.get(column))
    return ids


def _readable_text(file: Path) -> str:
    """Everything a file says, decompressed: parquet rows and metadata, npz arrays, else the raw bytes."""
    if file.suffix == ".parquet":
        table = pq.read_table(file)
        return json.dumps(table.to_pylist(), default=str) + str(table.schema.metadata)
    if file.suffix == ".npz":
        with np.load(file, allow_pickle=False) as archive:
            return " ".join(str(archive[key].tolist()) for key in archive.files)
    return file.read_bytes().decode("latin-1")


def test_a_build_names_no_folder_above_the_sources_and_no_native_rsna_id(tmp_path: Path) -> None:
    sources = write_synthetic_sources(tmp_path / PATIENT_FOLDER / "datasets", seed=4)
    rsna = sources["rsna"]
    ids = _native_rsna_ids(rsna)
    assert len(ids) > 10 and all(len(value) >= 6 for value in ids)
    # A catalogue-step skip: a slice the reader accepts, whose path holds a study and a series id.
    victim = sorted(i.path for i in read_rsna_lumbar(rsna) if not isinstance(i, SkippedRecord))[0]
    victim.write_bytes(victim.read_bytes()[:300])
    key_file = tmp_path / "key"
    key_file.write_text("a-private-key-of-enough-length")
    out = tmp_path / "share" / "bench"
    folders = [f"--{name}={folder}" for name, folder in sources.items()]
    result = CliRunner().invoke(
        app,
        ["build", *folders, "--out", str(out), "--key-file", str(key_file), "--workers", "1",
         "--encoder", "pixels", "--sub-sdd", "20", "--sub-sll", "8", "--tasks", "SDD,SLL,SSG",
         "--mark-levels"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Benchmark.open(out).manifest["build"]["grading"]["questions"] > 0  # grading-only slices shared too

    catalog = out.with_name("bench.catalog")
    files = [f for root in (out, catalog) for f in root.rglob("*") if f.is_file() and f.suffix != ".png"]
    files.append(out.with_name("bench.embeddings.npz"))
    assert {f.name for f in files} >= {"build_report.json", "catalog.parquet", "benchmark.parquet", "CARD.md"}
    for file in files:
        text = _readable_text(file)
        assert PATIENT_FOLDER not in text, file
        assert str(tmp_path) not in text, file
        leaked = sorted(value for value in ids if value in text)
        assert not leaked, f"{file} names native RSNA ids {leaked[:3]}"

    report = json.loads((catalog / "build_report.json").read_text())
    rsna_skips = [s for s in report["skipped"] if s["source"] == "rsna"]
    assert report["graded_only"] > 0  # below-threshold slices kept for grading, pseudonymised like the rest
    # Reader skips (blank severities ...) by their table line, and the truncated slice.
    assert any(not s["location"].startswith("train_images/") for s in rsna_skips)
    truncated = [
        s for s in rsna_skips if s["location"].startswith("train_images/") and "(record " in s["location"]
    ]
    assert len(truncated) == 1  # named by a root-relative path of pseudonyms, so it can still be found
    assert truncated[0]["location"].endswith(f"/{victim.name} (record {truncated[0]['location'][-21:-1]})")


@pytest.mark.parametrize("inside", ["catalog", "."])
def test_a_catalogue_inside_the_benchmark_is_refused(tmp_path: Path, inside: str) -> None:
    sources = write_synthetic_sources(tmp_path / "s", seed=1)
    key_file = tmp_path / "key"
    key_file.write_text("a-private-key-of-enough-length")
    out = tmp_path / "bench"
    result = CliRunner().invoke(
        app,
        ["build", f"--buu={sources['buu']}", "--out", str(out), "--catalog-out", str(out / inside),
         "--key-file", str(key_file), "--encoder", "pixels"],
    )  # fmt: skip
    assert result.exit_code == 2 and "cannot go inside the benchmark folder" in result.output
    assert not out.exists()
