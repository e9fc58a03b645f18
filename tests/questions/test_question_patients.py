"""Every generated question carries its catalogue entry's patient pseudonym (what intervals cluster on)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from spinebench.catalog import CatalogEntry
from spinebench.questions import exclusion_matrix, generate_questions, rank_classes
from spinebench.sources import Finding
from spinebench.taxonomy import DISEASE_NAMES


def _entry(index: int, patient: str | None, *findings: Finding) -> CatalogEntry:
    image_id = f"{index:064x}"
    return CatalogEntry(
        image_id=image_id, image=f"images/{image_id[:2]}/{image_id}.png", source="rsna", modality="mri",
        view="sagittal", findings=findings, record=f"r{index}", patient=patient, study=None,
        width=8, height=8,
    )  # fmt: skip


def test_diagnosis_and_localization_questions_carry_the_patient() -> None:
    stenosis = Finding("Spinal canal stenosis", ("L4/L5",))
    entries = [_entry(1, "p-aa", stenosis), _entry(2, "p-aa", stenosis), _entry(3, None, stenosis)]
    entries.append(replace(_entry(4, "p-bb"), findings=(Finding("Osteophytes"),)))
    similarities = np.random.default_rng(0).uniform(size=(len(entries), len(DISEASE_NAMES)))
    ranked = rank_classes(similarities.astype(np.float32), exclusion_matrix(entries), 4)
    images = [e.image for e in entries]
    made = generate_questions(entries, images, ranked, {"Spinal canal stenosis": 3, "Osteophytes": 1}, seed=0)
    patients = {q.image: q.patient for q in made.diagnosis + made.localization}
    assert patients == {images[0]: "p-aa", images[1]: "p-aa", images[2]: None, images[3]: "p-bb"}
    sll = [q for q in made.localization if q.patient == "p-aa"]
    assert len(sll) == 2 and len({q.cluster for q in sll}) == 1  # two images of one patient: one cluster
    assert next(q for q in made.diagnosis if q.patient is None).cluster == f"image:{images[2]}"
