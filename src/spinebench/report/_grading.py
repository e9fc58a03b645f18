"""The severity-grading (SSG) section of the report: scores per condition and level, the confusion matrix.

Read from scores.json (`tasks.SSG`), so the report shows exactly the numbers the run recorded: accuracy,
quadratic-weighted kappa, severe-case sensitivity and specificity, each with its interval and chance line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from spinebench.report._leaderboard import Score
from spinebench.report._runs import LoadedRun

GRADING_COLUMNS = (
    ("accuracy", "accuracy %", True),
    ("weighted_kappa", "weighted kappa", False),
    ("severe_sensitivity", "severe sensitivity %", True),
    ("severe_specificity", "severe specificity %", True),
)


@dataclass(frozen=True, slots=True)
class GradingCell:
    score: Score
    chance: float | None
    percent: bool


@dataclass(frozen=True, slots=True)
class GradingRow:
    group: str
    scored: int
    cells: list[GradingCell]
    clusters: int = 0  # patients (images where unknown) with a scored question in the group
    few_clusters: bool = False  # fewer than 30: read its intervals with care


@dataclass(frozen=True, slots=True)
class GradingView:
    run: str
    rows: list[GradingRow]
    grades: list[str]
    answers: list[str]
    counts: list[list[int]]

    def share(self, row: int, column: int) -> float:
        total = sum(self.counts[row])
        return self.counts[row][column] / total if total else 0.0


def _row(group: str, summary: Mapping[str, Any]) -> GradingRow:
    chance = summary.get("chance") or {}
    cells = [
        GradingCell(Score.read(summary, metric), chance.get(metric), percent)
        for metric, _, percent in GRADING_COLUMNS
    ]
    clusters = int(summary.get("clusters") or 0)
    return GradingRow(
        group, int(summary.get("scored") or 0), cells, clusters, bool(summary.get("few_clusters", False))
    )


def grading_views(runs: Sequence[LoadedRun]) -> list[GradingView]:
    """One view per run that graded severity (runs without SSG questions have none)."""
    views: list[GradingView] = []
    for run in runs:
        ssg = run.scores["tasks"].get("SSG")
        if not ssg or "confusion" not in ssg:
            continue
        rows = [_row("all SSG questions", ssg)]
        rows += [_row(name, summary) for name, summary in ssg.get("by_condition", {}).items()]
        rows += [_row(f"level {name}", summary) for name, summary in ssg.get("by_level", {}).items()]
        matrix = ssg["confusion"]
        views.append(GradingView(run.label, rows, matrix["grades"], matrix["answers"], matrix["counts"]))
    return views
