"""scores.json bytes of a fixed random run: an optimisation of scoring must leave every number as it was.

Random SDD/SLL/SSG questions (patient and image clusters), random answers, errors and missing ones, scored
plain and circular. The digest was recorded with the scoring code before issue 18's memory work (main at
04e7401) and is unchanged by it. If a deliberate change of a metric alters it, check the new scores by hand
and record the new digest here, saying why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import random

import pytest

from spinebench.benchmark import Question
from spinebench.metrics import rotations, score_run
from spinebench.prediction import LeanPredictions, Prediction
from spinebench.stats import _bootstrap
from spinebench.taxonomy import ANSWER_CLASSES, LETTERS, LEVELS, SEVERITY_GRADES

RECORDED = "c1a392a16850e231b11920eb17512980bcd4388b363037e8fc1e8ddc7f26b7bf"
CONDITIONS = ("Spinal Canal Stenosis", "Left Neural Foraminal Narrowing")


def _case(n: int, seed: int = 1) -> tuple[list[Question], dict[str, Prediction]]:
    rng = random.Random(seed)
    questions = []
    for i in range(n):
        task = rng.choice(["SDD", "SDD", "SLL", "SSG"])
        patient = f"p{rng.randrange(n // 3)}" if rng.random() < 0.6 else None
        source = rng.choice(["vindr", "rsna", "csxa", "buu"])
        image = f"images/{i // 2:06d}.png"
        if task == "SDD":
            options = tuple(rng.sample(ANSWER_CLASSES, 5))
            answer = (rng.choice(LETTERS[:5]),)
            disease = options[LETTERS.index(answer[0])]
            questions.append(
                Question(
                    f"q{i}", "SDD", image, "q", options, answer, disease, source, "xray", patient=patient
                )
            )
        elif task == "SLL":
            answer = tuple(sorted(rng.sample(LETTERS[:5], rng.randint(1, 2))))
            disease = rng.choice(ANSWER_CLASSES[:-1])
            questions.append(
                Question(f"q{i}", "SLL", image, "q", LEVELS, answer, disease, source, "mri", patient=patient)
            )
        else:
            answer = (rng.choice(LETTERS[: len(SEVERITY_GRADES)]),)
            questions.append(
                Question(
                    f"q{i}",
                    "SSG",
                    image,
                    "q",
                    SEVERITY_GRADES,
                    answer,
                    rng.choice(CONDITIONS),
                    "rsna",
                    "mri",
                    patient=patient,
                    level=rng.choice(LEVELS),
                )
            )
    predictions = {}
    for question in questions:
        for turned in rotations(question):
            x = rng.random()
            if x < 0.03:
                continue
            if x < 0.06:
                predictions[turned.id] = Prediction(turned.id, None, error={"kind": "server", "message": "m"})
                continue
            k = 2 if question.multiple and rng.random() < 0.5 else (0 if rng.random() < 0.05 else 1)
            letters = tuple(sorted(rng.sample(list(turned.letters), k)))
            stage = "unparsed" if not letters else rng.choice(["strict", "tolerant"])
            predictions[turned.id] = Prediction(turned.id, "x", letters, stage)
    return questions, predictions


def _digest(questions: list[Question], predictions: dict[str, Prediction] | LeanPredictions) -> str:
    both = {
        "plain": score_run(questions, predictions, circular=False),
        "circular": score_run(questions, predictions, circular=True),
    }
    return hashlib.sha256(json.dumps(both, sort_keys=True).encode()).hexdigest()


def test_scores_are_the_bytes_recorded_before() -> None:
    questions, predictions = _case(2000)
    assert _digest(questions, predictions) == RECORDED


def test_nor_do_they_change_with_the_bootstrap_block_or_lean_predictions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    questions, predictions = _case(2000)
    monkeypatch.setattr(_bootstrap, "_BLOCK_WEIGHTS", 3 * 2000)  # a few resamples per block
    lean = LeanPredictions()
    for prediction in predictions.values():
        lean.add(prediction)
    assert _digest(questions, lean) == RECORDED
