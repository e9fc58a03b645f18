"""The cells of scores.json (a task, or a task within a disease, source, modality or level) and their
intervals: per-question values collected with their cluster, then one interval per cell and metric.

Every cell is a mean of values in [0, 1], so it gets Wilson's interval at the clustered effective size
(`spinebench.stats.wilson_cluster`); the overall score, a mean of two task accuracies, gets the cluster
bootstrap from the same resamples as its parts (docs/statistics.md).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from spinebench.metrics._classwise import BOOTSTRAP_CLUSTER
from spinebench.stats import (
    FEW_CLUSTERS,
    WILSON_CLUSTER,
    BootstrapSettings,
    FloatArray,
    IntArray,
    bootstrap_ratios,
    minority_clusters,
    percentile_intervals,
    wilson_cluster,
)


@dataclass(frozen=True, slots=True)
class CellInterval:
    """A cell's interval, how it was made, and on how many clusters."""

    ci: list[float] | None
    method: str
    clusters: int
    design_effect: float | None = None


class Columns:
    """Per-question metric values keyed by the scores.json place they feed, clustered for the intervals.

    Held as typed arrays (8 bytes a value) rather than lists of Python numbers: a 65k-question run adds
    several values per question, and scoring must not cost more memory than the run did.
    """

    def __init__(self) -> None:
        self.clusters: dict[bytes, int] = {}  # by `cluster_key`
        self.keys: dict[tuple[str, ...], int] = {}
        self._clusters = array("q")
        self._columns = array("q")
        self._values = array("d")

    def code(self, cluster: str) -> int:
        """The cluster's number, in order of first appearance (which the bootstrap's draws follow)."""
        return self.clusters.setdefault(cluster_key(cluster), len(self.clusters))

    def add(self, cluster: str, key: tuple[str, ...], value: float) -> None:
        self._clusters.append(self.code(cluster))
        self._columns.append(self.keys.setdefault(key, len(self.keys)))
        self._values.append(value)

    def intervals(
        self, settings: BootstrapSettings, extra: tuple[FloatArray, FloatArray] | None = None
    ) -> tuple[dict[tuple[str, ...], CellInterval], FloatArray | None]:
        """Wilson intervals at the clustered effective size for every cell (all are means of values in
        [0, 1]); the overall score, a mean of two accuracies, from the cluster bootstrap."""
        n_clusters, n_columns = len(self.clusters), len(self.keys)
        if not n_columns:
            return {}, None
        # Sums per (cluster, cell) for the pairs that occur only: a dense clusters x cells table would be
        # 40k x 100 numbers, several times over, for the full benchmark.
        pairs = np.frombuffer(self._clusters, dtype=np.int64) * n_columns + np.frombuffer(
            self._columns, dtype=np.int64
        )
        values = np.frombuffer(self._values, dtype=np.float64)
        sdd, sll = self.keys.get(("tasks", "SDD", "accuracy")), self.keys.get(("tasks", "SLL", "accuracy"))
        parts = [sdd, sll] if sdd is not None and sll is not None else []
        if n_clusters * n_columns <= 4 * pairs.size:  # the whole table is at most 4 numbers a value: dense
            size = n_clusters * n_columns
            numerators = np.bincount(pairs, weights=values, minlength=size).astype(np.float64)
            numerators = numerators.reshape(n_clusters, n_columns)
            every_count = np.bincount(pairs, minlength=size).astype(np.float64)
            denominators = every_count.reshape(n_clusters, n_columns)
            found = clustered_wilson(numerators, denominators, settings)
            part_sums, part_counts = numerators[:, parts], denominators[:, parts]
        else:
            present, where = np.unique(pairs, return_inverse=True)
            sums: FloatArray = np.bincount(where, weights=values, minlength=present.size).astype(np.float64)
            counts: FloatArray = np.bincount(where, minlength=present.size).astype(np.float64)
            pair_cluster, pair_column = np.divmod(present, n_columns)
            found = _wilson_cells(pair_column, sums, counts, n_columns, settings)
            part_sums, part_counts = np.zeros((n_clusters, len(parts))), np.zeros((n_clusters, len(parts)))
            for k, column in enumerate(parts):
                chosen = pair_column == column
                part_sums[pair_cluster[chosen], k] = sums[chosen]
                part_counts[pair_cluster[chosen], k] = counts[chosen]
        result = {key: found[k] for key, k in self.keys.items()}
        # One bootstrap for every combined score: the overall's two parts and the `extra` ratio columns
        # (balanced accuracy, macro-F1) come from the same resamples (drawing them is the costly part).
        tops, bottoms = [part_sums], [part_counts]
        if extra is not None:
            tops.append(extra[0])
            bottoms.append(extra[1])
        top, bottom = np.hstack(tops), np.hstack(bottoms)
        samples = bootstrap_ratios(top, bottom, settings) if top.shape[1] else None
        if parts and samples is not None:
            # Overall from the same resamples as its two parts, so its interval respects their correlation.
            ci = percentile_intervals(samples[:, :2].mean(axis=1, keepdims=True), settings.level)[0]
            both = int((part_counts.sum(axis=1) > 0).sum())
            result[("overall",)] = CellInterval(None if ci is None else ci.rounded(), BOOTSTRAP_CLUSTER, both)
        rest = None if samples is None or extra is None else samples[:, len(parts) :]
        return result, rest


def cluster_key(cluster: str) -> bytes:
    """A 16-byte stand-in for a cluster's name ("image:images/ab/<64 hex>.png" is 140 bytes as a string, held
    once per cluster while a run is scored); two of 10^6 clusters share one with odds of 10^-27."""
    return hashlib.blake2b(cluster.encode(), digest_size=16).digest()


def clustered_wilson(
    numerators: FloatArray, denominators: FloatArray, settings: BootstrapSettings
) -> list[CellInterval]:
    """Wilson's interval at the clustered effective size for each column of per-cluster sums of values in
    [0, 1] (`numerators`) over per-cluster question counts (`denominators`), both [clusters, columns]."""
    questions = denominators.sum(axis=0)
    clusters = (denominators > 0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = numerators.sum(axis=0) / questions
        residual = numerators - mean * denominators
        variance = clusters / (clusters - 1) * (residual**2).sum(axis=0) / questions**2
    minority = minority_clusters(numerators, denominators)
    return _intervals(mean, questions, variance, clusters, minority, settings)


def _wilson_cells(
    column: IntArray, top: FloatArray, bottom: FloatArray, n_columns: int, settings: BootstrapSettings
) -> list[CellInterval]:
    """`clustered_wilson` from the (cluster, column) pairs that hold questions: each pair's column, sum and
    question count, clusters in order within each column, for tables too large to hold (the full benchmark:
    40k clusters x ~100 cells). Every sum adds in the order numpy sums a dense table of two or more columns,
    row by row, so it gives the same bits (a single column numpy sums pairwise: that table is always small
    and goes to `clustered_wilson`)."""
    questions: FloatArray = np.bincount(column, weights=bottom, minlength=n_columns).astype(np.float64)
    clusters: FloatArray = np.bincount(column, minlength=n_columns).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(column, weights=top, minlength=n_columns) / questions
        residual = top - mean[column] * bottom
        variance = clusters / (clusters - 1) * np.bincount(column, residual**2, n_columns) / questions**2
    # Clusters holding a right answer, or holding a wrong one, whichever is fewer (see minority_clusters).
    right = np.bincount(column, top > 1e-12, n_columns)
    wrong = np.bincount(column, top < bottom - 1e-12, n_columns)
    return _intervals(mean, questions, variance, clusters, np.minimum(right, wrong), settings)


def _intervals(
    mean: FloatArray,
    questions: FloatArray,
    variance: FloatArray,
    clusters: FloatArray,
    minority: FloatArray,
    settings: BootstrapSettings,
) -> list[CellInterval]:
    found = wilson_cluster(mean, questions, variance, clusters, settings.level, minority_clusters=minority)
    return [
        CellInterval(
            [round(float(found.low[k]), 6), round(float(found.high[k]), 6)] if questions[k] > 0 else None,
            WILSON_CLUSTER,
            int(clusters[k]),
            round(float(found.design_effect[k]), 4) if questions[k] > 0 else None,
        )
        for k in range(len(mean))
    ]


def cluster_name_of(known: set[bool]) -> str:
    """What the intervals cluster on, for scores.json: "patient", "image", or both when mixed."""
    if known == {True}:
        return "patient"
    if known == {False} or not known:
        return "image"
    return "patient (image where unknown)"


METHODS = {
    WILSON_CLUSTER: "Wilson score interval at the clustered effective size (design effect floored at 1), "
    "Student t critical value on clusters - 1 degrees of freedom, modified near 0 and 1",
    BOOTSTRAP_CLUSTER: "percentile interval of the cluster bootstrap (clusters resampled with replacement)",
}


def fill_cell(
    summary: dict[str, Any],
    intervals: Mapping[tuple[str, ...], CellInterval],
    place: tuple[str, ...],
    metrics: Iterable[str],
) -> None:
    """A cell's intervals, methods, design effects and cluster count (of its first metric)."""
    shown = [m for m in metrics if m in summary]
    cells = {m: intervals.get((*place, m)) for m in shown}
    summary["ci"] = {m: None if c is None else c.ci for m, c in cells.items()}
    summary["ci_method"] = {m: WILSON_CLUSTER if c is None else c.method for m, c in cells.items()}
    summary["design_effect"] = {m: None if c is None else c.design_effect for m, c in cells.items()}
    first = cells.get(shown[0]) if shown else None
    summary["clusters"] = 0 if first is None else first.clusters
    summary["few_clusters"] = summary["clusters"] < FEW_CLUSTERS
