"""Paired comparison of two runs on the same questions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from spinebench.benchmark import Question
from spinebench.stats import (
    BootstrapSettings,
    Interval,
    mcnemar_test,
    paired_difference,
)

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    from spinebench.prediction import Prediction
from spinebench.metrics._outcome import Outcome


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
