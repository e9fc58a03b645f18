"""Leaderboard sections from loaded runs: one per benchmark and subset, ranked with tie groups and power.

- Runs are grouped by benchmark manifest hash and subset; runs in different groups are never ranked together.
- Within a section, every run is rescored on the same patient resamples (`spinebench.stats.rank_intervals`)
  on its leaderboard score: overall (the mean of SDD and SLL accuracy), or the one task's accuracy.
- Power: for each task, the minimum detectable accuracy difference (80% power, alpha 0.05) at typical
  discordance rates, and at the observed rate of the two best runs (`spinebench.metrics.compare_runs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from spinebench.metrics import Outcome, compare_runs
from spinebench.report._leaderboard import BenchmarkInfo, LeaderboardRow, LeaderboardSection
from spinebench.report._runs import LoadedRun
from spinebench.stats import (
    ALPHA,
    POWER,
    TYPICAL_DISCORDANCE,
    BootstrapSettings,
    FloatArray,
    minimum_detectable_difference,
    rank_intervals,
)
from spinebench.taxonomy import TASKS

PUBLISHED_RELEASE = "SpineBench release"  # what `spinebench import-release` records as `imported_from`


def benchmark_info(run: LoadedRun) -> BenchmarkInfo:
    """The benchmark of a run as a leaderboard names it: synthetic? the published release?"""
    build = run.benchmark.manifest.get("build") or {}
    synthetic = build.get("synthetic") is True or (
        bool(run.questions) and all(q.source == "synthetic" for q in run.questions)
    )
    return BenchmarkInfo(
        name=run.benchmark.name,
        manifest_sha256=run.benchmark.manifest_sha256,
        subset=run.subset,
        synthetic=synthetic,
        published_release=build.get("imported_from") == PUBLISHED_RELEASE,
    )


@dataclass(frozen=True, slots=True)
class PowerLine:
    """What one task of a section can tell apart (fractions; None where nothing is detectable)."""

    task: str
    questions: int
    clusters: int
    cluster: str
    design_effect: float
    typical: dict[float, float | None]
    observed_pair: tuple[str, str] | None = None
    observed_discordance: float | None = None
    observed: float | None = None

    def text(self, benchmark: str) -> str:
        def apart(value: float | None, rate: float) -> str:
            if value is None:
                return f"none at {100 * rate:.0f}% discordance (too few questions)"
            return f"{100 * value:.1f} points apart at {100 * rate:.0f}% discordance"

        typical = ", ".join(apart(v, d) for d, v in self.typical.items())
        text = (
            f"Power ({100 * POWER:.0f}%, α {ALPHA}): {benchmark} {self.task} ({self.questions} questions, "
            f"{self.clusters} {self.cluster} clusters, design effect {self.design_effect:.2f}) tells apart "
            f"models {typical}"
        )
        if self.observed_pair is not None and self.observed_discordance is not None:
            a, b = self.observed_pair
            text += f"; {a} vs {b}: {apart(self.observed, self.observed_discordance)} (observed)"
        return text + "."


@dataclass(frozen=True, slots=True)
class BoardSection:
    """A section with the runs it holds (same order as its rows) and its power lines."""

    section: LeaderboardSection
    runs: tuple[LoadedRun, ...]
    power: tuple[PowerLine, ...]


def leaderboard_sections(runs: Sequence[LoadedRun], settings: BootstrapSettings) -> list[BoardSection]:
    """Runs grouped by benchmark and subset (first appearance order), each ranked best first."""
    groups: dict[tuple[str, str | None], list[LoadedRun]] = {}
    for run in runs:
        groups.setdefault((run.benchmark.manifest_sha256, run.subset), []).append(run)
    return [_section(members, settings) for members in groups.values()]


def _section(runs: list[LoadedRun], settings: BootstrapSettings) -> BoardSection:
    info = benchmark_info(runs[0])
    top, bottom = _rank_parts(runs)
    ranks = rank_intervals(top, bottom, settings)
    order = sorted(range(len(runs)), key=lambda r: (-ranks[r].score, ranks[r].best, r))
    rows = [
        replace(
            LeaderboardRow.from_scores(runs[r].label, runs[r].scores),
            rank=(ranks[r].best, ranks[r].worst),
            group=ranks[r].group,
        )
        for r in order
    ]
    ordered = tuple(runs[r] for r in order)
    power = tuple(_power(ordered, task, settings) for task in TASKS if task in ordered[0].scores["tasks"])
    name = info.name + (f" [{info.subset}]" if info.subset else "")
    notes = tuple(line.text(name) for line in power)
    cluster = str(ordered[0].scores.get("intervals", {}).get("cluster", "patient"))
    return BoardSection(LeaderboardSection(rows, info, notes, cluster), ordered, power)


def _rank_parts(runs: list[LoadedRun]) -> tuple[FloatArray, FloatArray]:
    """(runs, clusters, tasks) right answers and scored questions, on clusters shared by all runs."""
    codes: dict[str, int] = {}
    for run in runs:
        for question in run.questions:
            codes.setdefault(question.cluster, len(codes))
    tasks = [t for t in TASKS if any(q.task == t for run in runs for q in run.questions)]
    top = np.zeros((len(runs), len(codes), len(tasks)))
    bottom = np.zeros_like(top)
    for r, run in enumerate(runs):
        for question in run.questions:
            outcome = Outcome(question, run.predictions.get(question.id))
            if outcome.scored:
                c, t = codes[question.cluster], tasks.index(question.task)
                top[r, c, t] += outcome.exact
                bottom[r, c, t] += 1
    return top, bottom


def _power(runs: Sequence[LoadedRun], task: str, settings: BootstrapSettings) -> PowerLine:
    best = runs[0]
    summary = best.scores["tasks"][task]
    deff = float((summary.get("design_effect") or {}).get("accuracy") or 1.0)
    questions = int(summary["questions"])
    typical = {
        rate: minimum_detectable_difference(questions, rate, design_effect=deff).difference
        for rate in TYPICAL_DISCORDANCE
    }
    line = PowerLine(
        task=task,
        questions=questions,
        clusters=int(summary.get("clusters", 0)),
        cluster=str(best.scores.get("intervals", {}).get("cluster", "patient")),
        design_effect=max(1.0, deff),
        typical=typical,
    )
    if len(runs) < 2:
        return line
    second = runs[1]
    task_questions = [q for q in best.questions if q.task == task]
    compared = compare_runs(task_questions, best.predictions, second.predictions, bootstrap=settings)
    accuracy = compared.get(task, {}).get("accuracy")
    if not accuracy:
        return line
    return replace(
        line,
        observed_pair=(best.label, second.label),
        observed_discordance=accuracy["discordance"],
        observed=accuracy["detectable_difference"],
    )
