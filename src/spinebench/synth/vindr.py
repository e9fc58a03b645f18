"""Writes a small synthetic VinDr-SpineXR folder in the native layout: phantom X-rays as DICOM, fake tags.

The label scenarios cover what the reader must handle: several radiologists on one image, both spellings of
spondylolisthesis, "No finding", an "Other lesions"-only image, a dropped label beside a kept disease. One
file is MONOCHROME1 (stored inverted, so it standardises to the same picture) and one is JPEG-compressed.
Same seed, same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from spinebench.synth._files import prepare_synthetic_folder, write_csv
from spinebench.synth.dicom import write_dicom
from spinebench.synth.phantoms import PhantomSpec, render_phantom
from spinebench.taxonomy import HEALTHY, LEVELS, VINDR_LESIONS

TRAIN_COLUMNS: Final = (
    "image_id",
    "series_id",
    "study_id",
    "rad_id",
    "lesion_type",
    "xmin",
    "ymin",
    "xmax",
    "ymax",
)
# The test split lists the same columns in another order, as real exports may: readers match by name.
TEST_COLUMNS: Final = ("study_id", "series_id", "image_id", "rad_id", *TRAIN_COLUMNS[4:])
IMAGE_SIZE: Final = 192
MONOCHROME1_INDEX: Final = 1
JPEG_INDEX: Final = 2


@dataclass(frozen=True, slots=True)
class _Patient:
    """Fake patient tags, random from the seed, that tests check never reach an output."""

    name: str
    patient_id: str


@dataclass(frozen=True, slots=True)
class _Box:
    rad_id: str
    lesion_type: str


@dataclass(frozen=True, slots=True)
class _Scenario:
    """The rows of one image: one per box, several radiologists possibly."""

    boxes: tuple[_Box, ...]


def _boxes(*pairs: str) -> _Scenario:
    return _Scenario(tuple(_Box(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2)))


# Image i gets scenario i % len(SCENARIOS); the first 11 images show every case once.
SCENARIOS: Final = (
    _boxes("rad1", "No finding"),
    _boxes("rad1", "Osteophytes", "rad2", "Disc space narrowing", "rad2", "Osteophytes"),
    _boxes("rad3", "Spondylolysthesis"),
    _boxes("rad2", "Spondylolisthesis"),
    _boxes("rad1", "Other lesions"),
    _boxes("rad1", "Vertebral collapse", "rad1", "Surgical implant"),
    _boxes("rad3", "Foraminal stenosis"),
    _boxes("rad1", "No finding", "rad2", "No finding"),
    _boxes("rad1", "No finding", "rad3", "Disc space narrowing"),
    _boxes("rad2", "Surgical implant", "rad2", "Surgical implant"),
    _boxes("rad1", "Osteophytes", "rad1", "Osteophytes"),
)


def write_synthetic_vindr(out: Path, *, seed: int = 0, images: int = 24) -> Path:
    """Writes `out` (e.g. .../vindr-spinexr) as a fake VinDr-SpineXR release of `images` DICOM files."""
    if images < 1:
        raise ValueError(f"images must be at least 1, not {images}")
    prepare_synthetic_folder(out, _README.format(seed=seed, images=images))
    rng = np.random.default_rng([seed, 0x51D2])
    rows: dict[str, list[dict[str, str]]] = {"train": [], "test": []}
    split, study_id, patient = "train", "", _Patient("", "")
    for index in range(images):
        if index % 2 == 0:  # two views per study, as in the real release
            split = "test" if index % 6 == 4 else "train"
            study_id = rng.bytes(16).hex()
            patient = _Patient(fake_name(rng), str(rng.integers(10**7, 10**8)))
        series_id, image_id = rng.bytes(16).hex(), rng.bytes(16).hex()
        scenario = SCENARIOS[index % len(SCENARIOS)]
        finding, level = _phantom_finding(scenario), int(rng.integers(1, len(LEVELS)))
        phantom = render_phantom(
            PhantomSpec(
                finding,
                levels=(LEVELS[level],) if finding != HEALTHY else (),
                size=IMAGE_SIZE,
                seed=int(rng.integers(2**31)),
            )
        )
        _write_image(
            out / f"{split}_images" / f"{image_id}.dicom",
            phantom,
            index,
            patient,
            study_id,
            series_id,
            image_id,
        )
        for box in scenario.boxes:
            rows[split].append(
                {
                    "image_id": image_id,
                    "series_id": series_id,
                    "study_id": study_id,
                    "rad_id": box.rad_id,
                    "lesion_type": box.lesion_type,
                    **_coordinates(box.lesion_type, level, rng),
                }
            )
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    for split, columns in (("train", TRAIN_COLUMNS), ("test", TEST_COLUMNS)):
        (out / f"{split}_images").mkdir(parents=True, exist_ok=True)
        write_csv(out / "annotations" / f"{split}.csv", columns, rows[split])
    return out


def _phantom_finding(scenario: _Scenario) -> str:
    """The first kept disease of the image, else Healthy (dropped-only images look healthy)."""
    for box in scenario.boxes:
        disease = VINDR_LESIONS[box.lesion_type]
        if disease is not None and disease != HEALTHY:
            return disease
    return HEALTHY


def _coordinates(lesion_type: str, level: int, rng: np.random.Generator) -> dict[str, str]:
    """A box around the disc below vertebra `level` of the phantom; empty for "No finding", as in VinDr."""
    if lesion_type == "No finding":
        return {"xmin": "", "ymin": "", "xmax": "", "ymax": ""}
    step = 0.84 * IMAGE_SIZE / 6
    centre_x = IMAGE_SIZE * 0.5 + rng.uniform(-4, 4)
    centre_y = 0.08 * IMAGE_SIZE + (level + 1) * step + rng.uniform(-4, 4)
    half_w, half_h = rng.uniform(0.12, 0.22) * IMAGE_SIZE, rng.uniform(0.05, 0.1) * IMAGE_SIZE
    box = (centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h)
    return {name: f"{value:.3f}" for name, value in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True)}


def _write_image(
    path: Path,
    phantom: Image.Image,
    index: int,
    patient: _Patient,
    study_id: str,
    series_id: str,
    image_id: str,
) -> None:
    monochrome1 = index == MONOCHROME1_INDEX
    write_dicom(
        path,
        pixels_12bit(phantom, invert=monochrome1),
        modality="DX",
        photometric="MONOCHROME1" if monochrome1 else "MONOCHROME2",
        compression="jpeg-baseline" if index == JPEG_INDEX else None,
        patient_id=patient.patient_id,
        patient_name=patient.name,
        study_uid=uid_from_hex(study_id),
        series_uid=uid_from_hex(series_id),
        sop_uid=uid_from_hex(image_id),
    )


_FAMILY_NAMES: Final = ("Nguyen", "Tran", "Le", "Pham", "Hoang", "Vu", "Dang", "Bui", "Do", "Ngo")
_GIVEN_NAMES: Final = ("An", "Binh", "Chi", "Dung", "Giang", "Hanh", "Khoa", "Lan", "Minh", "Thao")


def fake_name(rng: np.random.Generator) -> str:
    """A random but plausible DICOM person name (FAMILY^GIVEN), for tags that must never leak."""
    family, given = rng.choice(len(_FAMILY_NAMES)), rng.choice(len(_GIVEN_NAMES))
    return f"{_FAMILY_NAMES[family]}^{_GIVEN_NAMES[given]}^{chr(65 + int(rng.integers(26)))}"


def pixels_12bit(image: Image.Image, *, invert: bool = False) -> NDArray[np.uint16]:
    """The phantom's grey levels as 12-bit stored values; inverted for MONOCHROME1, so it displays alike."""
    gray = np.asarray(image.convert("L"), dtype=np.uint32)
    stored = (gray * 4095 + 127) // 255
    return (4095 - stored if invert else stored).astype(np.uint16)


def uid_from_hex(hex_id: str) -> str:
    """A valid DICOM UID (2.25 root, as UUID-derived UIDs) that encodes a 128-bit hex id."""
    return f"2.25.{int(hex_id, 16)}"


_README: Final = """SYNTHETIC DATA - NOT VinDr-SpineXR AND NOT PATIENT DATA

Written by spinebench (write_synthetic_vindr, seed={seed}, images={images}) for tests and demos.
The images are procedural phantoms; patient names, ids and dates in the DICOM files are random.
The layout copies the real release: annotations/{{train,test}}.csv and {{train,test}}_images/<image_id>.dicom.
"""
