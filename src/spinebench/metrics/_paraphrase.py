"""Paraphrase evaluation: each question asked in K wordings of the question pool; how alike the answers are.

Wording 0 is the question's own; wordings 1..K-1 (prediction ids "Q@p<j>") are the pool's next ones after
it, in pool order and wrapping round (the pool's first ones when its own wording is not from the pool, as
for an imported release). Options, answer and image are unchanged, so any change of answer is the wording's.

- accuracy per wording j: over the questions whose wording j was scored;
- consistency: the share of questions, among those with all K wordings scored, where all K answers are the
  same set of letters; `consistent_correct` those where all K are also right.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from spinebench.benchmark import Question
from spinebench.metrics._outcome import Outcome
from spinebench.questions import DIAGNOSIS_WORDINGS, LOCALIZATION_WORDINGS
from spinebench.stats import BootstrapSettings, bootstrap_ci

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    from spinebench.prediction import Prediction

PARAPHRASE_MARK: Final = "@p"
_PARAPHRASE_ID: Final = re.compile(r"^(?P<question>.+)@p(?P<j>[1-9][0-9]*)$")


def paraphrase_id(question_id: str, j: int) -> str:
    """The prediction id of wording j of a question (wording 0 is the question's own id)."""
    return question_id if j == 0 else f"{question_id}{PARAPHRASE_MARK}{j}"


class ParaphraseId(NamedTuple):
    question_id: str
    wording: int


def split_paraphrase_id(prediction_id: str) -> ParaphraseId:
    match = _PARAPHRASE_ID.match(prediction_id)
    return ParaphraseId(match["question"], int(match["j"])) if match else ParaphraseId(prediction_id, 0)


def _pool(question: Question) -> list[str]:
    if question.multiple:
        return [w.format(disease=question.disease.lower()) for w in LOCALIZATION_WORDINGS]
    return list(DIAGNOSIS_WORDINGS)


def max_paraphrases(question: Question) -> int:
    """How many distinct wordings a question can be asked in (its own and the pool's)."""
    pool = _pool(question)
    return len(pool) if question.question in pool else len(pool) + 1


def paraphrases(question: Question, k: int) -> list[Question]:
    """The question in k wordings, its own first. Raises ValueError when the pool has fewer."""
    if k < 1:
        raise ValueError(f"paraphrases must be at least 1, not {k}")
    if k > max_paraphrases(question):
        raise ValueError(
            f"question {question.id}: the question pool has {max_paraphrases(question)} wordings, not {k}"
        )
    pool = _pool(question)
    start = pool.index(question.question) + 1 if question.question in pool else 0
    others = [pool[(start + i) % len(pool)] for i in range(len(pool))]
    others = [wording for wording in others if wording != question.question]
    return [question] + [
        replace(question, id=paraphrase_id(question.id, j), question=others[j - 1]) for j in range(1, k)
    ]


def paraphrase_scores(
    questions: Iterable[Question],
    predictions: Mapping[str, Prediction],
    k: int,
    *,
    bootstrap: BootstrapSettings | None = None,
) -> dict[str, Any]:
    """Per task: accuracy under each wording (with intervals), consistency and consistent-and-right."""
    settings = bootstrap or BootstrapSettings()
    by_wording: dict[str, list[tuple[list[str], list[float]]]] = {}
    complete: dict[str, list[tuple[str, bool, bool]]] = {}
    counts: dict[str, int] = {}
    for question in questions:
        counts[question.task] = counts.get(question.task, 0) + 1
        outcomes = [Outcome(v, predictions.get(v.id)) for v in paraphrases(question, k)]
        columns = by_wording.setdefault(question.task, [([], []) for _ in range(k)])
        for j, outcome in enumerate(outcomes):
            if outcome.scored:
                columns[j][0].append(question.image)
                columns[j][1].append(float(outcome.exact))
        if all(o.scored for o in outcomes):
            answers = {frozenset(o.prediction.letters) for o in outcomes if o.prediction is not None}
            same = len(answers) == 1
            complete.setdefault(question.task, []).append(
                (question.image, same, same and all(o.exact for o in outcomes))
            )
    result: dict[str, Any] = {}
    for task in sorted(by_wording):
        rows = complete.get(task, [])
        images = [image for image, _, _ in rows]
        entry: dict[str, Any] = {
            "wordings": k,
            "questions": counts[task],
            # Questions with every wording scored; the rest have one pending or failed.
            "questions_complete": len(rows),
            "accuracy_by_wording": [
                _mean_ci(values, clusters, settings) for clusters, values in by_wording[task]
            ],
            "consistency": _mean_ci([float(s) for _, s, _ in rows], images, settings),
            "consistent_correct": _mean_ci([float(c) for _, _, c in rows], images, settings),
        }
        result[task] = entry
    return result


def _mean_ci(values: list[float], clusters: list[str], settings: BootstrapSettings) -> dict[str, Any]:
    if not values:
        return {"value": None, "ci": None, "scored": 0}
    ci = bootstrap_ci(values, clusters, settings)
    return {
        "value": round(sum(values) / len(values), 6),
        "ci": ci.rounded() if ci is not None else None,
        "scored": len(values),
    }
