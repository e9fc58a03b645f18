"""scores.json: totals per task and breakdown, with intervals, chance lines and circular scoring."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from spinebench.benchmark import Question
from spinebench.stats import (
    BootstrapSettings,
    bootstrap_ratios,
    circular_chance,
    percentile_intervals,
)
from spinebench.taxonomy import GRADING_TASK, LETTERS, PAPER_TASKS, TASKS

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    from spinebench.prediction import Prediction
from spinebench.metrics._outcome import BREAKDOWNS, SLL_METRICS, Outcome, Tally, outcomes
from spinebench.metrics._rotation import ROTATION_MARK, rotations, split_rotation_id
from spinebench.metrics._severity import severity_scores


@dataclass
class _CircularTally:
    questions: int = 0
    scored: int = 0
    correct: int = 0
    errors: int = 0
    pending: int = 0
    chance: float = 0.0

    def summary(self, rotations: int) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "scored": self.scored,
            "correct": self.correct,
            "errors": self.errors,
            "pending": self.pending,
            "rotations": rotations,
        }


class _Columns:
    """Per-question metric values keyed by the scores.json place they feed, for the one shared bootstrap."""

    def __init__(self) -> None:
        self.images: dict[str, int] = {}
        self.keys: dict[tuple[str, ...], int] = {}
        self._clusters: list[int] = []
        self._columns: list[int] = []
        self._values: list[float] = []

    def add(self, image: str, key: tuple[str, ...], value: float) -> None:
        self._clusters.append(self.images.setdefault(image, len(self.images)))
        self._columns.append(self.keys.setdefault(key, len(self.keys)))
        self._values.append(value)

    def intervals(self, settings: BootstrapSettings) -> dict[tuple[str, ...], list[float] | None]:
        n_clusters, n_columns = len(self.images), len(self.keys)
        if not n_columns:
            return {}
        cells = np.asarray(self._clusters, dtype=np.int64) * n_columns + np.asarray(self._columns)
        size = n_clusters * n_columns
        values = np.asarray(self._values, dtype=np.float64)
        numerators = np.bincount(cells, weights=values, minlength=size).astype(np.float64)
        numerators = numerators.reshape(n_clusters, n_columns)
        denominators = np.bincount(cells, minlength=size).reshape(n_clusters, n_columns).astype(np.float64)
        samples = bootstrap_ratios(numerators, denominators, settings)
        sdd, sll = self.keys.get(("tasks", "SDD", "accuracy")), self.keys.get(("tasks", "SLL", "accuracy"))
        keys = list(self.keys)
        if sdd is not None and sll is not None:
            # Overall from the same resamples as its two parts, so its interval respects their correlation.
            samples = np.column_stack([samples, (samples[:, sdd] + samples[:, sll]) / 2])
            keys.append(("overall",))
        found = percentile_intervals(samples, settings.level)
        return {key: None if ci is None else ci.rounded() for key, ci in zip(keys, found, strict=True)}


def _is_circular(predictions: Mapping[str, Prediction]) -> bool:
    return any(ROTATION_MARK in key and split_rotation_id(key).rotation for key in predictions)


def score_run(
    questions: Iterable[Question],
    predictions: Mapping[str, Prediction],
    *,
    circular: bool | None = None,
    bootstrap: BootstrapSettings | None = None,
) -> dict[str, Any]:
    """The scores.json record of a run: totals per task, breakdowns, counts, intervals, chance lines.

    `circular` None means: circular when any prediction is a rotation ("Q@r1"). `bootstrap` sets the
    intervals (default 1000 resamples, seed 0, 95%).
    """
    settings = bootstrap or BootstrapSettings()
    is_circular = _is_circular(predictions) if circular is None else circular
    tasks = {task: Tally() for task in TASKS}
    breakdowns: dict[str, dict[str, dict[str, Tally]]] = {key: {} for key in BREAKDOWNS}
    error_kinds: dict[str, int] = {}
    columns = _Columns()
    circular_tallies: dict[str, _CircularTally] = {}
    rotation_counts: dict[str, set[int]] = {}
    bias = _PositionBias()
    graded: list[Question] = []
    for outcome in outcomes(questions, predictions):
        question = outcome.question
        tasks[question.task].add(outcome)
        groups: list[tuple[str, ...]] = [("tasks", question.task)]
        if question.task == GRADING_TASK:
            graded.append(question)  # its breakdowns (condition, level) come from severity_scores
        for key in BREAKDOWNS if question.task != GRADING_TASK else ():
            value = getattr(question, key)
            breakdowns[key].setdefault(question.task, {}).setdefault(value, Tally()).add(outcome)
            groups.append((f"by_{key}", question.task, value))
        if outcome.scored:
            for metric, value in outcome.values().items():
                for group in groups:
                    columns.add(question.image, (*group, metric), value)
        if outcome.prediction is not None and outcome.prediction.error is not None:
            kind = outcome.prediction.error.get("kind", "unknown")
            error_kinds[kind] = error_kinds.get(kind, 0) + 1
        if not question.multiple:  # SDD and SSG: single answers, rotated in circular evaluation
            rotated = _rotation_outcomes(question, predictions) if is_circular else [outcome]
            if question.task == "SDD":
                bias.add(rotated)
            if is_circular:
                rotation_counts.setdefault(question.task, set()).add(len(rotated))
                tally = circular_tallies.setdefault(question.task, _CircularTally())
                _add_circular(tally, columns, question, rotated)

    task_scores = {task: tally.summary(task == "SLL") for task, tally in tasks.items() if tally.questions}
    errors = sum(t.errors for t in tasks.values())
    pending = sum(t.pending for t in tasks.values())
    sdd = task_scores.get("SDD", {}).get("accuracy")
    sll = task_scores.get("SLL", {}).get("accuracy")
    complete = errors == 0 and pending == 0
    if "SDD" in task_scores:
        task_scores["SDD"]["position_bias"] = bias.summary()
    for task, tally in circular_tallies.items():
        if task in task_scores:
            complete = complete and tally.errors == 0 and tally.pending == 0
            _put_circular(task_scores[task], tally, rotation_counts.get(task, set()))
    scores: dict[str, Any] = {
        "status": "complete" if complete else "incomplete",
        "overall": round((sdd + sll) / 2, 6) if sdd is not None and sll is not None else None,
        "counts": {
            "questions": sum(t.questions for t in tasks.values()),
            "scored": sum(t.scored for t in tasks.values()),
            "errors": errors,
            "pending": pending,
            "unparsed": sum(t.stages.get("unparsed", 0) for t in tasks.values()),
            "refused": sum(t.stages.get("refused", 0) for t in tasks.values()),
            "truncated": sum(t.stages.get("truncated", 0) for t in tasks.values()),
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
    _put_chance_and_intervals(scores, columns.intervals(settings), settings)
    if GRADING_TASK in task_scores:
        _put_grading(task_scores[GRADING_TASK], severity_scores(graded, predictions, settings))
    return scores


def _put_grading(summary: dict[str, Any], grading: dict[str, Any] | None) -> None:
    """SSG's own metrics, chance lines (from its grade distribution) and intervals, beside Overall."""
    if grading is None:
        return
    circular_chance = summary["chance"].get("circular_accuracy")
    circular_ci = summary["ci"].get("circular_accuracy")
    grading.pop("scored")
    summary.update(grading)
    if circular_chance is not None:
        summary["chance"]["circular_accuracy"] = circular_chance
        summary["ci"]["circular_accuracy"] = circular_ci


def _put_chance_and_intervals(
    scores: dict[str, Any],
    intervals: Mapping[tuple[str, ...], list[float] | None],
    settings: BootstrapSettings,
) -> None:
    def fill(summary: dict[str, Any], *place: str) -> None:
        metrics = [m for m in SLL_METRICS if m in summary]
        summary["ci"] = {m: intervals.get((*place, m)) for m in metrics}

    for task, summary in scores["tasks"].items():
        fill(summary, "tasks", task)
        if "circular_accuracy" in summary:
            summary["ci"]["circular_accuracy"] = intervals.get(("tasks", task, "circular_accuracy"))
    for key in BREAKDOWNS:
        for task, groups in scores[f"by_{key}"].items():
            for value, summary in groups.items():
                fill(summary, f"by_{key}", task, value)
    # Overall is the paper's: SDD and SLL only; SSG is reported beside it, never folded in.
    chances = [scores["tasks"][t]["chance"]["accuracy"] for t in PAPER_TASKS if t in scores["tasks"]]
    scores["overall_ci"] = intervals.get(("overall",))
    scores["overall_chance"] = round(sum(chances) / 2, 6) if len(chances) == 2 else None
    scores["bootstrap"] = settings.describe()


def _rotation_outcomes(question: Question, predictions: Mapping[str, Prediction]) -> list[Outcome]:
    turned = rotations(question)
    return [Outcome(q, predictions.get(q.id)) for q in turned]


def _add_circular(
    tally: _CircularTally, columns: _Columns, question: Question, rotated: list[Outcome]
) -> None:
    tally.questions += 1
    tally.chance += circular_chance(len(question.options), len(rotated))
    if any(o.prediction is None for o in rotated):
        tally.pending += 1
    elif any(not o.scored for o in rotated):
        tally.errors += 1
    else:
        tally.scored += 1
        right = all(o.exact for o in rotated)
        tally.correct += right
        columns.add(question.image, ("tasks", question.task, "circular_accuracy"), float(right))


def _put_circular(summary: dict[str, Any], tally: _CircularTally, rotation_counts: set[int]) -> None:
    rotations_asked = max(rotation_counts) if rotation_counts else 0
    summary["circular_accuracy"] = round(tally.correct / tally.scored, 6) if tally.scored else None
    summary["circular"] = tally.summary(rotations_asked)
    if tally.questions:
        summary["chance"]["circular_accuracy"] = round(tally.chance / tally.questions, 6)


@dataclass
class _PositionBias:
    """Letters chosen vs letters right, over every scored single-answer answer (all rotations)."""

    answers: int = 0
    chosen: dict[str, int] = field(default_factory=dict)
    correct: dict[str, int] = field(default_factory=dict)
    width: int = 0

    def add(self, rotated: list[Outcome]) -> None:
        for outcome in rotated:
            if not outcome.scored or outcome.prediction is None:
                continue
            self.answers += 1
            self.width = max(self.width, len(outcome.question.options))
            for letter in outcome.prediction.letters:
                self.chosen[letter] = self.chosen.get(letter, 0) + 1
            for letter in outcome.question.answer:
                self.correct[letter] = self.correct.get(letter, 0) + 1

    def summary(self) -> dict[str, dict[str, float]]:
        if not self.answers:
            return {}
        return {
            letter: {
                "chosen": round(self.chosen.get(letter, 0) / self.answers, 6),
                "correct": round(self.correct.get(letter, 0) / self.answers, 6),
            }
            for letter in LETTERS[: self.width]
        }
