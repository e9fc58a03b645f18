"""Ratings of reasoning traces (humans' from the review app, an LLM judge's from `spinebench rubric`), read
from CSV and summarised for the report: mean per model and axis with a bootstrap interval over traces,
Krippendorff's alpha (ordinal) among human raters per axis, and, where a judge rated the same traces,
how well judge and humans agree (alpha over judge-human pairs, and how often they give the same score).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from spinebench.errors import SpineBenchError
from spinebench.report._agreement import alpha_interval, krippendorff_alpha
from spinebench.report._axes import AXES, AXIS_KEYS, SCALE
from spinebench.stats import BootstrapSettings, Interval, bootstrap_ci

JUDGE_PREFIX: Final = "judge:"
_REQUIRED: Final = ("trace_id", "model", "question_id", "rater", *AXIS_KEYS)


class RatingsError(SpineBenchError):
    """A ratings CSV is missing columns or holds a score outside 1, 3, 5."""


@dataclass(frozen=True, slots=True)
class RatingRow:
    trace_id: str
    model: str
    question_id: str
    task: str
    rater: str
    scores: dict[str, int | None]  # None: the rater (or judge) gave no score on that axis

    @property
    def by_judge(self) -> bool:
        return self.rater.startswith(JUDGE_PREFIX)


def read_ratings(paths: Sequence[Path]) -> list[RatingRow]:
    rows: list[RatingRow] = []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise RatingsError(f"{path}: cannot read the ratings file ({error})") from error
        reader = csv.DictReader(text.splitlines())
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise RatingsError(f"{path}: not a ratings CSV (missing columns: {', '.join(missing)})")
        for number, record in enumerate(reader, start=2):
            scores: dict[str, int | None] = {}
            for key in AXIS_KEYS:
                value = (record.get(key) or "").strip()
                if value == "":
                    scores[key] = None
                elif value in {str(s) for s in SCALE}:
                    scores[key] = int(value)
                else:
                    raise RatingsError(f"{path}: line {number}: {key} is {value!r}, not 1, 3, 5 or empty")
            rows.append(
                RatingRow(
                    record["trace_id"],
                    record["model"],
                    record["question_id"],
                    record.get("task") or "",
                    record["rater"],
                    scores,
                )
            )
    return rows


@dataclass(frozen=True, slots=True)
class AxisMean:
    axis: str
    mean: float | None
    ci: Interval | None
    ratings: int


@dataclass(frozen=True, slots=True)
class ModelRatings:
    model: str
    rater_kind: str  # "human" or the judge's name
    traces: int
    axes: list[AxisMean]


@dataclass(frozen=True, slots=True)
class Agreement:
    axis: str
    alpha: float | None
    ci: Interval | None
    units: int  # traces (human agreement) or judge-human pairs
    exact: float | None = None  # share of judge-human pairs with the same score


@dataclass(frozen=True, slots=True)
class RatingsSummary:
    rows: int
    human_raters: int
    judges: list[str]
    models: list[ModelRatings]
    human_agreement: list[Agreement]
    judge_agreement: dict[str, list[Agreement]]


def summarise_ratings(
    rows: Sequence[RatingRow], bootstrap: BootstrapSettings | None = None
) -> RatingsSummary:
    settings = bootstrap or BootstrapSettings()
    humans = [r for r in rows if not r.by_judge]
    judges = sorted({r.rater for r in rows if r.by_judge})
    models: list[ModelRatings] = []
    for kind, subset in [("human", humans), *[(j, [r for r in rows if r.rater == j]) for j in judges]]:
        by_model: dict[str, list[RatingRow]] = defaultdict(list)
        for row in subset:
            by_model[row.model].append(row)
        for model in sorted(by_model):
            models.append(_model_ratings(model, kind, by_model[model], settings))
    human_agreement = [_human_agreement(humans, axis, settings) for axis in AXIS_KEYS]
    judge_agreement = {
        judge: [
            _judge_agreement([r for r in rows if r.rater == judge], humans, axis, settings)
            for axis in AXIS_KEYS
        ]
        for judge in judges
    }
    return RatingsSummary(
        len(rows), len({r.rater for r in humans}), judges, models, human_agreement, judge_agreement
    )


def _model_ratings(model: str, kind: str, rows: list[RatingRow], settings: BootstrapSettings) -> ModelRatings:
    axes = []
    for axis in AXIS_KEYS:
        scored = [(r.trace_id, r.scores[axis]) for r in rows if r.scores[axis] is not None]
        values = [float(v) for _, v in scored if v is not None]
        mean = sum(values) / len(values) if values else None
        ci = bootstrap_ci(values, [t for t, _ in scored], settings) if values else None
        axes.append(AxisMean(axis, mean, ci, len(values)))
    return ModelRatings(model, kind, len({r.trace_id for r in rows}), axes)


def _human_agreement(humans: list[RatingRow], axis: str, settings: BootstrapSettings) -> Agreement:
    raters = sorted({r.rater for r in humans})
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for row in humans:
        value = row.scores[axis]
        if value is not None:
            table[row.trace_id][row.rater] = value
    units: list[list[float | None]] = [
        [float(v) if (v := table[t].get(rater)) is not None else None for rater in raters]
        for t in sorted(table)
    ]
    pairable = [u for u in units if sum(v is not None for v in u) >= 2]
    return Agreement(
        axis, krippendorff_alpha(units), alpha_interval(pairable, settings=settings), len(pairable)
    )


def _judge_agreement(
    judged: list[RatingRow], humans: list[RatingRow], axis: str, settings: BootstrapSettings
) -> Agreement:
    judge_scores = {r.trace_id: r.scores[axis] for r in judged if r.scores[axis] is not None}
    pairs: list[list[float | None]] = []
    for row in humans:
        human, judge = row.scores[axis], judge_scores.get(row.trace_id)
        if human is not None and judge is not None:
            pairs.append([float(judge), float(human)])
    exact = sum(a == b for a, b in pairs) / len(pairs) if pairs else None
    return Agreement(
        axis, krippendorff_alpha(pairs), alpha_interval(pairs, settings=settings), len(pairs), exact
    )


AXIS_TITLES: Final = {axis.key: axis.title for axis in AXES}
