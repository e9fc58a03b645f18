"""Class-balanced SDD scores (balanced accuracy, macro-F1) and SLL per-level rates.

- Balanced accuracy: the mean over the true classes present of each class's recall (share of its questions
  answered right), so a model answering "Healthy" to everything is not rewarded for a common class.
- Macro-F1: the mean over the true classes of F1 = 2 TP / (2 TP + FP + FN), a predicted class being the text
  of the option chosen; an answer with no letter is a miss of its true class and a prediction of nothing.
- Both are combinations of ratios, so their intervals are cluster-bootstrap percentile intervals (all
  classes from the same resamples). Chance lines: the uniform random answerer's balanced accuracy exactly;
  its macro-F1 from expected counts (E[TP] and E[predictions] of each class).
- SLL per level: recall (chosen when true) and precision (true when chosen), each a plain proportion over
  the scored questions where the level is true / was chosen; their intervals come with the other cells'.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spinebench.benchmark import Question
from spinebench.stats import BootstrapSettings, FloatArray, percentile_intervals

BOOTSTRAP_CLUSTER = "bootstrap-cluster"


@dataclass
class ClassTally:
    """SDD rotation-0 answers for the class-balanced scores: (cluster code, true class, chosen class), held
    as arrays of codes (a class's name is kept once, not once per answer)."""

    expected_hits: dict[str, float] = field(default_factory=dict)
    expected_chosen: dict[str, float] = field(default_factory=dict)
    questions: dict[str, int] = field(default_factory=dict)
    _names: dict[str, int] = field(default_factory=dict)
    _clusters: array[int] = field(default_factory=lambda: array("q"))
    _truths: array[int] = field(default_factory=lambda: array("q"))
    _chosen: array[int] = field(default_factory=lambda: array("q"))  # -1: no class chosen

    def add_question(self, question: Question) -> None:
        share = 1 / len(question.options)
        self.questions[question.disease] = self.questions.get(question.disease, 0) + 1
        self.expected_hits[question.disease] = self.expected_hits.get(question.disease, 0.0) + share
        for option in question.options:
            self.expected_chosen[option] = self.expected_chosen.get(option, 0.0) + share

    def add_answer(self, cluster: int, truth: str, chosen: str | None) -> None:
        self._clusters.append(cluster)
        self._truths.append(self._names.setdefault(truth, len(self._names)))
        self._chosen.append(-1 if chosen is None else self._names.setdefault(chosen, len(self._names)))

    def classes(self) -> list[str]:
        names = list(self._names)
        return sorted({names[code] for code in set(self._truths)})

    def ratio_columns(self, n_clusters: int) -> tuple[FloatArray, FloatArray]:
        """(clusters, 2k) sums: k recall ratios (right / questions of the class), then k F1 ratios
        (2TP / (2TP + FP + FN)), for the k true classes; bootstrapped with the run's other metrics."""
        classes = self.classes()
        k = len(classes)
        top = np.zeros((n_clusters, 2 * k))
        bottom = np.zeros((n_clusters, 2 * k))
        if not k:
            return top, bottom
        column = np.full(len(self._names) + 1, -1, dtype=np.int64)  # by name code; the last: none chosen
        column[[self._names[name] for name in classes]] = np.arange(k)
        cluster = np.frombuffer(self._clusters, dtype=np.int64)
        truth = np.frombuffer(self._truths, dtype=np.int64)
        chosen = np.frombuffer(self._chosen, dtype=np.int64)
        t, c = column[truth], column[chosen]  # chosen -1 reads the last entry: no class
        right = chosen == truth
        # Counts only, so the order of the additions cannot change a sum.
        np.add.at(top, (cluster, t), right)
        np.add.at(bottom, (cluster, t), 1)
        np.add.at(top, (cluster, k + t), 2 * right)
        np.add.at(bottom, (cluster, k + t), np.where(right, 2, 1))  # a TP counts twice; a miss is one FN
        false_positive = ~right & (c >= 0)  # an FP of the (true) class chosen
        np.add.at(bottom, (cluster[false_positive], k + c[false_positive]), 1)
        return top, bottom

    def summary(
        self, columns: tuple[FloatArray, FloatArray], samples: FloatArray, settings: BootstrapSettings
    ) -> dict[str, Any]:
        """The scores from `ratio_columns` and their bootstrap distribution (resamples, 2k)."""
        k = len(self.classes())
        chance = self._chance()
        if not k:
            return {
                "balanced_accuracy": None,
                "macro_f1": None,
                "ci": {"balanced_accuracy": None, "macro_f1": None},
                "chance": chance,
            }
        top, bottom = columns
        with np.errstate(invalid="ignore", divide="ignore"):
            point = top.sum(axis=0) / bottom.sum(axis=0)
            combined = np.column_stack(
                [np.nanmean(samples[:, :k], axis=1), np.nanmean(samples[:, k:], axis=1)]
            )
        low_high = percentile_intervals(combined, settings.level)
        return {
            "balanced_accuracy": round(float(point[:k].mean()), 6),
            "macro_f1": round(float(point[k:].mean()), 6),
            "ci": {
                name: None if ci is None else ci.rounded()
                for name, ci in zip(("balanced_accuracy", "macro_f1"), low_high, strict=True)
            },
            "chance": chance,
        }

    def _chance(self) -> dict[str, float | None]:
        classes = sorted(self.questions)
        if not classes:
            return {"balanced_accuracy": None, "macro_f1": None}
        balanced = sum(self.expected_hits[c] / self.questions[c] for c in classes) / len(classes)
        f1 = [
            2 * self.expected_hits[c] / (self.expected_chosen.get(c, 0.0) + self.questions[c])
            for c in classes
        ]
        return {"balanced_accuracy": round(balanced, 6), "macro_f1": round(sum(f1) / len(f1), 6)}


def subset_choice_chance(options: int) -> float:
    """How often a uniform random non-empty subset of `options` holds a given option: 2^(n-1) / (2^n - 1)."""
    return (1 << (options - 1)) / ((1 << options) - 1)


@dataclass
class LevelTally:
    """Per SLL level: questions where it is true / was chosen (scored), and the chance expectations."""

    true: dict[str, int] = field(default_factory=dict)
    chosen: dict[str, int] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    # Each question's chance, summed at the end with sum() as always (Python 3.12's sum() compensates, so
    # a running total would differ there in the last bits); 8 bytes a question.
    chance_recall: dict[str, array[float]] = field(default_factory=dict)
    chance_hits: dict[str, float] = field(default_factory=dict)
    chance_chosen: dict[str, float] = field(default_factory=dict)

    def add_question(self, question: Question) -> None:
        share = subset_choice_chance(len(question.options))
        truth = set(question.answer_texts)
        for level in question.options:
            self.chance_chosen[level] = self.chance_chosen.get(level, 0.0) + share
            if level in truth:
                self.chance_hits[level] = self.chance_hits.get(level, 0.0) + share
                self.chance_recall.setdefault(level, array("d")).append(share)

    def add_answer(self, truth: set[str], picked: set[str]) -> None:
        for level in truth:
            self.true[level] = self.true.get(level, 0) + 1
        for level in picked:
            self.chosen[level] = self.chosen.get(level, 0) + 1
        for level in truth & picked:
            self.hits[level] = self.hits.get(level, 0) + 1

    def summary(self, levels: Sequence[str]) -> dict[str, dict[str, Any]]:
        result: dict[str, dict[str, Any]] = {}
        for level in levels:
            true, chosen, hits = self.true.get(level, 0), self.chosen.get(level, 0), self.hits.get(level, 0)
            recall_chance = self.chance_recall.get(level, array("d"))
            chosen_chance = self.chance_chosen.get(level, 0.0)
            result[level] = {
                "true": true,
                "chosen": chosen,
                "hits": hits,
                "recall": round(hits / true, 6) if true else None,
                "precision": round(hits / chosen, 6) if chosen else None,
                "chance": {
                    "recall": round(sum(recall_chance) / len(recall_chance), 6) if recall_chance else None,
                    "precision": round(self.chance_hits.get(level, 0.0) / chosen_chance, 6)
                    if chosen_chance
                    else None,
                },
            }
        return result
