"""The CSXA reader on synthetic copies of its native layout, and the synthetic CSXA writer itself."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spinebench.errors import SpineBenchError
from spinebench.sources import SkippedRecord, SourceImage, SourceLayoutError
from spinebench.sources.csxa import CsxaColumns, check_layout, curvature_disease, read_csxa
from spinebench.synth.csxa import plan_synthetic_csxa, write_synthetic_csxa
from spinebench.taxonomy import CSXA_CLASSES
from spinebench.testing import require


@pytest.fixture(scope="module")
def csxa(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_csxa(tmp_path_factory.mktemp("csxa") / "csxa", seed=0)


def split(records: list[SourceImage | SkippedRecord]) -> tuple[list[SourceImage], list[SkippedRecord]]:
    images = [r for r in records if isinstance(r, SourceImage)]
    skipped = [r for r in records if isinstance(r, SkippedRecord)]
    assert len(images) + len(skipped) == len(records)
    return images, skipped


def write_table(path: Path, rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (8, 8), 100).save(path)
    return path


def small_dataset(root: Path, header: list[str], rows: list[list[str]], delimiter: str = ",") -> Path:
    """A hand-written CSXA: images 0001..0004 in images/, the given table."""
    for name in ("0001", "0002", "0003", "0004"):
        png(root / "images" / f"{name}.png")
    write_table(root / "table.csv", [header, *rows], delimiter)
    return root


def test_synthetic_csxa_reads_back_with_its_labels(csxa: Path) -> None:
    plan = plan_synthetic_csxa(seed=0, images=16)
    images, skipped = split(list(read_csxa(csxa)))
    expected = {row.image_id: row.disease for row in plan if row.disease is not None and row.has_image}
    assert {image.native_id: image.findings[0].disease for image in images} == expected
    assert {image.findings[0].disease for image in images} == set(CSXA_CLASSES.values())
    for image in images:
        assert (image.source, image.modality, image.view) == ("csxa", "xray", "lateral")
        assert image.patient_id == image.native_id
        assert image.path == csxa / "images" / f"{image.native_id}.png"
        assert image.findings[0].levels == ()
    assert [image.native_id for image in images] == sorted(expected)
    assert [(s.location, s.reason.split(" (")[0]) for s in skipped] == [
        ("metadata.csv row 18", "unknown curvature class 'Scoliosis'"),
        ("metadata.csv row 19", "image not found: no 0018.png or images/0018.png in the folder"),
    ]


def test_class_names_in_any_case_and_full_form() -> None:
    assert curvature_disease("KYPHOSIS") == "Cervical kyphosis"
    assert curvature_disease(" straight ") == "Straight cervical vertebrae"
    assert curvature_disease("Cervical lordosis") == "Cervical lordosis"
    assert curvature_disease("Sigmoid cervical vertebrae") == "Sigmoid cervical vertebrae"
    assert curvature_disease("scoliosis") is None
    assert curvature_disease("Osteophytes") is None  # a disease, but not a curvature class
    assert curvature_disease("normal") is None


def test_ids_with_extension_subfolder_backslash_and_semicolons(tmp_path: Path) -> None:
    png(tmp_path / "0005.png")  # an image at the top level, not in images/
    rows = [["0001.png", "LORDOSIS"], ["images/0002", "Cervical kyphosis"], ["images\\0003.png", "straight"]]
    small_dataset(
        tmp_path, ["Image ID", "Curvature"], [*rows, ["0004", "Sigmoid"], ["0005", "lordosis"]], ";"
    )
    images, skipped = split(list(read_csxa(tmp_path)))
    assert skipped == []
    assert [(image.native_id, image.findings[0].disease) for image in images] == [
        ("0001", "Cervical lordosis"),
        ("0004", "Sigmoid cervical vertebrae"),
        ("0005", "Cervical lordosis"),
        ("images/0002", "Cervical kyphosis"),
        ("images/0003", "Straight cervical vertebrae"),
    ]
    assert images[2].path == tmp_path / "0005.png"
    assert images[3].path == tmp_path / "images" / "0002.png"


def test_explicit_column_mapping(tmp_path: Path) -> None:
    small_dataset(
        tmp_path, ["Picture", "Sex", "Curve"], [["0001", "F", "kyphosis"], ["0002", "M", "sigmoid"]]
    )
    with pytest.raises(SourceLayoutError) as error:
        list(read_csxa(tmp_path))
    message = str(error.value)
    assert "table.csv" in message and "'Picture'" in message and "CsxaColumns(id=" in message
    records = list(read_csxa(tmp_path, columns=CsxaColumns(id="picture", label="Curve")))
    images, skipped = split(records)
    assert [(i.native_id, i.findings[0].disease) for i in images] == [
        ("0001", "Cervical kyphosis"),
        ("0002", "Sigmoid cervical vertebrae"),
    ]
    assert [s.location for s in skipped] == ["images/0003.png", "images/0004.png"]  # in no row
    assert all("no row of table.csv" in s.reason for s in skipped)


def test_ambiguous_and_missing_columns_name_the_option(tmp_path: Path) -> None:
    small_dataset(tmp_path, ["ID", "Image", "Curvature"], [["1", "0001", "lordosis"]])
    with pytest.raises(SourceLayoutError, match=r"several columns could hold the image id \('ID', 'Image'\)"):
        list(read_csxa(tmp_path))
    assert len(list(read_csxa(tmp_path, columns=CsxaColumns(id="Image")))) == 4  # 1 image + 3 unlisted
    with pytest.raises(
        SourceLayoutError, match=r"no column 'Class'.*CsxaColumns\(label=\.\.\.\).*'Curvature'"
    ):
        list(read_csxa(tmp_path, columns=CsxaColumns(id="Image", label="Class")))
    with pytest.raises(SourceLayoutError, match="both the image id and the curvature class"):
        list(read_csxa(tmp_path, columns=CsxaColumns(id="Image", label="Image")))


def test_bad_rows_are_skipped_with_row_and_reason(tmp_path: Path) -> None:
    rows = [
        ["0001", ""],
        ["", "lordosis"],
        ["../outside", "lordosis"],
        ["0002", "kyphosis"],
        ["0002", "Kyphosis"],
        ["0003", "straight"],
        ["0003", "sigmoid"],
        ["0004", "sigmoid"],
    ]
    small_dataset(tmp_path, ["filename", "class"], rows)
    images, skipped = split(list(read_csxa(tmp_path)))
    assert [image.native_id for image in images] == ["0002", "0004"]
    reasons = {s.location: s.reason for s in skipped}
    assert reasons["table.csv row 3"] == "no image id"
    assert "not a path inside the folder" in reasons["table.csv row 4"]
    assert reasons["table.csv row 2"].startswith("no curvature class")
    assert reasons["table.csv row 6"] == "repeats row 5 (same image and class)"
    assert "rows 7, 8 with different classes" in reasons["table.csv row 7"]
    assert len(skipped) == 5


def test_corrupt_keypoint_file_keeps_the_image(tmp_path: Path) -> None:
    root = write_synthetic_csxa(tmp_path / "csxa", images=4)
    keypoints = root / "images" / "0001.json"
    keypoints.write_bytes(keypoints.read_bytes()[:40])  # truncated
    (root / "images" / "0002.json").write_text('{"version": "5.2.1"}', encoding="utf-8")
    (root / "images" / "0003.json").unlink()  # keypoints are optional
    images, skipped = split(list(read_csxa(root)))
    assert [image.native_id for image in images] == ["0001", "0002", "0003", "0004"]
    notes = {s.location: s.reason for s in skipped}
    assert (
        "does not parse as JSON" in notes["images/0001.json"]
        and "the image is kept" in notes["images/0001.json"]
    )
    assert "not LabelMe JSON" in notes["images/0002.json"]
    _, unchecked = split(list(read_csxa(root, validate_keypoints=False)))
    assert not any(s.location.endswith(".json") for s in unchecked)


def test_wrong_folder_says_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(SourceLayoutError, match="is not a folder; expected a CSXA folder"):
        check_layout(tmp_path / "absent")
    (tmp_path / "AP").mkdir()  # e.g. BUU-LSPINE given as CSXA
    with pytest.raises(SourceLayoutError, match=r"no metadata table \(\*\.csv or \*\.xlsx\)"):
        check_layout(tmp_path)
    write_table(tmp_path / "a.csv", [["image", "curvature"]])
    write_table(tmp_path / "b.csv", [["image", "curvature"]])
    with pytest.raises(SourceLayoutError, match=r"several tables \(a\.csv, b\.csv\).*`table` option"):
        check_layout(tmp_path)
    with pytest.raises(SourceLayoutError, match=r"holds no \.png image"):
        check_layout(tmp_path, table=Path("a.csv"))
    png(tmp_path / "images" / "0001.png")
    assert check_layout(tmp_path, table=Path("b.csv")) == tmp_path / "b.csv"
    with pytest.raises(SourceLayoutError, match=r"metadata table missing\.csv not found"):
        check_layout(tmp_path, table=Path("missing.csv"))


def test_xlsx_table_reads_like_csv(tmp_path: Path) -> None:
    require("openpyxl")
    from_csv = list(read_csxa(write_synthetic_csxa(tmp_path / "csv", seed=3)))
    root = write_synthetic_csxa(tmp_path / "xlsx", seed=3, xlsx=True)
    assert sorted(p.name for p in root.iterdir()) == ["README.txt", "images", "metadata.xlsx"]
    from_xlsx = list(read_csxa(root))

    def view(records: list[SourceImage | SkippedRecord]) -> list[tuple[str, ...]]:
        return [
            (r.native_id, r.findings[0].disease) if isinstance(r, SourceImage) else (r.reason.split(":")[0],)
            for r in records
        ]

    assert view(from_xlsx) == view(from_csv)
    assert len(from_xlsx) == 18


def test_xlsx_without_openpyxl_says_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    png(tmp_path / "0001.png")
    (tmp_path / "table.xlsx").write_bytes(b"PK")
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import now fails as if not installed
    with pytest.raises(SpineBenchError, match=r"table\.xlsx: reading an \.xlsx table needs openpyxl"):
        list(read_csxa(tmp_path))


def test_synthetic_images_and_keypoints(csxa: Path) -> None:
    image = Image.open(csxa / "images" / "0001.png")
    assert (image.format, image.mode, image.size) == ("PNG", "L", (160, 160))
    labelme = json.loads((csxa / "images" / "0001.json").read_text(encoding="utf-8"))
    assert labelme["imagePath"] == "0001.png" and labelme["imageData"] is None
    points = [shape["points"][0] for shape in labelme["shapes"]]
    assert len(points) == 23 and all(shape["shape_type"] == "point" for shape in labelme["shapes"])
    pixels = np.asarray(image)
    for x, y in points:  # corners sit on the drawn bodies: a bright pixel within 3 px
        near = pixels[max(0, int(y) - 3) : int(y) + 4, max(0, int(x) - 3) : int(x) + 4]
        assert near.max() > 110
    assert (csxa / "README.txt").read_text(encoding="utf-8").startswith("SYNTHETIC")


def test_synthetic_csxa_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    def contents(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
        }

    first = contents(write_synthetic_csxa(tmp_path / "a", seed=7, images=4))
    assert first == contents(write_synthetic_csxa(tmp_path / "b", seed=7, images=4))
    assert first != contents(write_synthetic_csxa(tmp_path / "c", seed=8, images=4))


def test_synthetic_xlsx_is_byte_identical_for_a_seed(tmp_path: Path) -> None:
    require("openpyxl")
    one = write_synthetic_csxa(tmp_path / "a", seed=7, images=4, xlsx=True) / "metadata.xlsx"
    two = write_synthetic_csxa(tmp_path / "b", seed=7, images=4, xlsx=True) / "metadata.xlsx"
    assert one.read_bytes() == two.read_bytes()
    # Two writes within one second match anyway: check that no clock value is left in the workbook.
    with zipfile.ZipFile(one) as workbook:
        assert {info.date_time for info in workbook.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = workbook.read("docProps/core.xml")
    assert re.findall(rb"\d{4}-\d\d-\d\dT[\d:]+Z", core) == [b"2000-01-01T00:00:00Z"] * 2


def test_writer_replaces_only_synthetic_folders(tmp_path: Path) -> None:
    root = write_synthetic_csxa(tmp_path / "csxa", images=8)
    write_synthetic_csxa(root, images=4)  # a rerun replaces the earlier copy, leaving no stale images
    assert len(list((root / "images").glob("*.png"))) == 5
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(SpineBenchError, match="not empty and not a synthetic"):
        write_synthetic_csxa(tmp_path / "mine")
    with pytest.raises(ValueError, match="at least 4 images"):
        plan_synthetic_csxa(images=3)
