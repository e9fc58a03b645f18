"""Paraphrase evaluation: each question asked in K wordings of the question pool; how alike the answers are.

Wording 0 is the question's own; wordings 1..K-1 (prediction ids "Q@p<j>") are the pool's next ones after
it, in pool order and wrapping round (the pool's first ones when its own wording is not from the pool, as
for an imported release). Options, answer and image are unchanged, so any change of answer is the wording's.

- accuracy per wording j: over the questions whose wording j was scored;
- consistency: the share of questions, among those with all K wordings scored, where all K answers are the
  same set of letters; `consistent_correct` those where all K are also right.

Every interval is clustered on patients (images where unknown), Wilson at the clustered effective size, as
for the accuracies of scores.json: a patient's questions, and a question's K wordings, are not independent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from spinebench.benchmark import Question
from spinebench.metrics._cells import CellInterval, Columns
from spinebench.metrics._outcome import Outcome
from spinebench.questions import DIAGNOSIS_WORDINGS, LOCALIZATION_WORDINGS
from spinebench.stats import WILSON_CLUSTER, BootstrapSettings

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
    if question.task == "SSG":
        return []  # no pool of severity wordings yet: a graded question has only its own wording
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
    """Per task: accuracy under each wording, consistency and consistent-and-right, each with its interval
    (Wilson at the effective size clustered on patients, as every accuracy and rate of scores.json)."""
    settings = bootstrap or BootstrapSettings()
    columns = Columns()
    sums: dict[tuple[str, str], list[float]] = {}  # (task, cell) -> [sum of values, count]

    def add(cluster: str, key: tuple[str, str], value: float) -> None:
        columns.add(cluster, key, value)
        total = sums.setdefault(key, [0.0, 0.0])
        total[0] += value
        total[1] += 1

    counts: dict[str, int] = {}
    complete: dict[str, int] = {}
    for question in questions:
        task = question.task
        counts[task] = counts.get(task, 0) + 1
        outcomes = [Outcome(v, predictions.get(v.id)) for v in paraphrases(question, k)]
        for j, outcome in enumerate(outcomes):
            if outcome.scored:
                add(question.cluster, (task, str(j)), float(outcome.exact))
        if all(o.scored for o in outcomes):
            answers = {frozenset(o.prediction.letters) for o in outcomes if o.prediction is not None}
            same = len(answers) == 1
            complete[task] = complete.get(task, 0) + 1
            add(question.cluster, (task, "consistency"), float(same))
            right = same and all(o.exact for o in outcomes)
            add(question.cluster, (task, "consistent_correct"), float(right))
    intervals, _ = columns.intervals(settings)
    result: dict[str, Any] = {}
    for name in sorted(counts):

        def cell(metric: str, task: str = name) -> dict[str, Any]:
            return _cell(sums.get((task, metric)), intervals.get((task, metric)))

        result[name] = {
            "wordings": k,
            "questions": counts[name],
            # Questions with every wording scored; the rest have one pending or failed.
            "questions_complete": complete.get(name, 0),
            "accuracy_by_wording": [cell(str(j)) for j in range(k)],
            "consistency": cell("consistency"),
            "consistent_correct": cell("consistent_correct"),
        }
    return result


def _cell(total: list[float] | None, interval: CellInterval | None) -> dict[str, Any]:
    if total is None or interval is None:
        return {"value": None, "ci": None, "ci_method": WILSON_CLUSTER, "scored": 0, "clusters": 0}
    value, scored = total[0] / total[1], int(total[1])
    return {
        "value": round(value, 6),
        "ci": interval.ci,
        "ci_method": interval.method,
        "scored": scored,
        "clusters": interval.clusters,
    }
