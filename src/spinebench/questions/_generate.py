"""Catalogue entries + ranked distractors -> SDD and SLL questions.

Every random choice of a question (its wording, its option order) comes from a generator seeded with the
build seed and the question id, so one question never depends on which other questions exist, and a
different seed reshuffles every question.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from spinebench.benchmark import Question
from spinebench.catalog import CatalogEntry
from spinebench.questions._paraphrases import DIAGNOSIS_WORDINGS, LOCALIZATION_WORDINGS
from spinebench.taxonomy import DISEASE_NAMES, DISEASES, HEALTHY, LETTERS, LEVELS

_ABBREVIATIONS = {d.name: d.abbreviation for d in DISEASES}
DIAGNOSIS_DISTRACTORS = 3  # plus Healthy and the truth: 5 options


@dataclass(frozen=True, slots=True)
class SkippedQuestion:
    """A question the build could not make, and why (reported in the build, never fatal)."""

    question_id: str
    image_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.question_id} (image {self.image_id[:16]}): {self.reason}"


@dataclass
class GeneratedQuestions:
    diagnosis: list[Question] = field(default_factory=list)
    localization: list[Question] = field(default_factory=list)
    skipped: list[SkippedQuestion] = field(default_factory=list)


def diagnosis_id(entry: CatalogEntry) -> str:
    return f"sdd-{entry.image_id[:16]}"


def localization_id(entry: CatalogEntry, disease: str) -> str:
    return f"sll-{entry.image_id[:16]}-{_ABBREVIATIONS[disease].lower()}"


def question_rng(seed: int, question_id: str) -> random.Random:
    return random.Random(f"{seed}:{question_id}")


def asked_disease(diseases: Sequence[str], counts: Mapping[str, int]) -> str:
    """The SDD truth of an image: its rarest disease in the catalogue (ties: taxonomy order).

    Rarest, because the common classes get plenty of questions from single-disease images; asking about
    the rare finding spends a multi-disease image where the benchmark is thinnest.
    """
    known = [d for d in diseases if d in DISEASE_NAMES]
    if not known:
        return HEALTHY
    return min(known, key=lambda d: (counts.get(d, 0), DISEASE_NAMES.index(d)))


def exclusion_matrix(entries: Sequence[CatalogEntry]) -> npt.NDArray[np.bool_]:
    """[n, 11]: the diseases each image has (none of them may be a distractor of its question)."""
    exclude = np.zeros((len(entries), len(DISEASE_NAMES)), dtype=np.bool_)
    for row, entry in enumerate(entries):
        for disease in entry.diseases:
            if disease in DISEASE_NAMES:
                exclude[row, DISEASE_NAMES.index(disease)] = True
    return exclude


def diagnosis_question(
    entry: CatalogEntry, image: str, truth: str, distractors: Sequence[str], seed: int
) -> Question:
    question_id = diagnosis_id(entry)
    rng = question_rng(seed, question_id)
    wording = rng.choice(DIAGNOSIS_WORDINGS)
    options = [truth, *distractors] + ([] if truth == HEALTHY else [HEALTHY])
    rng.shuffle(options)
    return Question(
        id=question_id,
        task="SDD",
        image=image,
        question=wording,
        options=tuple(options),
        answer=(LETTERS[options.index(truth)],),
        disease=truth,
        source=entry.source,
        modality=entry.modality,
        patient=entry.patient,
    )


def localization_questions(entry: CatalogEntry, image: str, seed: int) -> GeneratedQuestions:
    """One SLL question per disease of the image with level labels (levels of repeated findings merged)."""
    made = GeneratedQuestions()
    levels_of: dict[str, set[str]] = {}
    for finding in entry.findings:
        if finding.levels and finding.disease in DISEASE_NAMES:
            levels_of.setdefault(finding.disease, set()).update(finding.levels)
    for disease in sorted(levels_of, key=DISEASE_NAMES.index):
        question_id = localization_id(entry, disease)
        unknown = sorted(levels_of[disease] - set(LEVELS))
        levels = levels_of[disease] & set(LEVELS)
        if not levels:
            reason = f"levels {', '.join(unknown)} are not among {', '.join(LEVELS)}"
            made.skipped.append(SkippedQuestion(question_id, entry.image_id, reason))
            continue
        rng = question_rng(seed, question_id)
        wording = rng.choice(LOCALIZATION_WORDINGS).format(disease=disease.lower())
        order = list(LEVELS)
        rng.shuffle(order)
        made.localization.append(
            Question(
                id=question_id,
                task="SLL",
                image=image,
                question=wording,
                options=tuple(order),
                answer=tuple(sorted(LETTERS[order.index(level)] for level in levels)),
                disease=disease,
                source=entry.source,
                modality=entry.modality,
                patient=entry.patient,
            )
        )
    return made


def generate_questions(
    entries: Sequence[CatalogEntry],
    images: Sequence[str],
    ranked: npt.NDArray[np.int64],
    counts: Mapping[str, int],
    *,
    seed: int,
) -> GeneratedQuestions:
    """SDD for every image and SLL for every levelled finding, in catalogue order.

    `images[i]` is the benchmark path of entry i's image; `ranked[i]` its eligible disease codes, hardest
    first (from `select_hard_negatives`, at least 4 wide); `counts` the catalogue's images per disease.
    """
    made = GeneratedQuestions()
    for row, (entry, image) in enumerate(zip(entries, images, strict=True)):
        truth = asked_disease(entry.diseases, counts)
        wanted = DIAGNOSIS_DISTRACTORS + (1 if truth == HEALTHY else 0)
        codes = [int(code) for code in ranked[row, :wanted] if code >= 0]
        if len(codes) < wanted:
            reason = f"only {len(codes)} other diseases to offer as distractors, {wanted} needed"
            made.skipped.append(SkippedQuestion(diagnosis_id(entry), entry.image_id, reason))
        else:
            distractors = [DISEASE_NAMES[code] for code in codes]
            made.diagnosis.append(diagnosis_question(entry, image, truth, distractors, seed))
        levelled = localization_questions(entry, image, seed)
        made.localization.extend(levelled.localization)
        made.skipped.extend(levelled.skipped)
    return made
