"""Image reliance and paraphrase intervals cluster on patients, with the clustered paired tests."""

from __future__ import annotations

from dataclasses import replace

import pytest

from spinebench.benchmark import Question
from spinebench.metrics import image_reliance, paraphrase_id, paraphrase_scores
from spinebench.prediction import Prediction
from spinebench.questions import DIAGNOSIS_WORDINGS

OPTIONS = ("Osteophytes", "Healthy", "Spondylolisthesis", "Vertebral collapse", "Disc space narrowing")
PATIENTS, PER_PATIENT = 8, 5


def _questions(*, with_patients: bool = True) -> list[Question]:
    """Five questions (five images) for each of eight patients; the right answer is always C."""
    return [
        Question(
            f"q{n:02d}",
            "SDD",
            f"images/{n:02d}.png",
            DIAGNOSIS_WORDINGS[0],
            OPTIONS,
            ("C",),
            OPTIONS[2],
            "synthetic",
            "xray",
            patient=f"p{n // PER_PATIENT}" if with_patients else None,
        )
        for n in range(PATIENTS * PER_PATIENT)
    ]


def _by_patient(questions: list[Question], right: set[int]) -> dict[str, Prediction]:
    return {
        q.id: Prediction(
            q.id, "", letters=("C" if int(q.id[1:]) // PER_PATIENT in right else "A",), stage="strict"
        )
        for q in questions
    }


def test_reliance_clusters_on_patients_and_uses_the_clustered_paired_tests() -> None:
    questions = _questions()
    real = _by_patient(questions, set(range(PATIENTS)))
    control = _by_patient(questions, {0, 1, 2, 3})  # half the patients lose every answer together
    sdd = image_reliance(questions, real, control)["SDD"]
    assert sdd["paired"] == 40 and sdd["clusters"] == PATIENTS
    assert sdd["reliance"] == pytest.approx(0.5)
    # Four informative clusters of +5 each: the exact sign-flip p is 2 / 2^4 (plain McNemar, 20 vs 0
    # discordant questions, would say 2e-6 as if the 40 questions were independent).
    assert sdd["test"]["sign_flip_exact"] and sdd["test"]["p_sign_flip"] == pytest.approx(0.125)
    assert sdd["test"]["p_clustered_mcnemar"] == pytest.approx(0.0455, abs=1e-3)
    assert sdd["test"]["only_real_correct"] == 20 and sdd["test"]["only_control_correct"] == 0
    assert "mcnemar" not in sdd

    # The same answers without patients cluster on the 40 images: a narrower interval, a smaller p.
    unclustered = _questions(with_patients=False)
    by_image = image_reliance(unclustered, real, control)["SDD"]
    assert by_image["clusters"] == 40 and by_image["test"]["p_sign_flip"] < 0.001
    assert sdd["ci"][1] - sdd["ci"][0] > by_image["ci"][1] - by_image["ci"][0]


def test_paraphrase_intervals_cluster_on_patients() -> None:
    questions = _questions()
    predictions = {}
    for question in questions:
        right = int(question.id[1:]) // PER_PATIENT < 4  # half the patients right in every wording
        for j in range(2):
            pid = paraphrase_id(question.id, j)
            predictions[pid] = Prediction(pid, "", letters=("C" if right else "A",), stage="strict")
    clustered = paraphrase_scores(questions, predictions, 2)["SDD"]
    by_image = paraphrase_scores([replace(q, patient=None) for q in questions], predictions, 2)["SDD"]
    first, first_by_image = clustered["accuracy_by_wording"][0], by_image["accuracy_by_wording"][0]
    assert first["value"] == pytest.approx(0.5) and first["clusters"] == PATIENTS
    assert first_by_image["clusters"] == 40 and first["ci_method"] == "wilson-cluster"
    assert first["ci"][1] - first["ci"][0] > first_by_image["ci"][1] - first_by_image["ci"][0]
    assert clustered["consistency"]["value"] == 1.0 and clustered["consistency"]["clusters"] == PATIENTS
