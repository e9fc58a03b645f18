from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pydicom
import pytest
from typer.testing import CliRunner

import spinebench.catalog._build as catalog_build
from spinebench.catalog import (
    CATALOG_NAME,
    REPORT_NAME,
    CatalogError,
    Reader,
    SourceFolders,
    build_catalog,
    decoder_versions,
    read_catalog,
)
from spinebench.catalog._build import worker_memory_limit
from spinebench.cli import app
from spinebench.imaging import ImagingOptions
from spinebench.sources import SkippedRecord, read_buu, read_vindr

KEY = b"0123456789abcdef-test-key"


def test_catalogue_of_all_four_sources(synthetic_sources: SourceFolders, tmp_path: Path) -> None:
    report = build_catalog(synthetic_sources.readers(), tmp_path / "cat", key=KEY, workers=2)
    entries = read_catalog(tmp_path / "cat")
    assert {e.source for e in entries} == {"vindr", "rsna", "csxa", "buu"}
    diseases = {d for e in entries for d in e.diseases}
    assert {"Healthy", "Spondylolisthesis", "Cervical kyphosis", "Spinal canal stenosis"} <= diseases
    assert {e.modality for e in entries if e.source == "rsna"} == {"mri"}
    assert any(f.levels for e in entries if e.source in {"rsna", "buu"} for f in e.findings)
    for entry in entries:
        image = tmp_path / "cat" / entry.image
        assert image.exists() and entry.image_id in image.name
        assert max(entry.width, entry.height) <= 1024
    assert report.images == len(entries) and report.skipped
    written = json.loads((tmp_path / "cat" / REPORT_NAME).read_text())
    assert written["by_source"] == report.by_source
    assert all(s["reason"] and s["location"] for s in written["skipped"])


def test_no_dicom_patient_tag_reaches_the_output(synthetic_sources: SourceFolders, tmp_path: Path) -> None:
    secrets: set[str] = set()
    for file in [*synthetic_sources.vindr.rglob("*.dicom"), *synthetic_sources.rsna.rglob("*.dcm")]:
        header = pydicom.dcmread(file, stop_before_pixels=True)
        for tag in ("PatientName", "PatientID", "PatientBirthDate", "StudyDate"):
            value = str(header.get(tag, "")).strip()
            if len(value) >= 4:
                secrets.add(value)
    assert secrets
    build_catalog(synthetic_sources.readers(), tmp_path / "cat", key=KEY, workers=1)
    table_text = json.dumps(pq.read_table(tmp_path / "cat" / CATALOG_NAME).to_pylist())
    blobs = [table_text.encode()] + [f.read_bytes() for f in (tmp_path / "cat").rglob("*") if f.is_file()]
    for secret in secrets:
        assert not any(secret.encode() in blob for blob in blobs), f"patient tag value {secret!r} leaked"


def test_same_sources_and_key_give_identical_catalogue_and_rerun_skips(
    synthetic_sources: SourceFolders, tmp_path: Path
) -> None:
    first = build_catalog(synthetic_sources.readers(), tmp_path / "a", key=KEY, workers=2)
    build_catalog(synthetic_sources.readers(), tmp_path / "b", key=KEY, workers=1)
    assert (tmp_path / "a" / CATALOG_NAME).read_bytes() == (tmp_path / "b" / CATALOG_NAME).read_bytes()
    again = build_catalog(synthetic_sources.readers(), tmp_path / "a", key=KEY, workers=2)
    assert again.converted == 0 and again.reused == first.converted
    assert (tmp_path / "a" / CATALOG_NAME).read_bytes() == (tmp_path / "b" / CATALOG_NAME).read_bytes()
    other_key = build_catalog(
        synthetic_sources.readers(), tmp_path / "c", key=b"another-key-of-16-bytes", workers=1
    )
    assert other_key.images == first.images
    assert (tmp_path / "c" / CATALOG_NAME).read_bytes() != (tmp_path / "a" / CATALOG_NAME).read_bytes()


def test_corrupt_dicom_is_skipped_with_file_and_reason(
    synthetic_sources: SourceFolders, tmp_path: Path
) -> None:
    copy = tmp_path / "vindr"
    shutil.copytree(synthetic_sources.vindr, copy)
    kept = {item.path.name for item in read_vindr(copy) if not isinstance(item, SkippedRecord)}
    victim = sorted(f for f in copy.rglob("*.dicom") if f.name in kept)[0]
    victim.write_bytes(victim.read_bytes()[:400])
    report = build_catalog({"vindr": (read_vindr, copy)}, tmp_path / "cat", key=KEY, workers=1)
    relative = victim.relative_to(copy).as_posix()  # relative to the dataset root, never above it
    reasons = [s for s in report.skipped if s.location.startswith(f"{relative} (record ")]
    assert reasons, report.skipped
    assert all(victim.stem not in e.record for e in read_catalog(tmp_path / "cat"))


def test_cli_catalog_and_wrong_folder(synthetic_sources: SourceFolders, tmp_path: Path) -> None:
    runner = CliRunner()
    key_file = tmp_path / "key"
    key_file.write_text("a-private-key-of-enough-length")
    result = runner.invoke(
        app,
        ["catalog", "--buu", str(synthetic_sources.buu), "--csxa", str(synthetic_sources.csxa),
         "--out", str(tmp_path / "cat"), "--key-file", str(key_file), "--workers", "1"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "buu" in result.output and "skipped" in result.output
    rsna = str(synthetic_sources.rsna)
    wrong = runner.invoke(app, ["catalog", "--vindr", rsna, "--out", str(tmp_path / "x"),
                                "--key-file", str(key_file)])  # fmt: skip
    assert wrong.exit_code == 2
    assert "annotations" in wrong.output
    nothing = runner.invoke(app, ["catalog", "--out", str(tmp_path / "y")])
    assert nothing.exit_code == 2 and "at least one source" in nothing.output


def test_out_that_is_a_file_is_an_error_naming_it(synthetic_sources: SourceFolders, tmp_path: Path) -> None:
    taken = tmp_path / "catalogue"
    taken.write_text("not a folder")
    with pytest.raises(CatalogError, match=r"catalogue: cannot be used as the catalogue folder"):
        build_catalog({"buu": (read_buu, synthetic_sources.buu)}, taken, key=KEY, workers=1)
    with pytest.raises(CatalogError, match=r"catalogue/inner: cannot be used"):
        build_catalog({"buu": (read_buu, synthetic_sources.buu)}, taken / "inner", key=KEY, workers=1)
    assert taken.read_text() == "not a folder"


def test_cli_prints_an_out_path_with_brackets_as_written(
    synthetic_sources: SourceFolders, tmp_path: Path
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("a-private-key-of-enough-length")
    # "[v2]" was eaten as a style; "[/]" raised MarkupError once the catalogue was already built.
    for name in ("cat [v2]", "cat[/]"):
        out = tmp_path / name
        result = CliRunner().invoke(
            app,
            ["catalog", "--buu", str(synthetic_sources.buu), "--out", str(out), "--key-file", str(key_file),
             "--workers", "1"],
            env={"COLUMNS": "400"},
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert f"each with its reason in {out / REPORT_NAME}" in result.output


def test_images_above_the_pixel_cap_are_skipped_and_reported(
    synthetic_sources: SourceFolders, tmp_path: Path
) -> None:
    readers = {"rsna": synthetic_sources.readers()["rsna"]}
    report = build_catalog(
        readers, tmp_path / "cat", key=KEY, imaging=ImagingOptions(max_pixels=100), workers=2
    )
    too_large = [skipped for skipped in report.skipped if "too large to decode" in skipped.reason]
    assert report.images == 0 and len(too_large) >= 5
    # Named by the root-relative file and the record's pseudonym (see the build report's privacy rules).
    assert all(".dcm (record " in skipped.location for skipped in too_large)
    written = json.loads((tmp_path / "cat" / REPORT_NAME).read_text())
    assert "too large to decode" in json.dumps(written)


def test_conversion_workers_are_memory_bounded() -> None:
    assert worker_memory_limit(1) >= worker_memory_limit(64) >= 2 << 30
    if not Path("/proc/self/statm").exists():
        pytest.skip("the address-space cap needs Linux /proc")
    # A worker capped at what it holds plus 256 MiB: 10 MiB fits, 4 GiB is a MemoryError, not the OOM killer.
    probe = (
        "import numpy as np\n"
        "from spinebench.catalog._build import _limit_memory\n"
        "_limit_memory(256 << 20)\n"
        "np.ones(10 << 20, dtype=np.uint8)\n"
        "try:\n    np.ones(4 << 30, dtype=np.uint8)\nexcept MemoryError:\n    print('bounded')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "bounded"


def test_a_decoder_or_spinebench_upgrade_converts_again(
    synthetic_sources: SourceFolders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert synthetic_sources.buu is not None
    readers: dict[str, tuple[Reader, Path]] = {"buu": (read_buu, synthetic_sources.buu)}
    first = build_catalog(readers, tmp_path / "cat", key=KEY, workers=1)
    assert first.converted > 0
    assert build_catalog(readers, tmp_path / "cat", key=KEY, workers=1).converted == 0
    assert "pydicom=" in decoder_versions() and "spinebench=" in decoder_versions()
    monkeypatch.setattr(catalog_build, "decoder_versions", lambda: "pydicom=99.0,spinebench=99.0")
    upgraded = build_catalog(readers, tmp_path / "cat", key=KEY, workers=1)
    assert upgraded.converted == first.converted and upgraded.reused == 0
