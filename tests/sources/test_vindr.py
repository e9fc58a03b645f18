"""The VinDr-SpineXR reader on its synthetic copy: merge rule, drops, bad input, layout errors; the writer."""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path

import pydicom
import pytest

from spinebench.sources import Finding, SkippedRecord, SourceImage, SourceLayoutError
from spinebench.sources.vindr import check_layout, read_vindr
from spinebench.synth.rsna_lumbar import write_synthetic_rsna_lumbar
from spinebench.synth.vindr import JPEG_INDEX, MONOCHROME1_INDEX, SCENARIOS, write_synthetic_vindr

# What each synthetic scenario must become: its diseases (empty = Healthy) or the start of its skip reason.
EXPECTED: list[tuple[str, ...] | str] = [
    (),
    ("Disc space narrowing", "Osteophytes"),
    ("Spondylolisthesis",),
    ("Spondylolisthesis",),
    "only dropped labels (Other lesions)",
    ("Vertebral collapse",),
    ("Foraminal stenosis",),
    (),
    ("Disc space narrowing",),
    "only dropped labels (Surgical implant)",
    ("Osteophytes",),
]
IMAGES = len(SCENARIOS)


@pytest.fixture(scope="module")
def vindr_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_vindr(tmp_path_factory.mktemp("synth") / "vindr-spinexr", seed=3, images=IMAGES)


@pytest.fixture
def vindr_copy(vindr_root: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(vindr_root, tmp_path / "vindr-spinexr"))


def rows_by_image(root: Path) -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    for split in ("train", "test"):
        with (root / "annotations" / f"{split}.csv").open(newline="") as handle:
            for row in csv.DictReader(handle):
                rows[row["image_id"]].append(row | {"split": split})
    return rows


def scenario_of(rows: list[dict[str, str]]) -> int:
    boxes = tuple((row["rad_id"], row["lesion_type"]) for row in rows)
    matches = [
        i for i, s in enumerate(SCENARIOS) if tuple((b.rad_id, b.lesion_type) for b in s.boxes) == boxes
    ]
    assert len(matches) == 1, boxes
    return matches[0]


def split_records(root: Path) -> tuple[dict[str, SourceImage], list[SkippedRecord]]:
    images: dict[str, SourceImage] = {}
    skipped: list[SkippedRecord] = []
    for record in read_vindr(root):
        if isinstance(record, SourceImage):
            assert record.native_id not in images
            images[record.native_id] = record
        else:
            skipped.append(record)
    return images, skipped


def rewrite_csv(path: Path, edit: object) -> None:
    """Rewrites a CSV after `edit(header, rows)` changed its header list and row dicts in place."""
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header, rows = list(reader.fieldnames or []), list(reader)
    edit(header, rows)  # type: ignore[operator]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def test_every_scenario_gets_its_labels_merges_and_drops(vindr_root: Path) -> None:
    assert len(EXPECTED) == len(SCENARIOS)
    images, skipped = split_records(vindr_root)
    reasons = {record.location: record.reason for record in skipped}
    for image_id, rows in rows_by_image(vindr_root).items():
        expected = EXPECTED[scenario_of(rows)]
        if isinstance(expected, str):
            assert image_id not in images
            [location] = [loc for loc in reasons if f"(image {image_id})" in loc]
            assert location.startswith(f"annotations/{rows[0]['split']}.csv line")
            assert reasons[location].startswith(expected)
        else:
            assert image_id in images, (image_id, reasons)
            assert images[image_id].findings == tuple(Finding(d) for d in expected)
    assert len(images) == sum(1 for e in EXPECTED if not isinstance(e, str))
    assert len(skipped) == 2


def test_both_spellings_of_spondylolisthesis_are_read_as_one_disease(vindr_root: Path) -> None:
    images, _ = split_records(vindr_root)
    spellings: dict[str, set[tuple[Finding, ...]]] = defaultdict(set)
    for image_id, rows in rows_by_image(vindr_root).items():
        for row in rows:
            if row["lesion_type"].startswith("Spondylol"):
                spellings[row["lesion_type"]].add(images[image_id].findings)
    assert set(spellings) == {"Spondylolysthesis", "Spondylolisthesis"}
    assert set().union(*spellings.values()) == {(Finding("Spondylolisthesis"),)}


def test_image_fields_carry_no_level_and_study_as_patient(vindr_root: Path) -> None:
    images, _ = split_records(vindr_root)
    rows = rows_by_image(vindr_root)
    for image_id, image in images.items():
        split, study = rows[image_id][0]["split"], rows[image_id][0]["study_id"]
        assert image.source == "vindr"
        assert image.path == vindr_root / f"{split}_images" / f"{image_id}.dicom"
        assert image.path.is_file()
        assert (image.modality, image.view, image.frame) == ("xray", "unknown", None)
        assert image.patient_id == image.study_id == study
        assert all(finding.levels == () and finding.severity is None for finding in image.findings)
    assert {rows[i][0]["split"] for i in images} == {"train", "test"}


def test_order_is_sorted_and_repeatable(vindr_root: Path) -> None:
    first, second = list(read_vindr(vindr_root)), list(read_vindr(vindr_root))
    assert first == second
    ids = [(r.path.parent.name, r.native_id) for r in first if isinstance(r, SourceImage)]
    assert ids == sorted(ids, key=lambda pair: (pair[0] != "train_images", pair[1]))


def test_missing_image_is_skipped_with_its_rows_and_file(vindr_copy: Path) -> None:
    image_id = next(i for i, rows in rows_by_image(vindr_copy).items() if EXPECTED[scenario_of(rows)] == ())
    split = rows_by_image(vindr_copy)[image_id][0]["split"]
    (vindr_copy / f"{split}_images" / f"{image_id}.dicom").unlink()
    images, skipped = split_records(vindr_copy)
    assert image_id not in images
    [record] = [r for r in skipped if image_id in r.location]
    assert record.reason == f"image {split}_images/{image_id}.dicom not found"
    assert record.location.startswith(f"annotations/{split}.csv line")
    assert len(images) == sum(1 for e in EXPECTED if not isinstance(e, str)) - 1


def test_unknown_label_is_reported_and_its_image_cannot_be_healthy(vindr_copy: Path) -> None:
    healthy = next(i for i, rows in rows_by_image(vindr_copy).items() if EXPECTED[scenario_of(rows)] == ())
    diseased = next(
        i for i, rows in rows_by_image(vindr_copy).items() if EXPECTED[scenario_of(rows)] == ("Osteophytes",)
    )
    for image_id in (healthy, diseased):
        split = rows_by_image(vindr_copy)[image_id][0]["split"]
        extra = {"image_id": image_id, "study_id": "s", "rad_id": "rad9", "lesion_type": "Scoliosis"}
        extra |= {"xmin": "1", "ymin": "1", "xmax": "9", "ymax": "9"}
        rewrite_csv(vindr_copy / "annotations" / f"{split}.csv", lambda header, rows, e=extra: rows.append(e))
    images, skipped = split_records(vindr_copy)
    unknown = [r for r in skipped if r.reason.startswith("unknown lesion type 'Scoliosis'")]
    assert sorted(r.location.split("(image ")[1][:-1] for r in unknown) == sorted([healthy, diseased])
    assert healthy not in images
    assert any(healthy in r.location and r.reason.startswith("no usable label") for r in skipped)
    assert images[diseased].findings == (Finding("Osteophytes"),)  # its valid rows still count


def test_bad_box_on_a_lesion_row_is_reported(vindr_copy: Path) -> None:
    image_id = next(
        i
        for i, rows in rows_by_image(vindr_copy).items()
        if EXPECTED[scenario_of(rows)] == ("Foraminal stenosis",)
    )
    split = rows_by_image(vindr_copy)[image_id][0]["split"]

    def spoil(header: list[str], rows: list[dict[str, str]]) -> None:
        for row in rows:
            if row["image_id"] == image_id:
                row["xmin"] = "n/a"

    rewrite_csv(vindr_copy / "annotations" / f"{split}.csv", spoil)
    images, skipped = split_records(vindr_copy)
    assert image_id not in images
    bad = [r for r in skipped if image_id in r.location]
    assert bad[0].reason == "bad box for 'Foraminal stenosis': xmin='n/a' is not a number"
    assert bad[1].reason.startswith("no usable label")


def test_wrong_header_skips_the_file_and_names_the_missing_columns(vindr_copy: Path) -> None:
    def rename(header: list[str], rows: list[dict[str, str]]) -> None:
        header[header.index("lesion_type")] = "lesion"
        for row in rows:
            row["lesion"] = row.pop("lesion_type")

    rewrite_csv(vindr_copy / "annotations" / "test.csv", rename)
    images, skipped = split_records(vindr_copy)
    [record] = [r for r in skipped if r.location == "annotations/test.csv"]
    assert record.reason.startswith("whole file skipped: missing columns lesion_type")
    assert images and all(image.path.parent.name == "train_images" for image in images.values())

    rewrite_csv(vindr_copy / "annotations" / "train.csv", rename)
    with pytest.raises(SourceLayoutError, match=r"no usable annotation file.*train\.csv: missing columns"):
        read_vindr(vindr_copy)


def test_a_file_that_breaks_partway_is_skipped_whole_not_half_read(vindr_copy: Path) -> None:
    # No finding rows, then a byte that is not UTF-8, then a lesion on the same image: keeping the rows
    # read before the break would wrongly call the image Healthy.
    image_id = next(i for i, rows in rows_by_image(vindr_copy).items() if rows[0]["split"] == "train")
    train = vindr_copy / "annotations" / "train.csv"
    header = train.read_text().splitlines()[0]
    # Past the first read buffer (8 KiB), so that rows before the break are parsed before it is met.
    rows = [{"image_id": image_id, "study_id": "s1", "rad_id": "rad1", "lesion_type": "No finding"}] * 400 + [
        {"image_id": "\udcff", "study_id": "s1", "rad_id": "rad2", "lesion_type": "No finding"},
        {"image_id": image_id, "study_id": "s1", "rad_id": "rad2", "lesion_type": "Osteophytes"},
    ]
    boxes = {"xmin": "1", "ymin": "1", "xmax": "9", "ymax": "9"}
    lines = [header] + [",".join((row | boxes).get(c, "") for c in header.split(",")) for row in rows]
    train.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    images, skipped = split_records(vindr_copy)
    assert image_id not in images
    [record] = [r for r in skipped if r.location == "annotations/train.csv"]
    assert record.reason.startswith("whole file skipped: cannot be read as CSV")
    assert images and all(image.path.parent.name == "test_images" for image in images.values())


def test_columns_are_matched_by_name_in_any_order(vindr_root: Path) -> None:
    headers = [
        (vindr_root / "annotations" / f"{split}.csv").read_text().splitlines()[0]
        for split in ("train", "test")
    ]
    assert headers[0] != headers[1] and sorted(headers[0].split(",")) == sorted(headers[1].split(","))
    images, _ = split_records(vindr_root)
    assert {image.path.parent.name for image in images.values()} == {"train_images", "test_images"}


def test_wrong_folder_names_what_was_expected(tmp_path: Path, vindr_copy: Path) -> None:
    rsna = write_synthetic_rsna_lumbar(tmp_path / "rsna-2024-lumbar", studies=1)
    with pytest.raises(SourceLayoutError, match=r"annotations/train\.csv nor annotations/test\.csv") as error:
        read_vindr(rsna)
    assert "train.csv" in str(error.value) and str(rsna) in str(error.value)
    with pytest.raises(SourceLayoutError, match="not a folder"):
        check_layout(tmp_path / "nowhere")
    shutil.rmtree(vindr_copy / "test_images")
    with pytest.raises(
        SourceLayoutError, match=r"annotations/test\.csv exists but .*test_images/ is missing"
    ):
        read_vindr(vindr_copy)


def test_synthetic_copy_has_the_dicom_quirks_and_fake_tags_that_never_reach_records(vindr_root: Path) -> None:
    assert "SYNTHETIC" in (vindr_root / "README.txt").read_text()
    files = sorted(vindr_root.glob("*_images/*.dicom"))
    assert len(files) == IMAGES
    datasets = [pydicom.dcmread(path) for path in files]
    assert sum(ds.PhotometricInterpretation == "MONOCHROME1" for ds in datasets) == 1
    assert sum(ds.file_meta.TransferSyntaxUID.is_compressed for ds in datasets) == 1
    assert MONOCHROME1_INDEX != JPEG_INDEX
    names = {str(ds.PatientName) for ds in datasets} | {str(ds.PatientID) for ds in datasets}
    assert all(name for name in names)
    images, skipped = split_records(vindr_root)
    text = repr(list(images.values())) + repr(skipped)
    assert not [name for name in names if name in text]
    multi = [rows for rows in rows_by_image(vindr_root).values() if len({row["rad_id"] for row in rows}) > 1]
    assert multi


def test_synthetic_writer_is_deterministic(tmp_path: Path) -> None:
    def contents(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    first = contents(write_synthetic_vindr(tmp_path / "a", seed=5, images=4))
    second = contents(write_synthetic_vindr(tmp_path / "b", seed=5, images=4))
    other = contents(write_synthetic_vindr(tmp_path / "c", seed=6, images=4))
    assert first == second
    assert len(first) == 4 + 3  # images, two CSVs, README
    assert first != other
