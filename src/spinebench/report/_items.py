"""The item viewer's rows: each question with its image, truth, and every run's answer and raw response.

A report holds at most `max_items` questions (default 3,000: all of SpineBench-Sub). Larger question sets
are sampled with a seed, spread across tasks and diseases, and kept in benchmark order; the report says how
many of how many it shows. Only thumbnails are embedded, and raw responses are read only for the questions
shown, so memory follows the number of items, not the size of the runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from spinebench.benchmark import Question
from spinebench.metrics import Outcome, rotation_id, rotations, unrotate_letter
from spinebench.prediction import Prediction
from spinebench.taxonomy import LETTERS

Status = Literal["right", "wrong", "error", "pending", "absent"]
# One character per run in `data-outcomes`, read by the viewer's filters.
STATUS_CODES: Mapping[Status, str] = {"right": "1", "wrong": "0", "error": "e", "pending": "p", "absent": "n"}


@dataclass(frozen=True, slots=True)
class RotationAnswer:
    """One rotation's answer, named by the original option letters so rotations can be read side by side."""

    rotation: int
    letters: tuple[str, ...]
    status: Status


@dataclass(frozen=True, slots=True)
class RunAnswer:
    run: str
    status: Status
    letters: tuple[str, ...]
    stage: str | None
    response: str | None
    error: str | None
    rotations: tuple[RotationAnswer, ...] = ()

    @property
    def circular_status(self) -> Status | None:
        if not self.rotations:
            return None
        statuses = {r.status for r in self.rotations} | {self.status}
        for worst in ("pending", "error", "wrong"):
            if worst in statuses:
                return worst
        return "right"


@dataclass(frozen=True, slots=True)
class Item:
    question: Question
    answers: tuple[RunAnswer, ...]

    @property
    def outcome_codes(self) -> str:
        return "".join(STATUS_CODES[answer.status] for answer in self.answers)

    def texts(self, letters: Sequence[str]) -> str:
        """The option texts of letters of this question (rotation 0), for reading an answer at a glance."""
        return ", ".join(
            self.question.options[LETTERS.index(x)] for x in letters if x in self.question.letters
        )

    def option_rows(self) -> list[tuple[str, str, bool]]:
        return [
            (letter, text, letter in self.question.answer)
            for letter, text in zip(LETTERS, self.question.options, strict=False)
        ]


def select_items(questions: Sequence[Question], max_items: int, seed: int) -> list[Question]:
    """All questions if they fit; else a seeded sample stratified by task and disease, in benchmark order."""
    if len(questions) <= max_items:
        return list(questions)
    strata: dict[tuple[str, str], list[int]] = {}
    for index, question in enumerate(questions):
        strata.setdefault((question.task, question.disease), []).append(index)
    keys = sorted(strata)
    # Proportional allocation, at least one per stratum. Rounding can overshoot the cap: the excess comes off
    # the largest allocations, so no stratum loses its only question while the cap has room for it.
    takes = {
        key: min(len(strata[key]), max(1, round(max_items * len(strata[key]) / len(questions))))
        for key in keys
    }
    excess = sum(takes.values()) - max_items
    while excess > 0 and max(takes.values()) > 1:
        takes[max(keys, key=takes.__getitem__)] -= 1
        excess -= 1
    rng = np.random.default_rng(seed)
    chosen: list[int] = []
    for key in keys:
        chosen.extend(int(i) for i in rng.choice(strata[key], size=takes[key], replace=False))
    if len(chosen) > max_items:  # more strata than the cap: a seeded pick among them
        chosen = [int(i) for i in rng.permutation(chosen)[:max_items]]
    return [questions[i] for i in sorted(chosen)]


def _status(outcome: Outcome, in_run: bool) -> Status:
    if not in_run:
        return "absent"
    if outcome.prediction is None:
        return "pending"
    if outcome.prediction.failed:
        return "error"
    return "right" if outcome.exact else "wrong"


def run_answer(
    label: str, question: Question, predictions: Mapping[str, Prediction], *, in_run: bool, circular: bool
) -> RunAnswer:
    prediction = predictions.get(question.id)
    status = _status(Outcome(question, prediction), in_run)
    turned: list[RotationAnswer] = []
    if circular and in_run and not question.multiple:
        n = len(question.options)
        for rotated in rotations(question)[1:]:
            k = len(turned) + 1
            answer = predictions.get(rotation_id(question.id, k))
            original = (
                tuple(unrotate_letter(x, k, n) for x in answer.letters if x in rotated.letters)
                if answer
                else ()
            )
            turned.append(RotationAnswer(k, original, _status(Outcome(rotated, answer), in_run)))
    error = None
    if prediction is not None and prediction.error is not None:
        error = f"{prediction.error.get('kind', 'error')}: {prediction.error.get('message', '')}"
    return RunAnswer(
        run=label,
        status=status,
        letters=prediction.letters if prediction else (),
        stage=prediction.stage if prediction else None,
        response=prediction.response if prediction else None,
        error=error,
        rotations=tuple(turned),
    )
