"""Rank intervals from shared cluster resamples, and the tie groups of a leaderboard.

Every run is rescored on the same resamples of clusters (patients), so a resample ranks all runs at once;
a run's rank interval is the percentile interval of its ranks (rank 1 is best; runs with equal scores on a
resample share the better rank, so two runs with the same answers always rank alike).

Tie groups are consecutive blocks of the score-ordered leaderboard: the best run leads the first group, and
the next run joins the current group while its best rank reaches the leader's worst rank (the two rank
intervals overlap); otherwise it leads a new group. Groups therefore partition the leaderboard (a
transitive rule), unlike "the pairwise difference interval holds 0", which can tie A with B and B with C
but not A with C.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spinebench.stats._bootstrap import BootstrapSettings, resample_weights

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class RankInterval:
    score: float
    best: int
    worst: int
    group: int


def rank_intervals(
    numerators: FloatArray, denominators: FloatArray, settings: BootstrapSettings
) -> list[RankInterval]:
    """Runs' rank intervals and tie groups, in the runs' order.

    `numerators` and `denominators` are (runs, clusters, parts): each run's score is the mean over parts of
    the ratio of sums (e.g. overall = mean of SDD and SLL accuracy, with one part per task). A part a run did
    not answer (denominator 0) is left out of its mean; a run with no part at all ranks last.
    """
    runs, n_clusters, _ = numerators.shape
    if runs == 0:
        return []
    point = _scores(numerators.sum(axis=1), denominators.sum(axis=1))
    ranks: list[npt.NDArray[np.int64]] = []
    for weights in resample_weights(n_clusters, settings):
        top = np.einsum("bc,rcp->brp", weights, numerators)
        bottom = np.einsum("bc,rcp->brp", weights, denominators)
        scores = _scores(top, bottom)  # (resamples, runs)
        # 1 + how many runs score strictly better: equal scores share the better rank.
        ranks.append(1 + (scores[:, None, :] > scores[:, :, None]).sum(axis=2))
    all_ranks = np.concatenate(ranks, axis=0)
    tail = 100 * (1 - settings.level) / 2
    best = np.floor(np.percentile(all_ranks, tail, axis=0)).astype(int)
    worst = np.ceil(np.percentile(all_ranks, 100 - tail, axis=0)).astype(int)
    groups = tie_groups(point.tolist(), best.tolist(), worst.tolist())
    return [RankInterval(float(point[r]), int(best[r]), int(worst[r]), groups[r]) for r in range(runs)]


def _scores(top: FloatArray, bottom: FloatArray) -> FloatArray:
    """Mean over the last axis of top / bottom where bottom > 0; -inf where a run has no part."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)
    present = np.isfinite(ratio)
    counts = present.sum(axis=-1)
    total = np.where(present, ratio, 0.0).sum(axis=-1)
    return np.where(counts > 0, total / np.maximum(counts, 1), -np.inf)


def tie_groups(scores: list[float], best: list[int], worst: list[int]) -> list[int]:
    """Group numbers (1 = the top group) by the leader rule of the module docstring."""
    order = sorted(range(len(scores)), key=lambda r: (-scores[r], best[r], r))
    groups = [0] * len(scores)
    group, leader = 0, -1
    for r in order:
        if leader < 0 or best[r] > worst[leader]:
            group, leader = group + 1, r
        groups[r] = group
    return groups
