"""Rank intervals from shared cluster resamples, and the leaderboard's tie groups."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spinebench.benchmark import open_sample
from spinebench.prediction import Prediction
from spinebench.report import leaderboard_sections, load_runs
from spinebench.run import EvalSettings, RunDirectory, evaluate
from spinebench.stats import BootstrapSettings, rank_intervals, tie_groups


def _parts(correct: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(runs, clusters, 1) right answers and questions from per-cluster right counts of 4 questions."""
    top = np.stack([c.astype(np.float64) for c in correct])[:, :, None]
    return top, np.full_like(top, 4.0)


def test_identical_runs_are_tied_and_very_different_runs_are_apart() -> None:
    rng = np.random.default_rng(0)
    good = rng.binomial(4, 0.8, size=200)
    bad = rng.binomial(4, 0.3, size=200)
    top, bottom = _parts([good, good.copy(), bad])
    ranks = rank_intervals(top, bottom, BootstrapSettings(resamples=400))
    assert ranks[0].group == ranks[1].group == 1 and ranks[2].group == 2
    assert (ranks[0].best, ranks[0].worst) == (1, 1) == (ranks[1].best, ranks[1].worst)  # equal: shared rank
    assert (ranks[2].best, ranks[2].worst) == (3, 3)


def test_close_runs_share_a_group_and_groups_partition_the_board() -> None:
    rng = np.random.default_rng(1)
    base = rng.binomial(4, 0.5, size=80)
    close = np.clip(base + rng.choice([-1, 0, 0, 0, 1], size=80), 0, 4)
    far = rng.binomial(4, 0.1, size=80)
    top, bottom = _parts([base, close, far])
    ranks = rank_intervals(top, bottom, BootstrapSettings(resamples=400))
    assert ranks[0].group == ranks[1].group != ranks[2].group
    groups = tie_groups([0.9, 0.8, 0.7, 0.6], [1, 1, 2, 3], [2, 3, 4, 4])
    # Runs 2 and 3 reach the leader's worst rank (2); run 4 (best rank 3) does not, and leads group 2,
    # although it overlaps run 3: groups are blocks led by their best run, not chains of overlaps.
    assert groups == [1, 1, 1, 2]


def test_leaderboard_ties_two_runs_with_the_same_answers_and_separates_a_perfect_one(
    tmp_path: Path,
) -> None:
    sample = open_sample()
    made = [evaluate(sample, tmp_path / name, EvalSettings(model="prior")).run_dir for name in ("a", "b")]
    perfect = evaluate(sample, tmp_path / "perfect", EvalSettings(model="random")).run_dir
    directory = RunDirectory(perfect)
    for question in sample.iter_questions():
        directory.append(Prediction(question.id, "x", question.answer, "strict"))
    directory.close()
    settings = BootstrapSettings(resamples=300)
    (section,) = leaderboard_sections(load_runs([*made, perfect], bootstrap=settings), settings)
    rows = {row.model + str(i): row for i, row in enumerate(section.section.rows)}
    first, *others = section.section.rows
    assert first.overall.value == pytest.approx(1.0) and first.group == 1 and first.rank == (1, 1)
    assert [row.group for row in others] == [2, 2] and others[0].rank == others[1].rank
    assert len(rows) == 3
