"""scores.json: totals per task and breakdown, with intervals, chance lines and circular scoring."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from spinebench.benchmark import Question
from spinebench.stats import (
    FEW_CLUSTERS,
    BootstrapSettings,
    circular_chance,
)
from spinebench.taxonomy import GRADING_TASK, LETTERS, LEVELS, PAPER_TASKS, TASKS

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    from spinebench.prediction import Prediction
from spinebench.metrics._cells import (
    METHODS,
    CellInterval,
    Columns,
    cluster_key,
    cluster_name_of,
    fill_cell,
)
from spinebench.metrics._classwise import BOOTSTRAP_CLUSTER, ClassTally, LevelTally
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
    columns = Columns()
    circular_tallies: dict[str, _CircularTally] = {}
    rotation_counts: dict[str, set[int]] = {}
    bias = _PositionBias()
    graded: list[Question] = []
    classes, levels = ClassTally(), LevelTally()
    known_patients: set[bool] = set()
    unscored_clusters: set[bytes] = set()  # clusters seen only in questions not scored, found at the end
    for outcome in outcomes(questions, predictions):
        question = outcome.question
        known_patients.add(question.patient is not None)
        cluster = question.cluster  # once: the property builds a new string per call
        if not outcome.scored:
            unscored_clusters.add(cluster_key(cluster))
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
                    columns.add(cluster, (*group, metric), value)
        if outcome.prediction is not None and outcome.prediction.error is not None:
            kind = outcome.prediction.error.get("kind", "unknown")
            error_kinds[kind] = error_kinds.get(kind, 0) + 1
        if question.task == "SLL":
            _add_levels(levels, columns, outcome, cluster)
        if question.task == "SDD":
            classes.add_question(question)
            if outcome.scored and outcome.prediction is not None:
                chosen = [
                    question.options[LETTERS.index(x)]
                    for x in outcome.prediction.letters
                    if x in question.letters
                ]
                classes.add_answer(columns.code(cluster), question.disease, chosen[0] if chosen else None)
        if not question.multiple:  # SDD and SSG: single answers, rotated in circular evaluation
            rotated = _rotation_outcomes(question, predictions) if is_circular else [outcome]
            if question.task == "SDD":
                bias.add(rotated)
            if is_circular:
                rotation_counts.setdefault(question.task, set()).add(len(rotated))
                tally = circular_tallies.setdefault(question.task, _CircularTally())
                _add_circular(tally, columns, question, rotated, cluster)

    task_scores = {task: tally.summary(task == "SLL") for task, tally in tasks.items() if tally.questions}
    errors = sum(t.errors for t in tasks.values())
    pending = sum(t.pending for t in tasks.values())
    sdd = task_scores.get("SDD", {}).get("accuracy")
    sll = task_scores.get("SLL", {}).get("accuracy")
    complete = errors == 0 and pending == 0
    if "SLL" in task_scores:
        task_scores["SLL"]["by_level"] = levels.summary(LEVELS)
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
    class_columns = classes.ratio_columns(len(columns.clusters))
    intervals, class_samples = columns.intervals(settings, class_columns)
    _put_chance_and_intervals(scores, intervals, settings)
    if "SDD" in task_scores:
        empty = np.zeros((settings.resamples, 0))
        balanced = classes.summary(class_columns, empty if class_samples is None else class_samples, settings)
        for metric in ("balanced_accuracy", "macro_f1"):
            task_scores["SDD"][metric] = balanced[metric]
            task_scores["SDD"]["ci"][metric] = balanced["ci"][metric]
            task_scores["SDD"]["ci_method"][metric] = BOOTSTRAP_CLUSTER
            task_scores["SDD"]["chance"][metric] = balanced["chance"][metric]
    if "SLL" in task_scores:
        for level, summary in task_scores["SLL"]["by_level"].items():
            fill_cell(summary, intervals, ("tasks", "SLL", "by_level", level), ("recall", "precision"))
    if GRADING_TASK in task_scores:
        _put_grading(task_scores[GRADING_TASK], severity_scores(graded, predictions, settings))
    cluster = cluster_name_of(known_patients)
    scores["bootstrap"] = settings.describe(cluster)
    scores["intervals"] = {
        "cluster": cluster,
        # Over all the run's questions (every scored question's cluster is in `columns`); cells count theirs.
        "clusters": len(columns.clusters) + len(unscored_clusters - columns.clusters.keys()),
        "level": settings.level,
        "few_clusters_below": FEW_CLUSTERS,
        "methods": METHODS,
    }
    return scores


def _put_grading(summary: dict[str, Any], grading: dict[str, Any] | None) -> None:
    """SSG's own metrics, chance lines (from its grade distribution) and intervals, beside Overall."""
    if grading is None:
        return
    circular = {
        part: summary[part]["circular_accuracy"]
        for part in ("chance", "ci", "ci_method", "design_effect")
        if "circular_accuracy" in summary.get(part, {})
    }
    grading.pop("scored")
    summary.update(grading)
    for part, value in circular.items():
        summary[part]["circular_accuracy"] = value


def _put_chance_and_intervals(
    scores: dict[str, Any], intervals: Mapping[tuple[str, ...], CellInterval], settings: BootstrapSettings
) -> None:
    for task, summary in scores["tasks"].items():
        metrics = [*SLL_METRICS, "circular_accuracy"]
        fill_cell(summary, intervals, ("tasks", task), metrics)
    for key in BREAKDOWNS:
        for task, groups in scores[f"by_{key}"].items():
            for value, summary in groups.items():
                fill_cell(summary, intervals, (f"by_{key}", task, value), SLL_METRICS)
    # Overall is the paper's: SDD and SLL only; SSG is reported beside it, never folded in.
    chances = [scores["tasks"][t]["chance"]["accuracy"] for t in PAPER_TASKS if t in scores["tasks"]]
    overall = intervals.get(("overall",))
    scores["overall_ci"] = None if overall is None else overall.ci
    scores["overall_ci_method"] = BOOTSTRAP_CLUSTER
    scores["overall_chance"] = round(sum(chances) / 2, 6) if len(chances) == 2 else None


def _add_levels(levels: LevelTally, columns: Columns, outcome: Outcome, cluster: str) -> None:
    question = outcome.question
    levels.add_question(question)
    if not outcome.scored or outcome.prediction is None:
        return
    truth = set(question.answer_texts)
    picked = {question.options[LETTERS.index(x)] for x in outcome.prediction.letters if x in question.letters}
    levels.add_answer(truth, picked)
    place = ("tasks", "SLL", "by_level")
    for level in truth:
        columns.add(cluster, (*place, level, "recall"), float(level in picked))
    for level in picked:
        columns.add(cluster, (*place, level, "precision"), float(level in truth))


def _rotation_outcomes(question: Question, predictions: Mapping[str, Prediction]) -> list[Outcome]:
    turned = rotations(question)
    return [Outcome(q, predictions.get(q.id)) for q in turned]


def _add_circular(
    tally: _CircularTally, columns: Columns, question: Question, rotated: list[Outcome], cluster: str
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
        columns.add(cluster, ("tasks", question.task, "circular_accuracy"), float(right))


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
