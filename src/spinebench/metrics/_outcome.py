"""How each question came out, and running totals of outcomes: what every aggregate is built from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from spinebench.benchmark import Question
from spinebench.stats import (
    random_choice_chance,
    random_subset_chance,
)

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    from spinebench.prediction import Prediction


BREAKDOWNS: Final = ("disease", "source", "modality")
SLL_METRICS: Final = ("accuracy", "precision", "recall", "f1")


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
        # As sets, like precision and recall: predictions.jsonl is an interface, and a line written by
        # another tool may list the letters in any order ("C, A" is the answer "A, C").
        if not self.scored or self.prediction is None:
            return False
        return set(self.prediction.letters) == set(self.question.answer)

    def precision_recall_f1(self) -> tuple[float, float, float]:
        chosen = set(self.prediction.letters) if self.prediction is not None else set()
        truth = set(self.question.answer)
        hits = len(chosen & truth)
        precision = hits / len(chosen) if chosen else 0.0
        recall = hits / len(truth)
        f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
        return precision, recall, f1

    def values(self) -> dict[str, float]:
        """The per-question value of each metric of its task (means of these are the scores)."""
        if not self.question.multiple:
            return {"accuracy": float(self.exact)}
        precision, recall, f1 = self.precision_recall_f1()
        return {"accuracy": float(self.exact), "precision": precision, "recall": recall, "f1": f1}


def outcomes(questions: Iterable[Question], predictions: Mapping[str, Prediction]) -> Iterator[Outcome]:
    for question in questions:
        yield Outcome(question, predictions.get(question.id))


def question_chance(question: Question) -> dict[str, float]:
    """Expected metric values of a random answerer (uniform option; uniform non-empty subset for SLL)."""
    n = len(question.options)
    if not question.multiple:
        return {"accuracy": random_choice_chance(n)}
    chance = random_subset_chance(n, len(question.answer))
    return {"accuracy": chance.exact, "precision": chance.precision, "recall": chance.recall, "f1": chance.f1}


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
    chance: dict[str, float] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.questions += 1
        for metric, value in question_chance(outcome.question).items():
            self.chance[metric] = self.chance.get(metric, 0.0) + value
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
            "truncated": self.stages.get("truncated", 0),
            "stages": dict(sorted(self.stages.items())),
            # The chance line of the group's questions (all of them, so it is the same for every run).
            "chance": {m: round(v / self.questions, 6) for m, v in self.chance.items()}
            if self.questions
            else {},
        }
        return result
