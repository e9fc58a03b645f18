"""Scores of a run, per the SpineBench protocol, with intervals, chance lines and circular evaluation.

- SDD: accuracy = correct / scored.
- SLL: exact-set accuracy, and precision, recall and F1 computed per question and then averaged over the
  scored questions (sample-averaged, the usual choice for multi-label answers); an unparsed or refused answer
  is the empty set, with precision, recall and F1 of 0.
- Overall = mean of SDD accuracy and SLL exact-set accuracy (None when either task has no scored question).
- Unparsed and refused answers are scored as wrong. Infrastructure errors and unanswered questions are not
  scored at all; they make the run "incomplete".
- Every metric gets a 95% interval (bootstrap over images, see `spinebench.stats`) and a chance line: the
  expected score of an answerer that ignores the image, averaged over the group's questions.
- Circular evaluation: SDD question Q is also asked with its options rotated left by k = 1..n-1 (prediction
  ids "Q@r<k>"). Plain metrics read rotation 0 only; circular accuracy counts Q right only when every
  rotation is right, and leaves out (and marks the run incomplete for) questions with a rotation missing or
  failed. Position bias compares how often each letter is chosen with how often it is right.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import numpy as np

from spinebench.benchmark import Question
from spinebench.stats import (
    BootstrapSettings,
    Interval,
    bootstrap_ratios,
    circular_chance,
    mcnemar_test,
    paired_difference,
    percentile_intervals,
    random_choice_chance,
    random_subset_chance,
)
from spinebench.taxonomy import LETTERS, TASKS

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    from spinebench.run import Prediction

ROTATION_MARK: Final = "@r"
_ROTATION_ID: Final = re.compile(r"^(?P<question>.+)@r(?P<k>[1-9][0-9]*)$")
_BREAKDOWNS: Final = ("disease", "source", "modality")
SLL_METRICS: Final = ("accuracy", "precision", "recall", "f1")


# ---- circular evaluation: rotated questions -------------------------------------------------------------


def rotation_id(question_id: str, k: int) -> str:
    """The prediction id of rotation k of a question (rotation 0 is the question's own id)."""
    return question_id if k == 0 else f"{question_id}{ROTATION_MARK}{k}"


class RotationId(NamedTuple):
    question_id: str
    rotation: int


def split_rotation_id(prediction_id: str) -> RotationId:
    """The question id and rotation of a prediction id; plain ids are rotation 0."""
    match = _ROTATION_ID.match(prediction_id)
    return RotationId(match["question"], int(match["k"])) if match else RotationId(prediction_id, 0)


def rotate(question: Question, k: int) -> Question:
    """The question with its options rotated left by k (options[k:] + options[:k]) and answers remapped.

    The option at position i moves to position (i - k) mod n, so with five options and k = 1 the answer "B"
    becomes "A" and "A" becomes "E". Rotation 0 is the question itself.
    """
    n = len(question.options)
    if not 0 <= k < n:
        raise ValueError(f"question {question.id}: rotation {k} is not in 0..{n - 1}")
    if k == 0:
        return question
    answer = tuple(sorted(LETTERS[(LETTERS.index(letter) - k) % n] for letter in question.answer))
    options = question.options[k:] + question.options[:k]
    return replace(question, id=rotation_id(question.id, k), options=options, answer=answer)


def rotations(question: Question) -> list[Question]:
    """Every rotation of a question's options, rotation 0 (the question itself) first."""
    return [rotate(question, k) for k in range(len(question.options))]


def unrotate_letter(letter: str, k: int, options: int) -> str:
    """The original letter of the option shown as `letter` in rotation k."""
    return LETTERS[(LETTERS.index(letter) + k) % options]


# ---- outcomes and tallies -------------------------------------------------------------------------------


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
            "stages": dict(sorted(self.stages.items())),
            # The chance line of the group's questions (all of them, so it is the same for every run).
            "chance": {m: round(v / self.questions, 6) for m, v in self.chance.items()}
            if self.questions
            else {},
        }
        return result


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
    breakdowns: dict[str, dict[str, dict[str, Tally]]] = {key: {} for key in _BREAKDOWNS}
    error_kinds: dict[str, int] = {}
    columns = _Columns()
    circular_tally = _CircularTally()
    rotation_counts: set[int] = set()
    bias = _PositionBias()
    for outcome in outcomes(questions, predictions):
        question = outcome.question
        tasks[question.task].add(outcome)
        groups: list[tuple[str, ...]] = [("tasks", question.task)]
        for key in _BREAKDOWNS:
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
        if question.task == "SDD":
            rotated = _rotation_outcomes(question, predictions) if is_circular else [outcome]
            bias.add(rotated)
            if is_circular:
                rotation_counts.add(len(rotated))
                _add_circular(circular_tally, columns, question, rotated)

    task_scores = {task: tally.summary(task == "SLL") for task, tally in tasks.items() if tally.questions}
    errors = sum(t.errors for t in tasks.values())
    pending = sum(t.pending for t in tasks.values())
    sdd = task_scores.get("SDD", {}).get("accuracy")
    sll = task_scores.get("SLL", {}).get("accuracy")
    complete = errors == 0 and pending == 0
    if "SDD" in task_scores:
        task_scores["SDD"]["position_bias"] = bias.summary()
        if is_circular:
            complete = complete and circular_tally.errors == 0 and circular_tally.pending == 0
            _put_circular(task_scores["SDD"], circular_tally, rotation_counts)
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
    return scores


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
    for key in _BREAKDOWNS:
        for task, groups in scores[f"by_{key}"].items():
            for value, summary in groups.items():
                fill(summary, f"by_{key}", task, value)
    chances = [scores["tasks"][t]["chance"]["accuracy"] for t in TASKS if t in scores["tasks"]]
    scores["overall_ci"] = intervals.get(("overall",))
    scores["overall_chance"] = round(sum(chances) / 2, 6) if len(chances) == 2 else None
    scores["bootstrap"] = settings.describe()


# ---- circular scoring and position bias -----------------------------------------------------------------


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


# ---- paired comparison of two runs ----------------------------------------------------------------------


def compare_runs(
    questions: Iterable[Question],
    run_a: Mapping[str, Prediction],
    run_b: Mapping[str, Prediction],
    *,
    bootstrap: BootstrapSettings | None = None,
) -> dict[str, Any]:
    """Run A minus run B on the questions both scored: per task and metric, the difference with a clustered
    bootstrap interval; for SDD also McNemar's exact test (two-sided binomial, and mid-p)."""
    settings = bootstrap or BootstrapSettings()
    paired: dict[str, list[tuple[str, dict[str, float], dict[str, float]]]] = {}
    for question in questions:
        a, b = Outcome(question, run_a.get(question.id)), Outcome(question, run_b.get(question.id))
        if a.scored and b.scored:
            paired.setdefault(question.task, []).append((question.image, a.values(), b.values()))
    result: dict[str, Any] = {}
    for task, rows in sorted(paired.items()):
        images = [image for image, _, _ in rows]
        entry: dict[str, Any] = {"paired": len(rows)}
        for metric in rows[0][1]:
            diff = paired_difference(
                [r[1][metric] for r in rows], [r[2][metric] for r in rows], images, settings
            )
            entry[metric] = {
                "a": round(diff.mean_a, 6),
                "b": round(diff.mean_b, 6),
                "difference": round(diff.difference, 6),
                "ci": diff.ci.rounded() if isinstance(diff.ci, Interval) else None,
            }
        if task == "SDD":
            test = mcnemar_test([r[1]["accuracy"] > 0 for r in rows], [r[2]["accuracy"] > 0 for r in rows])
            entry["mcnemar"] = {
                "only_a_correct": test.only_a,
                "only_b_correct": test.only_b,
                "p_exact": test.p_exact,
                "p_mid": test.p_mid,
                "method": "exact two-sided binomial on discordant pairs (mid-p also given)",
            }
        result[task] = entry
    return result
