"""Coverage of the cell intervals (Wilson at the clustered effective size), and patient vs image clustering.

The simulation draws clustered right/wrong outcomes: each cluster (patient) has its own accuracy, from a beta
distribution with the cell's mean and intra-cluster correlation rho, and a Poisson number of questions.
Over a grid of accuracies (near 0 and 1 included), cluster sizes, correlations and cell sizes (20, 60 and
300 clusters), the 95% intervals must cover on average 94-96% of the time, and never less than 90%; cells of
only 12 clusters must still never cover less than 90% (they over-cover: the conservative side).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spinebench.benchmark import Question
from spinebench.metrics import score_run
from spinebench.prediction import Prediction
from spinebench.stats import minority_clusters, wilson_cluster

ACCURACIES = (0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99)
CLUSTER_SIZES = (1, 3, 8)  # mean questions per patient
CORRELATIONS = (0.0, 0.1, 0.25)
CELLS = (20, 60, 300)  # clusters per cell: small (flagged, below 30), small (60-480 questions), large
REPLICATIONS = 1000


def _coverage(p: float, size: int, rho: float, clusters: int, rng: np.random.Generator) -> float:
    shape = (REPLICATIONS, clusters)
    m = (rng.poisson(size - 1, size=shape) + 1).astype(np.float64)
    if rho > 0:
        spread = 1 / rho - 1
        p_cluster = rng.beta(p * spread, (1 - p) * spread, size=shape)
    else:
        p_cluster = np.full(shape, p)
    y = rng.binomial(m.astype(np.int64), p_cluster).astype(np.float64)
    n = m.sum(axis=1)
    mean = y.sum(axis=1) / n
    residual = y - mean[:, None] * m
    variance = clusters / (clusters - 1) * (residual**2).sum(axis=1) / n**2
    minority = minority_clusters(y, m, axis=1)
    found = wilson_cluster(mean, n, variance, np.full(REPLICATIONS, clusters), minority_clusters=minority)
    return float(np.mean((found.low <= p) & (p <= found.high)))


def test_coverage_over_accuracies_cluster_sizes_correlations_and_cell_sizes() -> None:
    rng = np.random.default_rng(20261204)
    results: dict[tuple[float, int, float, int], float] = {}
    for p, size, rho, clusters in itertools.product(ACCURACIES, CLUSTER_SIZES, CORRELATIONS, CELLS):
        if size == 1 and rho > 0:
            continue  # one question per cluster: no within-cluster correlation to speak of
        results[(p, size, rho, clusters)] = _coverage(p, size, rho, clusters, rng)
    coverage = np.array(list(results.values()))
    worst = min(results, key=results.__getitem__)
    assert 0.94 <= coverage.mean() <= 0.96, coverage.mean()
    assert coverage.min() >= 0.90, (worst, results[worst])
    for cells in ((20, 60), (300,)):  # small and large cells alike
        part = np.array([c for key, c in results.items() if key[3] in cells])
        assert part.min() >= 0.90, (cells, part.min())
        # Small cells over-cover somewhat near 0 and 1 (a count of 0 or 1 right is discrete); never under.
        assert 0.94 <= part.mean() <= 0.975, (cells, part.mean())


def test_cells_of_very_few_clusters_never_undercover_badly() -> None:
    rng = np.random.default_rng(7)
    for p, size, rho in itertools.product((0.02, 0.2, 0.5, 0.95), (3, 8), (0.0, 0.25)):
        assert _coverage(p, size, rho, 12, rng) >= 0.90, (p, size, rho)


def _patient_benchmark() -> tuple[list[Question], dict[str, Prediction]]:
    """60 patients with 5 images each; a patient's images are all answered right or all wrong."""
    options = ("a", "b", "c", "d", "e")
    questions, predictions = [], {}
    for patient in range(60):
        right = patient % 3 == 0
        for image in range(5):
            qid = f"p{patient}-i{image}"
            questions.append(
                Question(
                    qid, "SDD", f"img-{qid}", "q", options, ("A",), "Healthy", "s", "mri", (), f"pt{patient}"
                )
            )
            predictions[qid] = Prediction(qid, "r", ("A",) if right else ("B",), "strict")
    return questions, predictions


def test_patient_clustering_gives_wider_intervals_than_image_clustering() -> None:
    questions, predictions = _patient_benchmark()
    by_patient = score_run(questions, predictions)
    by_image = score_run([q.__class__(**{**_fields(q), "patient": None}) for q in questions], predictions)
    assert by_patient["intervals"]["cluster"] == "patient" and by_image["intervals"]["cluster"] == "image"
    assert by_patient["bootstrap"]["cluster"] == "patient"
    patient_sdd, image_sdd = by_patient["tasks"]["SDD"], by_image["tasks"]["SDD"]
    assert patient_sdd["accuracy"] == image_sdd["accuracy"] == pytest.approx(1 / 3, abs=1e-6)
    assert (patient_sdd["clusters"], image_sdd["clusters"]) == (60, 300)
    width = lambda s: s["ci"]["accuracy"][1] - s["ci"]["accuracy"][0]  # noqa: E731
    assert width(patient_sdd) > 1.8 * width(image_sdd)
    assert patient_sdd["design_effect"]["accuracy"] == pytest.approx(5, rel=0.1)
    assert image_sdd["design_effect"]["accuracy"] == pytest.approx(1, abs=0.01)
    assert patient_sdd["ci_method"]["accuracy"] == "wilson-cluster"
    # The overall-free single-task run still names its cell methods and flags no small cell here.
    assert patient_sdd["few_clusters"] is False


def _fields(question: Question) -> dict[str, object]:
    return {name: getattr(question, name) for name in question.__slots__}  # type: ignore[attr-defined]


def test_cells_with_few_patients_are_flagged_and_all_right_cells_keep_width() -> None:
    questions, predictions = _patient_benchmark()
    few = [q for q in questions if int(q.patient[2:]) < 10]  # type: ignore[index]
    scores = score_run(few, {q.id: predictions[q.id] for q in few})
    sdd = scores["tasks"]["SDD"]
    assert sdd["clusters"] == 10 and sdd["few_clusters"] is True
    right = [q for q in few if int(q.patient[2:]) % 3 == 0]  # type: ignore[index]
    perfect = score_run(right, predictions)["tasks"]["SDD"]
    assert perfect["accuracy"] == 1.0 and perfect["ci"]["accuracy"][0] < 0.9  # never a zero-width interval
