from __future__ import annotations

import numpy as np

from spinebench.catalog import CatalogEntry
from spinebench.questions import (
    DIAGNOSIS_WORDINGS,
    LOCALIZATION_WORDINGS,
    asked_disease,
    exclusion_matrix,
    generate_questions,
    rank_classes,
)
from spinebench.sources import Finding
from spinebench.taxonomy import DISEASE_NAMES, HEALTHY, LEVELS


def _entry(index: int, *findings: Finding, source: str = "vindr") -> CatalogEntry:
    image_id = f"{index:064x}"
    return CatalogEntry(
        image_id=image_id, image=f"images/{image_id[:2]}/{image_id}.png", source=source, modality="xray",
        view="lateral", findings=findings, record=f"r{index}", patient=None, study=None, width=8, height=8,
    )  # fmt: skip


ENTRIES = [
    _entry(1, Finding("Osteophytes"), Finding("Disc space narrowing")),
    _entry(2),
    _entry(
        3, Finding("Spinal canal stenosis", ("L4/L5",)), Finding("Spinal canal stenosis", ("L5/S1", "T12/L1"))
    ),
    _entry(4, Finding("Foraminal stenosis", ("T11/T12",))),
    _entry(5, Finding("Spondylolisthesis", ("L1/L2", "L3/L4")), source="buu"),
]
COUNTS = {"Osteophytes": 40, "Disc space narrowing": 12, "Spinal canal stenosis": 5}


def _ranked(seed: int = 0) -> np.ndarray:
    similarities = (
        np.random.default_rng(seed).uniform(size=(len(ENTRIES), len(DISEASE_NAMES))).astype(np.float32)
    )
    return rank_classes(similarities, exclusion_matrix(ENTRIES), 4)


def test_wording_pools_are_large_and_distinct() -> None:
    assert len(set(DIAGNOSIS_WORDINGS)) == len(DIAGNOSIS_WORDINGS) >= 8
    assert len(set(LOCALIZATION_WORDINGS)) == len(LOCALIZATION_WORDINGS) >= 8
    assert all("{disease}" in wording for wording in LOCALIZATION_WORDINGS)
    assert not any("{" in wording for wording in DIAGNOSIS_WORDINGS)


def test_a_multi_disease_image_is_asked_about_its_rarest_disease() -> None:
    assert asked_disease(("Disc space narrowing", "Osteophytes"), COUNTS) == "Disc space narrowing"
    assert asked_disease(("Osteophytes", "Vertebral collapse"), {"Osteophytes": 1}) == "Vertebral collapse"
    assert asked_disease((HEALTHY,), COUNTS) == HEALTHY
    # A tie goes to taxonomy order.
    assert asked_disease(("Osteophytes", "Disc space narrowing"), {}) == "Disc space narrowing"


def test_diagnosis_options_are_truth_hard_negatives_and_healthy() -> None:
    images = [e.image for e in ENTRIES]
    ranked = _ranked()
    made = generate_questions(ENTRIES, images, ranked, COUNTS, seed=0)
    assert [q.id for q in made.diagnosis] == [f"sdd-{e.image_id[:16]}" for e in ENTRIES]
    for row, (entry, question) in enumerate(zip(ENTRIES, made.diagnosis, strict=True)):
        assert len(question.options) == len(set(question.options)) == 5
        assert question.answer_texts == (question.disease,)
        assert HEALTHY in question.options
        others = set(question.options) - {question.disease, HEALTHY}
        assert not others & set(entry.diseases)
        wanted = 4 if question.disease == HEALTHY else 3
        assert others == {DISEASE_NAMES[c] for c in ranked[row, :wanted]}
        assert question.question in DIAGNOSIS_WORDINGS
        assert (question.source, question.modality, question.image) == (
            entry.source,
            entry.modality,
            entry.image,
        )
    assert made.diagnosis[0].disease == "Disc space narrowing"
    assert made.diagnosis[1].disease == HEALTHY


def test_localization_answers_are_the_catalogue_levels() -> None:
    made = generate_questions(ENTRIES, [e.image for e in ENTRIES], _ranked(), COUNTS, seed=0)
    by_id = {q.id: q for q in made.localization}
    assert set(by_id) == {f"sll-{ENTRIES[2].image_id[:16]}-scs", f"sll-{ENTRIES[4].image_id[:16]}-spl"}
    stenosis = by_id[f"sll-{ENTRIES[2].image_id[:16]}-scs"]
    assert sorted(stenosis.options) == sorted(LEVELS)
    assert set(stenosis.answer_texts) == {"L4/L5", "L5/S1"}  # both findings merged; T12/L1 is not asked
    assert "spinal canal stenosis" in stenosis.question and stenosis.disease == "Spinal canal stenosis"
    assert set(by_id[f"sll-{ENTRIES[4].image_id[:16]}-spl"].answer_texts) == {"L1/L2", "L3/L4"}
    assert [s.question_id for s in made.skipped] == [f"sll-{ENTRIES[3].image_id[:16]}-fs"]
    assert "T11/T12" in made.skipped[0].reason


def test_the_seed_reshuffles_options_and_each_question_stands_alone() -> None:
    images = [e.image for e in ENTRIES]
    first = generate_questions(ENTRIES, images, _ranked(), COUNTS, seed=0)
    again = generate_questions(ENTRIES, images, _ranked(), COUNTS, seed=0)
    other = generate_questions(ENTRIES, images, _ranked(), COUNTS, seed=1)
    assert first.diagnosis == again.diagnosis and first.localization == again.localization
    assert [q.options for q in first.diagnosis] != [q.options for q in other.diagnosis]
    assert [set(q.options) for q in first.diagnosis] == [set(q.options) for q in other.diagnosis]
    alone = generate_questions(ENTRIES[2:3], images[2:3], _ranked()[2:3], COUNTS, seed=0)
    assert alone.diagnosis[0] == first.diagnosis[2]


def test_too_few_distractors_skips_the_question_with_a_reason() -> None:
    ranked = np.full((1, 4), -1, dtype=np.int64)
    ranked[0, :2] = [0, 1]
    made = generate_questions(ENTRIES[1:2], [ENTRIES[1].image], ranked, COUNTS, seed=0)
    assert not made.diagnosis
    assert "only 2 other diseases" in made.skipped[0].reason
