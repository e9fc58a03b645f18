"""The RSNA 2024 lumbar reader on its synthetic copy: slices, left/right merge, levels, severity threshold,
healthy studies, bad input, layout errors; the synthetic writer."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path

import pydicom
import pytest

from spinebench.sources import Finding, SkippedRecord, SourceImage, SourceLayoutError
from spinebench.sources.rsna_lumbar import SeverityThresholdError, read_rsna_lumbar
from spinebench.synth.rsna_lumbar import write_synthetic_rsna_lumbar
from spinebench.synth.vindr import write_synthetic_vindr

STUDIES = 5


@pytest.fixture(scope="module")
def rsna_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_rsna_lumbar(
        tmp_path_factory.mktemp("synth") / "rsna-2024-lumbar", seed=2, studies=STUDIES
    )


@pytest.fixture
def rsna_copy(rsna_root: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(rsna_root, tmp_path / "rsna-2024-lumbar"))


def table(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def write_table(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def study_ids(root: Path) -> list[str]:
    """Study ids in the writer's order: study 0 (all Normal/Mild), 1 (scripted disease), 2 (blanks), 3, ..."""
    return [row["study_id"] for row in table(root / "train.csv")]


def marks(root: Path, study: str) -> dict[str, set[tuple[str, str]]]:
    """native id -> the (condition, level) pairs marked on that slice, for one study."""
    found: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for row in table(root / "train_label_coordinates.csv"):
        if row["study_id"] == study:
            found[f"{study}/{row['series_id']}/{row['instance_number']}"].add(
                (row["condition"], row["level"])
            )
    return found


def slice_with(root: Path, study: str, condition: str, level: str) -> str:
    [native_id] = [key for key, pairs in marks(root, study).items() if (condition, level) in pairs]
    return native_id


def reasons_for(skipped: list[SkippedRecord], native_id: str) -> list[str]:
    """The reasons of the skipped records located on one slice."""
    study, series, instance = native_id.split("/")
    return [
        r.reason
        for r in skipped
        if r.location.endswith(f"(study {study}, series {series}, instance {instance})")
    ]


def records(root: Path, **options: str) -> tuple[dict[str, SourceImage], list[SkippedRecord]]:
    images: dict[str, SourceImage] = {}
    skipped: list[SkippedRecord] = []
    for record in read_rsna_lumbar(root, **options):
        if isinstance(record, SourceImage):
            assert record.native_id not in images
            images[record.native_id] = record
        else:
            skipped.append(record)
    return images, skipped


def test_scripted_study_gives_levels_worst_severity_and_left_right_merge(rsna_root: Path) -> None:
    study = study_ids(rsna_root)[1]
    images, skipped = records(rsna_root)
    canal = slice_with(rsna_root, study, "Spinal Canal Stenosis", "L4/L5")
    left = slice_with(rsna_root, study, "Left Neural Foraminal Narrowing", "L4/L5")
    right = slice_with(rsna_root, study, "Right Neural Foraminal Narrowing", "L4/L5")
    axial = slice_with(rsna_root, study, "Left Subarticular Stenosis", "L4/L5")
    assert axial == slice_with(rsna_root, study, "Right Subarticular Stenosis", "L4/L5")
    assert images[canal].findings == (Finding("Spinal canal stenosis", ("L3/L4", "L4/L5"), "Severe"),)
    assert images[left].findings == (Finding("Foraminal stenosis", ("L4/L5", "L5/S1"), "Severe"),)
    assert images[right].findings == (Finding("Foraminal stenosis", ("L5/S1",), "Severe"),)
    # Left Severe, then right Moderate at L4/L5 on one axial slice: one disease, the worse grade.
    assert images[axial].findings == (Finding("Subarticular stenosis", ("L4/L5",), "Severe"),)
    assert (images[canal].view, images[left].view, images[axial].view) == (
        "Sagittal T2/STIR",
        "Sagittal T1",
        "Axial T2",
    )
    # The Normal/Mild axial slices of a diseased study are not called healthy: kept for grading only.
    for level in ("L1/L2", "L5/S1"):
        native_id = slice_with(rsna_root, study, "Left Subarticular Stenosis", level)
        assert images[native_id].graded_only and images[native_id].findings == ()
        assert {g.severity for g in images[native_id].grades} == {"Normal/Mild"}
        assert not reasons_for(skipped, native_id)
    assert not any(image.graded_only for image in images.values() if image.findings)


def test_every_slice_carries_its_grades_with_the_marked_points(rsna_root: Path) -> None:
    """Grades keep left and right apart, every severity (below the threshold too) and the row's point."""
    study = study_ids(rsna_root)[1]
    images, _ = records(rsna_root)
    severities = {row["study_id"]: row for row in table(rsna_root / "train.csv")}[study]
    rows = [row for row in table(rsna_root / "train_label_coordinates.csv") if row["study_id"] == study]
    assert rows
    for row in rows:
        native_id = f"{study}/{row['series_id']}/{row['instance_number']}"
        column = f"{row['condition'].lower().replace(' ', '_')}_{row['level'].lower().replace('/', '_')}"
        [grade] = [
            g for g in images[native_id].grades if (g.condition, g.level) == (row["condition"], row["level"])
        ]
        assert grade.severity == severities[column]
        assert (grade.x, grade.y) == (float(row["x"]), float(row["y"]))
    axial = slice_with(rsna_root, study, "Left Subarticular Stenosis", "L4/L5")
    assert [(g.condition, g.severity) for g in images[axial].grades] == [
        ("Left Subarticular Stenosis", "Severe"),
        ("Right Subarticular Stenosis", "Moderate"),
    ]


def test_severity_threshold_option(rsna_root: Path) -> None:
    study = study_ids(rsna_root)[1]
    canal = slice_with(rsna_root, study, "Spinal Canal Stenosis", "L4/L5")
    left = slice_with(rsna_root, study, "Left Neural Foraminal Narrowing", "L4/L5")
    default, _ = records(rsna_root)
    severe, _ = records(rsna_root, min_severity="Severe")
    everything, _ = records(rsna_root, min_severity="Normal/Mild")
    assert severe[canal].findings == (Finding("Spinal canal stenosis", ("L4/L5",), "Severe"),)
    assert severe[left].findings == (Finding("Foraminal stenosis", ("L4/L5",), "Severe"),)
    assert everything[canal].findings == (
        Finding("Spinal canal stenosis", ("L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"), "Severe"),
    )

    def levels(images: dict[str, SourceImage]) -> int:
        return sum(len(f.levels) for image in images.values() for f in image.findings)

    assert levels(severe) < levels(default) < levels(everything)
    assert set(severe) <= set(default) <= set(everything)
    # The threshold moves slices between diagnosis and grading-only; their grades stay the same.
    assert sum(i.graded_only for i in severe.values()) > sum(i.graded_only for i in default.values())
    assert all(severe[key].grades == default[key].grades for key in severe)
    with pytest.raises(SeverityThresholdError, match="unknown severity threshold 'Mild'"):
        read_rsna_lumbar(rsna_root, min_severity="Mild")


def test_all_normal_study_gives_healthy_slices(rsna_root: Path) -> None:
    study = study_ids(rsna_root)[0]
    images, _ = records(rsna_root)
    marked = marks(rsna_root, study)
    assert len(marked) == 6  # 1 canal slice, 2 foraminal slices, 3 axial slices
    for native_id in marked:
        assert images[native_id].findings == ()
        assert images[native_id].view in ("Sagittal T1", "Sagittal T2/STIR", "Axial T2")


def test_blank_severity_at_a_marked_level_is_reported(rsna_root: Path) -> None:
    study = study_ids(rsna_root)[2]
    images, skipped = records(rsna_root)
    native_id = slice_with(rsna_root, study, "Left Subarticular Stenosis", "L1/L2")
    [blank] = reasons_for(skipped, native_id)
    assert blank == "blank severity in train.csv column left_subarticular_stenosis_l1_l2"
    # Its other mark (right, Normal/Mild) cannot make it healthy: the slice serves grading alone, with
    # the grade that is known.
    assert images[native_id].graded_only and images[native_id].findings == ()
    assert [(g.condition, g.severity) for g in images[native_id].grades] == [
        ("Right Subarticular Stenosis", "Normal/Mild")
    ]
    assert sum(r.reason.startswith("blank severity") for r in skipped if study in r.location) == 1
    canal = slice_with(rsna_root, study, "Spinal Canal Stenosis", "L5/S1")
    assert images[canal].findings == (Finding("Spinal canal stenosis", ("L5/S1",), "Moderate"),)


def test_image_fields(rsna_root: Path) -> None:
    images, _ = records(rsna_root)
    assert images
    for native_id, image in images.items():
        study, series, instance = native_id.split("/")
        assert image.source == "rsna" and image.modality == "mri"
        assert image.path == rsna_root / "train_images" / study / series / f"{instance}.dcm"
        assert image.path.is_file()
        assert image.patient_id == image.study_id == study
        for finding in image.findings:
            assert finding.levels and finding.severity in ("Moderate", "Severe")
    axial_of_study_3 = [
        i for i in images.values() if i.study_id == study_ids(rsna_root)[3] and i.view == "Axial T2"
    ]
    assert axial_of_study_3 == []  # study 3 has no axial series


def test_order_is_sorted_by_number_and_repeatable(rsna_root: Path) -> None:
    first, second = list(read_rsna_lumbar(rsna_root)), list(read_rsna_lumbar(rsna_root))
    assert first == second
    keys = [tuple(int(part) for part in r.native_id.split("/")) for r in first if isinstance(r, SourceImage)]
    assert keys == sorted(keys)


def test_missing_dicom_is_skipped_with_its_rows(rsna_copy: Path) -> None:
    study = study_ids(rsna_copy)[1]
    native_id = slice_with(rsna_copy, study, "Spinal Canal Stenosis", "L4/L5")
    (rsna_copy / "train_images" / f"{native_id}.dcm").unlink()
    images, skipped = records(rsna_copy)
    assert native_id not in images
    [record] = [r for r in skipped if r.reason.startswith("image train_images/")]
    assert record.reason == f"image train_images/{native_id}.dcm not found"
    assert record.location.startswith("train_label_coordinates.csv lines ")


def test_unknown_condition_and_level_are_reported(rsna_copy: Path) -> None:
    path = rsna_copy / "train_label_coordinates.csv"
    rows = table(path)
    study = study_ids(rsna_copy)[1]
    canal = next(
        row for row in rows if row["study_id"] == study and row["condition"] == "Spinal Canal Stenosis"
    )
    rows.append(canal | {"condition": "Scoliosis"})
    rows.append(canal | {"level": "T12/L1"})
    write_table(path, list(rows[0]), rows)
    images, skipped = records(rsna_copy)
    reasons = [
        r.reason for r in skipped if r.location.startswith(f"train_label_coordinates.csv line {len(rows)}")
    ]
    reasons += [
        r.reason
        for r in skipped
        if r.location.startswith(f"train_label_coordinates.csv line {len(rows) + 1}")
    ]
    assert reasons[0].startswith("unknown condition 'Scoliosis'")
    assert reasons[1].startswith("unknown level 'T12/L1'")
    native_id = f"{study}/{canal['series_id']}/{canal['instance_number']}"
    assert images[native_id].findings == (Finding("Spinal canal stenosis", ("L3/L4", "L4/L5"), "Severe"),)


def test_series_descriptions_wrong_header_or_missing_row(rsna_copy: Path) -> None:
    path = rsna_copy / "train_series_descriptions.csv"
    rows = table(path)
    write_table(path, list(rows[0]), rows[1:])  # the first series loses its description
    images, _ = records(rsna_copy)
    first = f"{rows[0]['study_id']}/{rows[0]['series_id']}/"
    assert {i.view for k, i in images.items() if k.startswith(first)} == {"unknown"}

    write_table(path, ["study_id", "series_id", "description"], [r | {"description": "x"} for r in rows])
    images, skipped = records(rsna_copy)
    [record] = [r for r in skipped if r.location == "train_series_descriptions.csv"]
    assert record.reason.startswith("whole file skipped: missing columns series_description")
    assert images and {image.view for image in images.values()} == {"unknown"}


def test_wrong_header_of_an_essential_file_is_a_layout_error(rsna_copy: Path) -> None:
    path = rsna_copy / "train.csv"
    rows = table(path)
    header = [name.replace("spinal_canal_stenosis_l4_l5", "scs_l4_l5") for name in rows[0]]
    write_table(path, header, rows)
    with pytest.raises(SourceLayoutError, match=r"train\.csv: missing columns spinal_canal_stenosis_l4_l5"):
        read_rsna_lumbar(rsna_copy)


def test_wrong_folder_names_what_was_expected(tmp_path: Path, rsna_copy: Path) -> None:
    vindr = write_synthetic_vindr(tmp_path / "vindr-spinexr", images=2)
    with pytest.raises(SourceLayoutError) as error:
        read_rsna_lumbar(vindr)
    message = str(error.value)
    assert "missing train.csv, train_label_coordinates.csv, train_series_descriptions.csv (" in message
    assert "annotations/" in message  # what it found instead
    (rsna_copy / "train_series_descriptions.csv").unlink()
    with pytest.raises(SourceLayoutError, match=r"missing train_series_descriptions\.csv \("):
        read_rsna_lumbar(rsna_copy)


def test_synthetic_copy_covers_the_native_variety(rsna_root: Path) -> None:
    assert "SYNTHETIC" in (rsna_root / "README.txt").read_text()
    values = {
        value for row in table(rsna_root / "train.csv") for key, value in row.items() if key != "study_id"
    }
    assert values == {"Normal/Mild", "Moderate", "Severe", ""}
    coordinates = table(rsna_root / "train_label_coordinates.csv")
    assert {row["condition"] for row in coordinates} == {
        "Spinal Canal Stenosis",
        "Left Neural Foraminal Narrowing",
        "Right Neural Foraminal Narrowing",
        "Left Subarticular Stenosis",
        "Right Subarticular Stenosis",
    }
    marked = {(r["study_id"], r["series_id"], r["instance_number"]) for r in coordinates}
    series_by_study: dict[str, int] = defaultdict(int)
    for row in table(rsna_root / "train_series_descriptions.csv"):
        series_by_study[row["study_id"]] += 1
        files = {
            p.stem for p in (rsna_root / "train_images" / row["study_id"] / row["series_id"]).glob("*.dcm")
        }
        ours = {i for s, se, i in marked if (s, se) == (row["study_id"], row["series_id"])}
        assert ours < files and 1 <= len(files - ours) <= 2  # annotated slices plus 1-2 unannotated ones
    assert set(series_by_study.values()) == {2, 3}
    datasets = [pydicom.dcmread(p) for p in sorted(rsna_root.glob("train_images/*/*/*.dcm"))]
    assert sum(ds.PhotometricInterpretation == "MONOCHROME1" for ds in datasets) == 1
    assert sum(ds.file_meta.TransferSyntaxUID.is_compressed for ds in datasets) == 1
    tags = {str(ds.PatientName) for ds in datasets} | {str(ds.PatientID) for ds in datasets}
    text = repr(list(read_rsna_lumbar(rsna_root)))
    assert tags and not [tag for tag in tags if tag in text]


def test_synthetic_writer_is_deterministic(tmp_path: Path) -> None:
    def contents(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    first = contents(write_synthetic_rsna_lumbar(tmp_path / "a", seed=4, studies=3))
    second = contents(write_synthetic_rsna_lumbar(tmp_path / "b", seed=4, studies=3))
    assert first == second
    assert first != contents(write_synthetic_rsna_lumbar(tmp_path / "c", seed=5, studies=3))


def test_synthetic_copy_grades_every_marked_slice_with_all_three_grades(rsna_root: Path) -> None:
    """What severity grading needs: the three grades on marked slices, each with a point on the image."""
    images, _ = records(rsna_root)
    grades = [grade for image in images.values() for grade in image.grades]
    assert {g.severity for g in grades} == {"Normal/Mild", "Moderate", "Severe"}
    assert all(g.x is not None and 0 <= g.x < 128 and g.y is not None and 0 <= g.y < 128 for g in grades)
