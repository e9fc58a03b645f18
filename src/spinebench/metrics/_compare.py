"""Paired comparison of two runs on the same questions, clustered on patients.

Per task and metric: A minus B on the questions both scored, with a cluster-bootstrap interval (pairs stay
together, clusters are resampled whole) and two clustered paired tests (cluster sign-flip, clustered McNemar;
see `spinebench.stats.paired_cluster_test`). For accuracy also the discordance rate (share of questions
exactly one run got right) and the minimum detectable difference at that rate (80% power, alpha 0.05).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from spinebench.benchmark import Question
from spinebench.stats import (
    BootstrapSettings,
    FloatArray,
    IntArray,
    Interval,
    cluster_codes,
    cluster_sums,
    cluster_variance,
    minimum_detectable_difference,
    paired_cluster_test,
    paired_difference,
)

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    from spinebench.prediction import Prediction
from spinebench.metrics._classwise import BOOTSTRAP_CLUSTER
from spinebench.metrics._outcome import Outcome


def compare_runs(
    questions: Iterable[Question],
    run_a: Mapping[str, Prediction],
    run_b: Mapping[str, Prediction],
    *,
    bootstrap: BootstrapSettings | None = None,
) -> dict[str, Any]:
    """Run A minus run B on the questions both scored, per task and metric (see the module docstring)."""
    settings = bootstrap or BootstrapSettings()
    paired: dict[str, list[tuple[str, dict[str, float], dict[str, float]]]] = {}
    for question in questions:
        a, b = Outcome(question, run_a.get(question.id)), Outcome(question, run_b.get(question.id))
        if a.scored and b.scored:
            paired.setdefault(question.task, []).append((question.cluster, a.values(), b.values()))
    result: dict[str, Any] = {}
    for task, rows in sorted(paired.items()):
        clusters = [cluster for cluster, _, _ in rows]
        codes, n_clusters = cluster_codes(clusters)
        entry: dict[str, Any] = {"paired": len(rows), "clusters": n_clusters}
        for metric in rows[0][1]:
            first = np.asarray([r[1][metric] for r in rows], dtype=np.float64)
            second = np.asarray([r[2][metric] for r in rows], dtype=np.float64)
            diff = paired_difference(first, second, clusters, settings)
            sums = cluster_sums(codes, first - second, n_clusters)
            test = paired_cluster_test(sums, len(rows), seed=settings.seed)
            entry[metric] = {
                "a": round(diff.mean_a, 6),
                "b": round(diff.mean_b, 6),
                "difference": round(diff.difference, 6),
                "ci": diff.ci.rounded() if isinstance(diff.ci, Interval) else None,
                "ci_method": BOOTSTRAP_CLUSTER,
                "test": {
                    "p_sign_flip": test.p_sign_flip,
                    "sign_flip_exact": test.sign_flip_exact,
                    "p_clustered_mcnemar": test.p_clustered_mcnemar,
                    "informative_clusters": test.informative_clusters,
                },
            }
            if metric == "accuracy":
                entry[metric] |= _discordance(codes, n_clusters, first, second)
        result[task] = entry
    return result


def _discordance(codes: IntArray, n_clusters: int, first: FloatArray, second: FloatArray) -> dict[str, Any]:
    only_a = (first > 0) & ~(second > 0)
    only_b = ~(first > 0) & (second > 0)
    discordant = (only_a | only_b).astype(np.float64)
    rate = float(discordant.mean())
    # The design effect of the paired difference, from its clustered variance (floored at 1 there).
    difference = first - second
    _, variance, questions, _ = cluster_variance(
        cluster_sums(codes, difference, n_clusters), cluster_sums(codes, np.ones_like(difference), n_clusters)
    )
    iid = float(np.var(difference)) / questions if questions else 0.0
    deff = max(1.0, variance / iid) if iid > 0 and np.isfinite(variance) else 1.0
    found = minimum_detectable_difference(len(first), rate, design_effect=deff) if rate > 0 else None
    return {
        "only_a_correct": int(only_a.sum()),
        "only_b_correct": int(only_b.sum()),
        "discordance": round(rate, 6),
        "design_effect": round(deff, 4),
        "detectable_difference": None
        if found is None or found.difference is None
        else round(found.difference, 6),
    }
