"""Writes a small synthetic RSNA 2024 lumbar folder in the native layout: phantom MRI slices as DICOM.

Study 0 is Normal/Mild at all 25 labels (its slices are Healthy); study 1 has every condition, left and right,
at Moderate and Severe levels, with left and right subarticular stenosis marked on the same axial slice;
study 2 has blank severities, one of them at a marked level; study 3 has no axial series; further studies are
random. Each series holds its marked slices plus one or two unmarked ones. One file is MONOCHROME1 and one is
JPEG-compressed. Same seed, same bytes.

Every marked condition and level is graded in train.csv and has its point (`x`, `y`, where the phantom draws
it), so severity grading (SSG) gets all three grades on marked slices: Normal/Mild from study 0 and the
unscripted levels, Moderate and Severe from study 1 and the random studies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from spinebench.synth._files import prepare_synthetic_folder, write_csv
from spinebench.synth.dicom import write_dicom
from spinebench.synth.phantoms import PhantomSpec, render_phantom
from spinebench.synth.vindr import fake_name, pixels_12bit
from spinebench.taxonomy import HEALTHY, LEVELS, RSNA_CONDITIONS, RSNA_SEVERITIES

CONDITIONS: Final = tuple(RSNA_CONDITIONS)  # Spinal canal, left/right foraminal, left/right subarticular
IMAGE_SIZE: Final = 128
AXIAL_LEVELS: Final = ("L1/L2", "L4/L5", "L5/S1")
_NORMAL, _MODERATE, _SEVERE = RSNA_SEVERITIES
_SCRIPTED: Final[dict[int, dict[tuple[str, str], str]]] = {
    1: {
        ("Spinal Canal Stenosis", "L3/L4"): _MODERATE,
        ("Spinal Canal Stenosis", "L4/L5"): _SEVERE,
        ("Left Neural Foraminal Narrowing", "L4/L5"): _SEVERE,
        ("Left Neural Foraminal Narrowing", "L5/S1"): _MODERATE,
        ("Right Neural Foraminal Narrowing", "L5/S1"): _SEVERE,
        ("Left Subarticular Stenosis", "L4/L5"): _SEVERE,  # the worse side is written first
        ("Right Subarticular Stenosis", "L4/L5"): _MODERATE,
    },
    2: {
        ("Spinal Canal Stenosis", "L5/S1"): _MODERATE,
        ("Left Subarticular Stenosis", "L1/L2"): "",  # blank at a marked level
        ("Right Subarticular Stenosis", "L2/L3"): "",  # blank at an unmarked level
    },
}
MONOCHROME1_STUDY: Final = 1
JPEG_STUDY: Final = 2


@dataclass(frozen=True, slots=True)
class _Marks:
    """What one slice has marked on it: conditions, each at the same levels (none on unmarked slices)."""

    conditions: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Series:
    description: str
    marked: tuple[_Marks, ...]


@dataclass(frozen=True, slots=True)
class _Patient:
    name: str
    patient_id: str


def _series_of(study_index: int) -> tuple[_Series, ...]:
    sagittal = (
        _Series(
            "Sagittal T1",
            (
                _Marks(("Left Neural Foraminal Narrowing",), LEVELS),
                _Marks(("Right Neural Foraminal Narrowing",), LEVELS),
            ),
        ),
        _Series("Sagittal T2/STIR", (_Marks(("Spinal Canal Stenosis",), LEVELS),)),
    )
    if study_index == 3:
        return sagittal
    both_sides = ("Left Subarticular Stenosis", "Right Subarticular Stenosis")
    return (*sagittal, _Series("Axial T2", tuple(_Marks(both_sides, (level,)) for level in AXIAL_LEVELS)))


def write_synthetic_rsna_lumbar(out: Path, *, seed: int = 0, studies: int = 6) -> Path:
    """Writes `out` (e.g. .../rsna-2024-lumbar) as a fake RSNA 2024 lumbar training set of `studies` studies.

    Studies 0-3 are scripted (see the module docstring); with fewer studies only the first ones are written.
    """
    if studies < 1:
        raise ValueError(f"studies must be at least 1, not {studies}")
    prepare_synthetic_folder(out, _README.format(seed=seed, studies=studies))
    rng = np.random.default_rng([seed, 0x25A1])
    severities: list[dict[str, str]] = []
    coordinates: list[dict[str, str]] = []
    descriptions: list[dict[str, str]] = []
    used: set[int] = set()
    for study_index in range(studies):
        study_id = str(_new_id(rng, used))
        labels = _labels(study_index, rng)
        severities.append({"study_id": study_id, **{_column(*key): value for key, value in labels.items()}})
        patient = _Patient(fake_name(rng), str(rng.integers(10**7, 10**8)))
        for series in _series_of(study_index):
            series_id = str(_new_id(rng, used))
            descriptions.append(
                {"study_id": study_id, "series_id": series_id, "series_description": series.description}
            )
            quirk = study_index if series.description == "Sagittal T2/STIR" else None
            coordinates += _write_series(out, study_id, series_id, series, labels, patient, quirk, rng)
    (out / "train_images").mkdir(exist_ok=True)
    write_csv(
        out / "train.csv", ("study_id", *(_column(c, lv) for c in CONDITIONS for lv in LEVELS)), severities
    )
    write_csv(
        out / "train_label_coordinates.csv",
        ("study_id", "series_id", "instance_number", "condition", "level", "x", "y"),
        coordinates,
    )
    write_csv(
        out / "train_series_descriptions.csv", ("study_id", "series_id", "series_description"), descriptions
    )
    return out


def _write_series(
    out: Path,
    study_id: str,
    series_id: str,
    series: _Series,
    labels: dict[tuple[str, str], str],
    patient: _Patient,
    quirk_study: int | None,
    rng: np.random.Generator,
) -> list[dict[str, str]]:
    """Writes a series: an unmarked slice, the marked ones, maybe one more unmarked. Returns its marks."""
    slices = (_Marks(), *series.marked, *([_Marks()] * int(rng.integers(0, 2))))
    rows: list[dict[str, str]] = []
    for offset, marks in enumerate(slices):
        instance = offset + 1
        for condition in marks.conditions:
            for level in marks.levels:
                x, y = _point(condition, level, series.description, rng)
                rows.append(
                    {
                        "study_id": study_id,
                        "series_id": series_id,
                        "instance_number": str(instance),
                        "condition": condition,
                        "level": level,
                        "x": f"{x:.6f}",
                        "y": f"{y:.6f}",
                    }
                )
        spec = _phantom_spec(marks, labels, int(rng.integers(2**31)))
        first_marked = offset == 1
        write_dicom(
            out / "train_images" / study_id / series_id / f"{instance}.dcm",
            pixels_12bit(render_phantom(spec), invert=first_marked and quirk_study == MONOCHROME1_STUDY),
            modality="MR",
            photometric="MONOCHROME1" if first_marked and quirk_study == MONOCHROME1_STUDY else "MONOCHROME2",
            compression="jpeg-baseline" if first_marked and quirk_study == JPEG_STUDY else None,
            patient_id=patient.patient_id,
            patient_name=patient.name,
            study_uid=study_id,
            series_uid=f"{study_id}.{series_id}",
            sop_uid=f"{study_id}.{series_id}.{instance}",
            instance_number=instance,
        )
    return rows


def _column(condition: str, level: str) -> str:
    return f"{condition.lower().replace(' ', '_')}_{level.lower().replace('/', '_')}"


def _new_id(rng: np.random.Generator, used: set[int]) -> int:
    while True:
        value = int(rng.integers(10**6, 5 * 10**9))  # real ids are 7 to 10 digit integers
        if value not in used:
            used.add(value)
            return value


def _labels(study_index: int, rng: np.random.Generator) -> dict[tuple[str, str], str]:
    """The 25 severities of a study: scripted for studies 0-2, random after (with a few blanks)."""
    keys = [(condition, level) for condition in CONDITIONS for level in LEVELS]
    if study_index in (0, 1, 2):
        return {key: _SCRIPTED.get(study_index, {}).get(key, _NORMAL) for key in keys}
    choices = (_NORMAL, _MODERATE, _SEVERE, "")
    drawn = rng.choice(len(choices), size=len(keys), p=(0.6, 0.22, 0.12, 0.06))
    return {key: choices[int(index)] for key, index in zip(keys, drawn, strict=True)}


def _point(condition: str, level: str, description: str, rng: np.random.Generator) -> tuple[float, float]:
    """Where the MRI phantom draws that condition at that level, give or take a pixel."""
    jitter = rng.uniform(-1.5, 1.5, size=2)
    if description.startswith("Axial"):
        side = -1 if condition.startswith("Left") else 1
        return IMAGE_SIZE * (0.5 + side * 0.12) + jitter[0], IMAGE_SIZE * 0.6 + jitter[1]
    disc_y = 0.08 * IMAGE_SIZE + (LEVELS.index(level) + 1) * 0.84 * IMAGE_SIZE / 6
    x = 0.62 if condition == "Spinal Canal Stenosis" else 0.78
    return IMAGE_SIZE * x + jitter[0], disc_y + jitter[1]


def _phantom_spec(marks: _Marks, labels: dict[tuple[str, str], str], seed: int) -> PhantomSpec:
    """The worst disease marked on the slice at its Moderate-or-worse levels, else a healthy phantom."""
    ranked = [
        (RSNA_SEVERITIES.index(labels[(condition, level)]), RSNA_CONDITIONS[condition], level)
        for condition in marks.conditions
        for level in marks.levels
        if labels[(condition, level)] in (_MODERATE, _SEVERE)
    ]
    if not ranked:
        return PhantomSpec(HEALTHY, size=IMAGE_SIZE, seed=seed, modality="mri")
    disease = max(ranked)[1]
    diseased = tuple(sorted({level for _, name, level in ranked if name == disease}, key=LEVELS.index))
    return PhantomSpec(disease, levels=diseased, size=IMAGE_SIZE, seed=seed)


_README: Final = """SYNTHETIC DATA - NOT THE RSNA 2024 LUMBAR SPINE DATASET AND NOT PATIENT DATA

Written by spinebench (write_synthetic_rsna_lumbar, seed={seed}, studies={studies}) for tests and demos.
The images are procedural MRI-like phantoms; patient names, ids and dates in the DICOM files are random.
The layout copies the Kaggle training set: train.csv, train_label_coordinates.csv,
train_series_descriptions.csv and train_images/<study_id>/<series_id>/<instance_number>.dcm.
"""
