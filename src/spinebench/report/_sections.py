"""The numbers behind each section of the HTML report, computed from loaded runs (no HTML here).

- Confusion: SDD rotation-0 answers, true disease (row) vs the text of the option chosen (column); answers
  with no letter (truncated, unparsed, refused) form a "no answer" column. Errors and pending are left out.
- SLL per level: a level's precision is how often it was right when chosen, its recall how often it was
  chosen when right; counted over scored answers, levels named by option text.
- Latency and tokens: over every answered request of the run (rotations and paraphrases included), errors
  left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spinebench.metrics import compare_runs, split_paraphrase_id, split_rotation_id
from spinebench.report._leaderboard import Score
from spinebench.report._runs import LoadedRun
from spinebench.stats import BootstrapSettings
from spinebench.taxonomy import ANSWER_CLASSES, LETTERS, TASKS

NO_ANSWER = "no answer"
STAGES = ("strict", "tolerant", "text", "judge", "truncated", "unparsed", "refused")


@dataclass(frozen=True, slots=True)
class GroupBar:
    run: str
    score: Score
    chance: float | None
    scored: int
    clusters: int = 0
    few_clusters: bool = False
    method: str = ""


@dataclass(frozen=True, slots=True)
class GroupBars:
    task: str
    group: str
    bars: list[GroupBar]


def disease_bars(runs: Sequence[LoadedRun]) -> list[GroupBars]:
    """Accuracy per task and disease, one bar per run, with intervals and the chance line."""
    groups: list[GroupBars] = []
    for task in TASKS:
        names = sorted(
            {d for run in runs for d in run.scores["by_disease"].get(task, {})}, key=_disease_order
        )
        for name in names:
            bars = []
            for run in runs:
                summary = run.scores["by_disease"].get(task, {}).get(name)
                if summary is None:
                    continue
                chance = summary.get("chance", {}).get("accuracy")
                bars.append(
                    GroupBar(
                        run.label,
                        Score.read(summary, "accuracy"),
                        chance,
                        summary["scored"],
                        int(summary.get("clusters", 0)),
                        bool(summary.get("few_clusters", False)),
                        str(summary.get("ci_method", {}).get("accuracy", "")),
                    )
                )
            groups.append(GroupBars(task, name, bars))
    return groups


def _disease_order(name: str) -> tuple[int, str]:
    return (ANSWER_CLASSES.index(name), name) if name in ANSWER_CLASSES else (len(ANSWER_CLASSES), name)


@dataclass(frozen=True, slots=True)
class Confusion:
    run: str
    rows: list[str]
    columns: list[str]
    counts: list[list[int]]

    def share(self, row: int, column: int) -> float:
        total = sum(self.counts[row])
        return self.counts[row][column] / total if total else 0.0


def confusion(run: LoadedRun) -> Confusion:
    pairs: list[tuple[str, str]] = []
    for question in run.questions:
        prediction = run.predictions.get(question.id)
        if question.task != "SDD" or prediction is None or prediction.failed:
            continue
        texts = [question.options[LETTERS.index(x)] for x in prediction.letters if x in question.letters]
        pairs.append((question.disease, texts[0] if texts else NO_ANSWER))
    rows = sorted({truth for truth, _ in pairs}, key=_disease_order)
    columns = [*sorted({c for _, c in pairs if c != NO_ANSWER} | set(rows), key=_disease_order), NO_ANSWER]
    counts = [[0] * len(columns) for _ in rows]
    for truth, chosen in pairs:
        counts[rows.index(truth)][columns.index(chosen)] += 1
    return Confusion(run.label, rows, columns, counts)


@dataclass(frozen=True, slots=True)
class LevelView:
    """One run's SLL per-level recall and precision (with intervals and chance lines), by level name."""

    run: str
    levels: dict[str, dict[str, Any]]

    def score(self, level: str, metric: str) -> Score:
        return Score.read(self.levels.get(level), metric)

    def chance(self, level: str, metric: str) -> float | None:
        found: float | None = (self.levels.get(level) or {}).get("chance", {}).get(metric)
        return found


def level_view(runs: Sequence[LoadedRun]) -> list[LevelView]:
    views = []
    for run in runs:
        by_level = run.scores["tasks"].get("SLL", {}).get("by_level", {})
        views.append(LevelView(run.label, {k: v for k, v in by_level.items() if v["true"] or v["chosen"]}))
    return views


@dataclass(frozen=True, slots=True)
class BalancedView:
    """SDD accuracy beside balanced accuracy and macro-F1, each with interval and chance line."""

    run: str
    metrics: list[tuple[str, Score, float | None, str]]


BALANCED_METRICS = (
    ("accuracy", "accuracy"),
    ("balanced_accuracy", "balanced accuracy"),
    ("macro_f1", "macro-F1"),
)


def balanced_view(runs: Sequence[LoadedRun]) -> list[BalancedView]:
    views = []
    for run in runs:
        sdd = run.scores["tasks"].get("SDD")
        if not sdd:
            continue
        metrics = [
            (title, Score.read(sdd, key), sdd["chance"].get(key), sdd.get("ci_method", {}).get(key, ""))
            for key, title in BALANCED_METRICS
        ]
        views.append(BalancedView(run.label, metrics))
    return views


@dataclass(frozen=True, slots=True)
class RunUsage:
    """Extraction stages, failures, latency and tokens of one run."""

    run: str
    stages: dict[str, int]
    errors: int
    pending: int
    errors_by_kind: dict[str, int]
    requests: int
    latency_median: float | None
    latency_p95: float | None
    input_tokens_mean: float | None
    output_tokens_mean: float | None
    output_tokens_total: int | None


def usage(run: LoadedRun) -> RunUsage:
    stages = dict.fromkeys(STAGES, 0)
    for summary in run.scores["tasks"].values():
        for stage, count in summary["stages"].items():
            stages[stage] = stages.get(stage, 0) + count
    ids = {q.id for q in run.questions}
    answered = [
        p
        for key, p in run.predictions.items()
        if not p.failed and split_paraphrase_id(split_rotation_id(key).question_id).question_id in ids
    ]
    latencies = np.array([p.latency_s for p in answered if p.latency_s is not None], dtype=np.float64)
    inputs = [p.input_tokens for p in answered if p.input_tokens is not None]
    outputs = [p.output_tokens for p in answered if p.output_tokens is not None]
    counts = run.scores["counts"]
    return RunUsage(
        run=run.label,
        stages=stages,
        errors=counts["errors"],
        pending=counts["pending"],
        errors_by_kind=counts["errors_by_kind"],
        requests=len(answered),
        latency_median=float(np.median(latencies)) if latencies.size else None,
        latency_p95=float(np.percentile(latencies, 95)) if latencies.size else None,
        input_tokens_mean=sum(inputs) / len(inputs) if inputs else None,
        output_tokens_mean=sum(outputs) / len(outputs) if outputs else None,
        output_tokens_total=sum(outputs) if outputs else None,
    )


@dataclass(frozen=True, slots=True)
class CircularView:
    run: str
    plain: Score
    circular: Score
    chance: float | None
    circular_chance: float | None
    counts: dict[str, int]
    bias: dict[str, dict[str, float]]


def circular_view(run: LoadedRun) -> CircularView | None:
    sdd = run.scores["tasks"].get("SDD")
    if not sdd or "circular_accuracy" not in sdd:
        return None
    return CircularView(
        run=run.label,
        plain=Score.read(sdd, "accuracy"),
        circular=Score.read(sdd, "circular_accuracy"),
        chance=sdd["chance"].get("accuracy"),
        circular_chance=sdd["chance"].get("circular_accuracy"),
        counts=sdd["circular"],
        bias=sdd.get("position_bias", {}),
    )


@dataclass(frozen=True, slots=True)
class Comparison:
    """A run against the first run of the report, on the questions both scored."""

    run: str
    baseline: str
    tasks: dict[str, Any]


def comparisons(runs: Sequence[LoadedRun], settings: BootstrapSettings | None) -> list[Comparison]:
    if len(runs) < 2:
        return []
    first = runs[0]
    found = []
    for run in runs[1:]:
        if run.benchmark.manifest_sha256 != first.benchmark.manifest_sha256:
            continue
        result = compare_runs(run.questions, run.predictions, first.predictions, bootstrap=settings)
        found.append(Comparison(run.label, first.label, result))
    return found
