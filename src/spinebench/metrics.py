"""Scores of a run, per the SpineBench protocol.

- SDD: accuracy = correct / scored.
- SLL: exact-set accuracy, and precision, recall and F1 computed per question and then averaged over the
  scored questions (sample-averaged, the usual choice for multi-label answers); an unparsed or refused answer
  is the empty set, with precision, recall and F1 of 0.
- Overall = mean of SDD accuracy and SLL exact-set accuracy (None when either task has no scored question).
- Unparsed and refused answers are scored as wrong. Infrastructure errors and unanswered questions are not
  scored at all; they make the run "incomplete".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from spinebench.benchmark import Question
from spinebench.taxonomy import TASKS

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    from spinebench.run import Prediction


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one question came out: the unit that every aggregate (and bootstrap) is built from."""

    question: Question
    prediction: Prediction | None

    @property
    def scored(self) -> bool:
        return self.prediction is not None and not self.prediction.failed

    @property
    def exact(self) -> bool:
        return self.scored and self.prediction is not None and self.prediction.letters == self.question.answer

    def precision_recall_f1(self) -> tuple[float, float, float]:
        chosen = set(self.prediction.letters) if self.prediction is not None else set()
        truth = set(self.question.answer)
        hits = len(chosen & truth)
        precision = hits / len(chosen) if chosen else 0.0
        recall = hits / len(truth)
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        return precision, recall, f1


def outcomes(questions: Iterable[Question], predictions: Mapping[str, Prediction]) -> Iterator[Outcome]:
    for question in questions:
        yield Outcome(question, predictions.get(question.id))


@dataclass
class Tally:
    """Running totals for one group of questions of one task."""

    questions: int = 0
    scored: int = 0
    correct: int = 0
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    errors: int = 0
    pending: int = 0
    stages: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.questions += 1
        prediction = outcome.prediction
        if prediction is None:
            self.pending += 1
            return
        if prediction.failed:
            self.errors += 1
            return
        self.scored += 1
        self.correct += outcome.exact
        stage = prediction.stage or "unparsed"
        self.stages[stage] = self.stages.get(stage, 0) + 1
        if outcome.question.multiple:
            precision, recall, f1 = outcome.precision_recall_f1()
            self.precision += precision
            self.recall += recall
            self.f1 += f1

    def summary(self, multiple: bool) -> dict[str, Any]:
        def mean(total: float) -> float | None:
            return round(total / self.scored, 6) if self.scored else None

        result: dict[str, Any] = {
            "questions": self.questions,
            "scored": self.scored,
            "correct": self.correct,
            "accuracy": mean(self.correct),
        }
        if multiple:
            result |= {"precision": mean(self.precision), "recall": mean(self.recall), "f1": mean(self.f1)}
        result |= {
            "errors": self.errors,
            "pending": self.pending,
            "unparsed": self.stages.get("unparsed", 0),
            "refused": self.stages.get("refused", 0),
            "stages": dict(sorted(self.stages.items())),
        }
        return result


def score_run(questions: Iterable[Question], predictions: Mapping[str, Prediction]) -> dict[str, Any]:
    """The scores.json record of a run: totals per task, breakdowns, counts, completeness."""
    tasks = {task: Tally() for task in TASKS}
    breakdowns: dict[str, dict[str, dict[str, Tally]]] = {"disease": {}, "source": {}, "modality": {}}
    error_kinds: dict[str, int] = {}
    for outcome in outcomes(questions, predictions):
        question = outcome.question
        tasks[question.task].add(outcome)
        for key, value in (
            ("disease", question.disease),
            ("source", question.source),
            ("modality", question.modality),
        ):
            breakdowns[key].setdefault(question.task, {}).setdefault(value, Tally()).add(outcome)
        if outcome.prediction is not None and outcome.prediction.error is not None:
            kind = outcome.prediction.error.get("kind", "unknown")
            error_kinds[kind] = error_kinds.get(kind, 0) + 1

    task_scores = {task: tally.summary(task == "SLL") for task, tally in tasks.items() if tally.questions}
    errors = sum(t.errors for t in tasks.values())
    pending = sum(t.pending for t in tasks.values())
    sdd = task_scores.get("SDD", {}).get("accuracy")
    sll = task_scores.get("SLL", {}).get("accuracy")
    return {
        "status": "complete" if errors == 0 and pending == 0 else "incomplete",
        "overall": round((sdd + sll) / 2, 6) if sdd is not None and sll is not None else None,
        "counts": {
            "questions": sum(t.questions for t in tasks.values()),
            "scored": sum(t.scored for t in tasks.values()),
            "errors": errors,
            "pending": pending,
            "unparsed": sum(t.stages.get("unparsed", 0) for t in tasks.values()),
            "refused": sum(t.stages.get("refused", 0) for t in tasks.values()),
            "errors_by_kind": dict(sorted(error_kinds.items())),
        },
        "tasks": task_scores,
        **{
            f"by_{key}": {
                task: {value: tally.summary(task == "SLL") for value, tally in sorted(groups.items())}
                for task, groups in sorted(per_task.items())
            }
            for key, per_task in breakdowns.items()
        },
    }
