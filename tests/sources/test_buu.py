"""The BUU-LSPINE reader on synthetic copies of its native layout, and the synthetic BUU-LSPINE writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spinebench.errors import SpineBenchError
from spinebench.sources import Finding, SkippedRecord, SourceImage, SourceLayoutError
from spinebench.sources.buu import ROW_LEVELS, BuuName, check_layout, parse_buu_name, read_buu
from spinebench.synth.buu import edge_lines, plan_synthetic_buu, write_synthetic_buu

HEALTHY_ROW = "10.0,20.0,30.0,20.5,0"


@pytest.fixture(scope="module")
def buu(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_buu(tmp_path_factory.mktemp("buu") / "buu", seed=0)


def split(records: list[SourceImage | SkippedRecord]) -> tuple[list[SourceImage], list[SkippedRecord]]:
    images = [r for r in records if isinstance(r, SourceImage)]
    skipped = [r for r in records if isinstance(r, SkippedRecord)]
    assert len(images) + len(skipped) == len(records)
    return images, skipped


def layout(root: Path) -> Path:
    (root / "AP").mkdir(parents=True)
    (root / "LA").mkdir()
    return root


def pair(root: Path, folder: str, stem: str, rows: list[str], image: bool = True) -> None:
    if image:
        Image.new("L", (8, 8), 90).save(root / folder / f"{stem}.jpg")
    (root / folder / f"{stem}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def flagged(count: int, rows: set[int], label: str = "3") -> list[str]:
    return [HEALTHY_ROW[:-1] + (label if row in rows else "0") for row in range(count)]


def test_synthetic_buu_reads_back_with_levels(buu: Path) -> None:
    plan = plan_synthetic_buu(seed=0, patients=8)
    images, skipped = split(list(read_buu(buu)))
    expected = {}
    for patient in plan:
        findings = (Finding("Spondylolisthesis", patient.levels),) if patient.levels else ()
        expected[f"AP/{patient.stem('AP')}"] = (patient.patient, "AP", findings)
        if patient is not plan[-1]:
            expected[f"LA/{patient.stem('LA')}"] = (patient.patient, "lateral", findings)
    assert {i.native_id: (i.patient_id, i.view, i.findings) for i in images} == expected
    assert [i.native_id for i in images] == sorted(expected)  # AP before LA, then by name
    assert any(len(p.levels) == 2 for p in plan) and any(not p.levels for p in plan)
    assert all(i.modality == "xray" and i.source == "buu" and i.path.is_file() for i in images)
    assert [(s.location, s.reason) for s in skipped] == [
        (
            f"LA/{plan[-1].stem('LA')}.csv",
            "10 rows, expected 11 (one x1, y1, x2, y2, label row per vertebral edge)",
        )
    ]


def test_row_positions_map_to_levels(tmp_path: Path) -> None:
    root = layout(tmp_path)
    pair(root, "AP", "0001-F-037Y0", flagged(10, {9}, "2"))  # lower edge of L5
    pair(root, "AP", "0002-M-061Y0", flagged(10, {2, 3, 6}))  # both L2 edges, upper L4 edge
    pair(root, "LA", "0001-F-037Y1", flagged(11, {10}))  # upper edge of S1
    pair(root, "LA", "0002-M-061Y1", flagged(11, {0}, "4.0"))  # upper edge of L1, label written as float
    pair(root, "LA", "0003-M-045Y1", flagged(11, set()))
    images, skipped = split(list(read_buu(root)))
    assert skipped == []
    levels = {i.native_id: i.findings[0].levels if i.findings else () for i in images}
    assert levels == {
        "AP/0001-F-037Y0": ("L5/S1",),
        "AP/0002-M-061Y0": ("L2/L3", "L4/L5"),
        "LA/0001-F-037Y1": ("L5/S1",),
        "LA/0002-M-061Y1": ("L1/L2",),
        "LA/0003-M-045Y1": (),
    }
    assert ROW_LEVELS["AP"][:2] == ("L1/L2", "L1/L2") and len(ROW_LEVELS["LA"]) == 11


def test_bad_files_are_skipped_with_file_and_reason(tmp_path: Path) -> None:
    root = layout(tmp_path)
    pair(root, "AP", "0001-F-037Y0", flagged(10, set()))  # fine
    pair(root, "AP", "scan-0002", flagged(10, set()))  # bad name
    pair(root, "AP", "0003-F-040Y0", flagged(10, set()), image=False)  # CSV without image
    Image.new("L", (8, 8)).save(root / "AP" / "0004-M-051Y0.jpg")  # image without CSV
    pair(root, "AP", "0005-M-052Y0", flagged(9, set()))  # wrong row count
    pair(root, "AP", "0006-M-053Y0", [*flagged(5, set()), "", *flagged(4, set()), "10,abc,30,20.5,0"])
    pair(root, "AP", "0007-M-054Y0", [*flagged(9, set()), "10.0,20.0,30.0,0"])  # short row
    pair(root, "AP", "0008-M-055Y0", [*flagged(9, set()), "10.0,20.0,30.0,20.5,0.5"])  # not a class
    pair(
        root, "LA", "0009-F-060Y1", ["x1,y1,x2,y2,label", *(r + "," for r in flagged(11, {8}))]
    )  # header, commas
    (root / "LA" / "notes.txt").write_text("ignored", encoding="utf-8")
    images, skipped = split(list(read_buu(root)))
    assert [(i.native_id, i.findings) for i in images] == [
        ("AP/0001-F-037Y0", ()),
        ("LA/0009-F-060Y1", (Finding("Spondylolisthesis", ("L5/S1",)),)),
    ]
    assert [(s.location, s.reason) for s in skipped] == [
        ("AP/0003-F-040Y0.csv", "no image 0003-F-040Y0.jpg beside the annotation"),
        ("AP/0004-M-051Y0.jpg", "no annotation 0004-M-051Y0.csv beside the image"),
        ("AP/0005-M-052Y0.csv", "9 rows, expected 10 (one x1, y1, x2, y2, label row per vertebral edge)"),
        ("AP/0006-M-053Y0.csv row 11", "non-numeric value in 10, abc, 30, 20.5, 0"),  # blank line 6 counts
        ("AP/0007-M-054Y0.csv row 10", "4 values, expected 5 (x1, y1, x2, y2, label)"),
        ("AP/0008-M-055Y0.csv row 10", "label '0.5' is not a class number (0 normal, > 0 slipped)"),
        ("AP/scan-0002.jpg", "file name 'scan-0002' is not <id>-<sex>-<age>Y<view> (e.g. 0001-F-037Y0)"),
    ]


def test_parse_buu_name() -> None:
    assert parse_buu_name("0001-F-037Y0") == BuuName("0001", "F", 37, 0)
    assert parse_buu_name("3600-m-081Y1") == BuuName("3600", "M", 81, 1)
    assert parse_buu_name("0001-X-037Y0") is None
    assert parse_buu_name("0001-F-037Y0-copy") is None


def test_wrong_folder_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(SourceLayoutError, match="is not a folder; expected a BUU-LSPINE folder"):
        check_layout(tmp_path / "absent")
    (tmp_path / "AP").mkdir()
    with pytest.raises(
        SourceLayoutError, match=r"has no LA/; expected a BUU-LSPINE folder with subfolders AP/"
    ):
        check_layout(tmp_path)
    (tmp_path / "LA").mkdir()
    with pytest.raises(SourceLayoutError, match=r"AP/ and LA/ hold no \.jpg or \.csv files"):
        check_layout(tmp_path)
    nested = tmp_path / "download"
    layout(nested / "BUU-LSPINE")
    with pytest.raises(SourceLayoutError, match=r"has no AP/ or LA/.*BUU-LSPINE has them: pass that folder"):
        list(read_buu(nested))


def test_edge_lines_lie_on_the_drawn_vertebrae(buu: Path) -> None:
    for patient in plan_synthetic_buu(seed=0, patients=8)[:2]:
        pixels = np.asarray(Image.open(buu / "AP" / f"{patient.stem('AP')}.jpg"))
        for index, (x1, y1, x2, _) in enumerate(edge_lines(patient.levels, 160)):
            inside = 3 if index % 2 == 0 else -3  # below an upper edge, above a lower one
            assert pixels[int(y1) + inside, int((x1 + x2) / 2)] > 110
            assert pixels[int(y1) - inside, int((x1 + x2) / 2)] < 110
            assert pixels[int(y1) + inside, int(x1) - 4] < 110 and pixels[int(y1) + inside, int(x2) + 4] < 110


def test_synthetic_buu_files(buu: Path) -> None:
    image = Image.open(buu / "LA" / f"{plan_synthetic_buu()[0].stem('LA')}.jpg")
    assert (image.format, image.mode, image.size) == ("JPEG", "L", (160, 160))
    assert "exif" not in image.info
    assert (buu / "README.txt").read_text(encoding="utf-8").startswith("SYNTHETIC")
    stems = {p.stem for p in (buu / "AP").iterdir()}
    assert all(p.stem.endswith("Y0") for p in (buu / "AP").iterdir())
    assert {p.stem.replace("Y1", "Y0") for p in (buu / "LA").iterdir()} == stems


def test_synthetic_buu_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    def contents(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }

    first = contents(write_synthetic_buu(tmp_path / "a", seed=5, patients=3))
    assert first == contents(write_synthetic_buu(tmp_path / "b", seed=5, patients=3))
    assert first != contents(write_synthetic_buu(tmp_path / "c", seed=6, patients=3))
    assert len(first) == 1 + 2 * 2 * 3


def test_writer_refuses_a_foreign_folder(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("x", encoding="utf-8")
    with pytest.raises(SpineBenchError, match="not empty and not a synthetic"):
        write_synthetic_buu(tmp_path)
    with pytest.raises(ValueError, match="at least 2 patients"):
        plan_synthetic_buu(patients=1)
