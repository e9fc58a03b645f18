"""Dataset copies as they are found in the wild: symlink loops, stray carriage returns, odd encodings.

Each fault skips the record it touches, names it with its reason, and the catalogue build goes on.
"""

from __future__ import annotations

import os
import shutil
from functools import partial
from pathlib import Path

import pytest

from spinebench.catalog import build_catalog, read_catalog
from spinebench.sources import SkippedRecord, SourceImage, read_buu, read_csxa, read_rsna_lumbar, read_vindr
from spinebench.synth import write_synthetic_sources

KEY = b"hostile-layouts-key"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_synthetic_sources(tmp_path_factory.mktemp("pristine"), seed=5)


@pytest.fixture
def sources(pristine: dict[str, Path], tmp_path: Path) -> dict[str, Path]:
    copies = {}
    for name, folder in pristine.items():
        copies[name] = tmp_path / folder.name
        shutil.copytree(folder, copies[name], symlinks=True)
    return copies


def _loop(path: Path) -> None:
    """Makes `path` a symlink to itself: any stat of it fails with ELOOP."""
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    os.symlink(path.name, path)


def _split(found: list[SourceImage | SkippedRecord]) -> tuple[list[SourceImage], list[SkippedRecord]]:
    images = [f for f in found if isinstance(f, SourceImage)]
    return images, [f for f in found if isinstance(f, SkippedRecord)]


def test_vindr_survives_a_symlink_loop_in_train_images(sources: dict[str, Path]) -> None:
    root = sources["vindr"]
    before, _ = _split(list(read_vindr(root)))
    victim = next(p for p in sorted((root / "train_images").iterdir()) if p.suffix == ".dicom")
    _loop(victim)
    _loop(root / "train_images" / "stray-loop")  # an entry no record names
    images, skipped = _split(list(read_vindr(root)))
    assert len(images) == len(before) - 1
    named = [s for s in skipped if victim.name in s.reason]
    assert named and "symlink loop" in named[0].reason


def test_rsna_survives_a_series_folder_that_is_a_symlink_loop(sources: dict[str, Path]) -> None:
    root = sources["rsna"]
    reader = partial(read_rsna_lumbar, min_severity="Moderate")
    study = sorted((root / "train_images").iterdir())[0]
    series = sorted(study.iterdir())[0]
    _loop(series)
    _, skipped = _split(list(reader(root)))
    assert any(f"{study.name}/{series.name}/" in s.reason and "symlink loop" in s.reason for s in skipped)


def test_a_catalogue_build_goes_on_past_symlink_loops(sources: dict[str, Path], tmp_path: Path) -> None:
    _loop(next(p for p in sorted((sources["vindr"] / "train_images").iterdir()) if p.suffix == ".dicom"))
    study = sorted((sources["rsna"] / "train_images").iterdir())[0]
    _loop(sorted(study.iterdir())[0])
    readers = {
        "vindr": (read_vindr, sources["vindr"]),
        "rsna": (partial(read_rsna_lumbar, min_severity="Moderate"), sources["rsna"]),
    }
    report = build_catalog(readers, tmp_path / "cat", key=KEY, workers=1)
    assert report.images == len(read_catalog(tmp_path / "cat")) > 0
    assert sum("symlink loop" in s.reason for s in report.skipped) >= 2


def test_csxa_metadata_with_a_stray_carriage_return_inside_a_row(sources: dict[str, Path]) -> None:
    root = sources["csxa"]
    before, _ = _split(list(read_csxa(root)))
    table = root / "metadata.csv"
    lines = table.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b",", b",\r", 1)  # a CR in the middle of the second data row
    table.write_bytes(b"\n".join(lines))
    images, _ = _split(list(read_csxa(root)))
    assert [i.native_id for i in images] == [i.native_id for i in before]


def test_csxa_metadata_with_classic_mac_line_ends(sources: dict[str, Path]) -> None:
    root = sources["csxa"]
    before, _ = _split(list(read_csxa(root)))
    table = root / "metadata.csv"
    table.write_bytes(table.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    images, _ = _split(list(read_csxa(root)))
    assert [i.native_id for i in images] == [i.native_id for i in before]


def test_buu_and_csxa_survive_symlink_loops_among_their_files(sources: dict[str, Path]) -> None:
    buu, csxa = sources["buu"], sources["csxa"]
    buu_before, _ = _split(list(read_buu(buu)))
    csxa_before, _ = _split(list(read_csxa(csxa)))
    table = next(p for p in sorted((buu / "AP").iterdir()) if p.suffix == ".csv")
    _loop(table)
    _loop(buu / "LA" / "9999-F-050Y1.jpg")
    image = sorted((csxa / "images").glob("*.png"))[0]
    _loop(image)
    _loop(csxa / "images" / "nested")
    buu_images, buu_skipped = _split(list(read_buu(buu)))
    assert len(buu_images) == len(buu_before) - 1
    assert any(table.name in s.location and "cannot be read" in s.reason for s in buu_skipped)
    csxa_images, csxa_skipped = _split(list(read_csxa(csxa)))
    assert len(csxa_images) == len(csxa_before) - 1
    assert any(image.stem in f"{s.location} {s.reason}" for s in csxa_skipped)
