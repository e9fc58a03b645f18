"""Severity-grading (SSG) scores: accuracy, quadratic-weighted kappa, severe-case sensitivity and specificity.

Every metric is a function of the confusion matrix of truth grade against answered grade, so one matrix per
group (all SSG questions, each condition, each level) gives them all. Intervals cluster on the patient (the
image where it is unknown), like every other score: accuracy and the severe rates are proportions and get
Wilson's interval at the clustered effective size; weighted kappa gets the percentile interval of a cluster
bootstrap of the matrices. The answer axis has a fourth column, "no answer" (unparsed, refused or no single
letter):

- accuracy: right grades over scored questions (a no-answer is wrong, as everywhere in SpineBench);
- weighted kappa: Cohen's kappa with quadratic weights (i - j)^2 / (k - 1)^2 over the three grades; a
  no-answer disagrees fully (weight 1) with every truth, in the observed and the chance-expected terms alike;
- severe sensitivity: Severe cases answered Severe; severe specificity: non-Severe cases answered with a
  non-Severe grade (a no-answer counts for neither: it detected nothing and ruled nothing out).

Chance lines come from the group's grade distribution p: an image-blind answerer that draws each grade with
its frequency scores accuracy sum(p^2), kappa 0, sensitivity p(Severe) and specificity 1 - p(Severe). On a
grade-balanced set (SpineBench-Sub) these equal the uniform guesser's 1/3, 0, 1/3 and 2/3.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from spinebench.benchmark import Question
from spinebench.metrics._cells import CellInterval, clustered_wilson
from spinebench.metrics._classwise import BOOTSTRAP_CLUSTER
from spinebench.stats import FEW_CLUSTERS, BootstrapSettings, bootstrap_ratios, percentile_intervals
from spinebench.taxonomy import GRADING_TASK, LETTERS, LEVELS, RSNA_CONDITIONS, SEVERITY_GRADES

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    from spinebench.prediction import Prediction

FloatArray = npt.NDArray[np.float64]

GRADING_METRICS: Final = ("accuracy", "weighted_kappa", "severe_sensitivity", "severe_specificity")
NO_ANSWER: Final = "no answer"
ANSWER_COLUMNS: Final = (*SEVERITY_GRADES, NO_ANSWER)
_GRADES: Final = len(SEVERITY_GRADES)
_SEVERE: Final = _GRADES - 1


def kappa_weights() -> FloatArray:
    """Quadratic disagreement weights, truth grade x answer column (the no-answer column weighs 1)."""
    grades = np.arange(_GRADES, dtype=np.float64)
    weights = np.ones((_GRADES, _GRADES + 1))
    weights[:, :_GRADES] = (grades[:, None] - grades[None, :]) ** 2 / (_GRADES - 1) ** 2
    return weights


def confusion_metrics(counts: npt.ArrayLike) -> dict[str, FloatArray]:
    """Each metric of confusion matrices `counts` [..., 3, 4] (truth x answer), over the leading axes.

    NaN where a metric is undefined: no question, no Severe case (sensitivity), no other case
    (specificity), or no expected disagreement (kappa, e.g. every truth and answer the same grade).
    """
    cells = np.asarray(counts, dtype=np.float64)
    if cells.shape[-2:] != (_GRADES, _GRADES + 1):
        raise ValueError(f"confusion matrices are {_GRADES} x {_GRADES + 1}, not {cells.shape[-2:]}")
    total = cells.sum(axis=(-1, -2))
    truths = cells.sum(axis=-1)
    answers = cells.sum(axis=-2)
    weights = kappa_weights()
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.trace(cells[..., :, :_GRADES], axis1=-2, axis2=-1) / total
        observed = (weights * cells).sum(axis=(-1, -2)) / total
        expected = (weights * truths[..., :, None] * answers[..., None, :]).sum(axis=(-1, -2)) / total**2
        kappa = np.where(expected > 0, 1.0 - observed / expected, np.nan)
        sensitivity = cells[..., _SEVERE, _SEVERE] / truths[..., _SEVERE]
        specificity = cells[..., :_SEVERE, :_SEVERE].sum(axis=(-1, -2)) / truths[..., :_SEVERE].sum(axis=-1)
    return {
        "accuracy": np.asarray(accuracy),
        "weighted_kappa": np.asarray(kappa),
        "severe_sensitivity": np.asarray(sensitivity),
        "severe_specificity": np.asarray(specificity),
    }


def grade_chance(truth_counts: npt.ArrayLike) -> dict[str, float | None]:
    """The chance lines of a group with these truth-grade counts (see the module docstring)."""
    counts = np.asarray(truth_counts, dtype=np.float64)
    total = counts.sum()
    if total == 0:
        return dict.fromkeys(GRADING_METRICS)
    p = counts / total
    return {
        "accuracy": round(float((p**2).sum()), 6),
        "weighted_kappa": 0.0,
        "severe_sensitivity": round(float(p[_SEVERE]), 6) if counts[_SEVERE] else None,
        "severe_specificity": round(float(1 - p[_SEVERE]), 6) if counts[:_SEVERE].sum() else None,
    }


def truth_grade(question: Question) -> int:
    return SEVERITY_GRADES.index(question.answer_texts[0])


def answered_grade(question: Question, prediction: Prediction) -> int:
    """The answer column of a scored prediction: the grade of its one letter, else "no answer"."""
    letters = tuple(dict.fromkeys(prediction.letters))
    if len(letters) != 1 or letters[0] not in question.letters:
        return _GRADES
    text = question.options[LETTERS.index(letters[0])]
    return SEVERITY_GRADES.index(text) if text in SEVERITY_GRADES else _GRADES


class _Groups:
    """Confusion counts per group and per cluster (patient, else image), for the scores and intervals."""

    def __init__(self) -> None:
        self.groups: dict[tuple[str, ...], int] = {}
        self.clusters: dict[str, int] = {}
        self.cells: list[tuple[int, int, int]] = []  # (cluster, group, cell)
        self.truths: dict[tuple[str, ...], FloatArray] = {}  # every question of the group, scored or not

    def add_question(self, group: tuple[str, ...], truth: int) -> None:
        self.groups.setdefault(group, len(self.groups))
        self.truths.setdefault(group, np.zeros(_GRADES))[truth] += 1

    def add_answer(self, cluster: str, group: tuple[str, ...], truth: int, answer: int) -> None:
        code = self.clusters.setdefault(cluster, len(self.clusters))
        self.cells.append((code, self.groups[group], truth * (_GRADES + 1) + answer))

    def counts(self) -> FloatArray:
        """[clusters, groups, 12] confusion cell counts."""
        size = _GRADES * (_GRADES + 1)
        found = np.zeros((len(self.clusters), len(self.groups), size))
        for cluster, group, cell in self.cells:
            found[cluster, group, cell] += 1
        return found


def severity_scores(
    questions: Iterable[Question],
    predictions: Mapping[str, Prediction],
    settings: BootstrapSettings | None = None,
) -> dict[str, Any] | None:
    """The grading metrics of a run's SSG questions (rotation 0 only), or None when it has none.

    Returns the overall metrics with chance lines, intervals and the confusion matrix, and the same per
    condition (`by_condition`) and per level (`by_level`).
    """
    settings = settings or BootstrapSettings()
    groups = _Groups()
    for question in questions:
        if question.task != GRADING_TASK:
            continue
        truth = truth_grade(question)
        keys = [("all",), ("by_condition", question.disease), ("by_level", question.level or "unknown")]
        prediction = predictions.get(question.id)
        for key in keys:
            groups.add_question(key, truth)
            if prediction is not None and not prediction.failed:
                # Clustered like every other score: a patient's slices and levels are one unit.
                groups.add_answer(question.cluster, key, truth, answered_grade(question, prediction))
    if not groups.groups:
        return None
    counts = groups.counts()
    totals = counts.sum(axis=0).reshape(len(groups.groups), _GRADES, _GRADES + 1)
    values = confusion_metrics(totals)
    intervals = _intervals(counts, settings)
    summaries: dict[tuple[str, ...], dict[str, Any]] = {}
    for key, index in groups.groups.items():
        cells = {metric: intervals[metric][index] for metric in GRADING_METRICS}
        clusters = cells["accuracy"].clusters
        summaries[key] = {
            "scored": int(totals[index].sum()),
            **{metric: _number(values[metric][index]) for metric in GRADING_METRICS},
            "chance": grade_chance(groups.truths[key]),
            "ci": {metric: cell.ci for metric, cell in cells.items()},
            "ci_method": {metric: cell.method for metric, cell in cells.items()},
            "design_effect": {metric: cell.design_effect for metric, cell in cells.items()},
            "clusters": clusters,
            "few_clusters": clusters < FEW_CLUSTERS,
            "confusion": {
                "grades": list(SEVERITY_GRADES),
                "answers": list(ANSWER_COLUMNS),
                "counts": totals[index].astype(int).tolist(),
            },
        }
    result = summaries[("all",)]
    result["by_condition"] = _ordered(summaries, "by_condition", tuple(RSNA_CONDITIONS))
    result["by_level"] = _ordered(summaries, "by_level", LEVELS)
    return result


def _ordered(
    summaries: Mapping[tuple[str, ...], dict[str, Any]], kind: str, order: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    found = {key[1]: summary for key, summary in summaries.items() if key[0] == kind}
    rank = {name: i for i, name in enumerate(order)}
    return {name: found[name] for name in sorted(found, key=lambda n: (rank.get(n, len(rank)), n))}


def _intervals(counts: FloatArray, settings: BootstrapSettings) -> dict[str, list[CellInterval]]:
    """Intervals per metric and group from [clusters, groups, 12] confusion cells.

    Accuracy and the severe rates: Wilson at the clustered effective size, on each cluster's right answers
    over its questions of the group (of its Severe, or other, cases for the rates). Weighted kappa, not a
    proportion: percentile intervals of a cluster bootstrap of each cell's share of its group's scored
    questions (kappa is a function of the shares alone, so the resampled matrices need no rescaling).
    """
    n_clusters, n_groups, size = counts.shape
    if n_clusters == 0:
        empty = CellInterval(None, BOOTSTRAP_CLUSTER, 0)
        return {metric: [empty] * n_groups for metric in GRADING_METRICS}
    grid = counts.reshape(n_clusters, n_groups, _GRADES, _GRADES + 1)
    diagonal = np.trace(grid[..., :, :_GRADES], axis1=-2, axis2=-1)
    rates = {
        "accuracy": (diagonal, grid.sum(axis=(-1, -2))),
        "severe_sensitivity": (grid[..., _SEVERE, _SEVERE], grid[..., _SEVERE, :].sum(axis=-1)),
        "severe_specificity": (
            grid[..., :_SEVERE, :_SEVERE].sum(axis=(-1, -2)),
            grid[..., :_SEVERE, :].sum(axis=(-1, -2)),
        ),
    }
    found: dict[str, list[CellInterval]] = {
        metric: clustered_wilson(top, bottom, settings) for metric, (top, bottom) in rates.items()
    }
    numerators = counts.reshape(n_clusters, n_groups * size)
    denominators = np.repeat(counts.sum(axis=2), size, axis=1)
    shares = bootstrap_ratios(numerators, denominators, settings)
    resampled = shares.reshape(-1, n_groups, _GRADES, _GRADES + 1)
    kappas = confusion_metrics(np.nan_to_num(resampled, nan=0.0))["weighted_kappa"]
    scored = (counts.sum(axis=2) > 0).sum(axis=0)
    found["weighted_kappa"] = [
        CellInterval(None if ci is None else ci.rounded(), BOOTSTRAP_CLUSTER, int(scored[g]))
        for g, ci in enumerate(percentile_intervals(kappas, settings.level))
    ]
    return {metric: found[metric] for metric in GRADING_METRICS}


def _number(value: np.floating[Any] | float) -> float | None:
    number = float(value)
    return round(number, 6) if np.isfinite(number) else None
