"""Image reliance: how much of a model's score goes when its image is taken away or replaced.

Reliance = accuracy(real run) - accuracy(control run), on the questions both runs scored, per task and per
task and disease. Its interval is the paired cluster bootstrap of `stats.paired_difference`, as for
`compare_runs`: a question's two outcomes stay together, and whole clusters (patients; images where the
benchmark has no patient) are resampled, since a patient's questions are not independent. Beside it the two
clustered paired tests of `stats.paired_cluster_test` (cluster sign-flip, clustered McNemar); plain McNemar
is not given, since it treats a patient's questions as independent and its p-value would be too small.
`changed` is the share of paired questions whose chosen letters differ between the two runs: a model can
keep its accuracy and still answer differently.

A run is "indistinguishable" from its control on a task when the interval of the reliance covers 0: at
this sample size nothing shows that the model used the image.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from spinebench.benchmark import Question
from spinebench.metrics._classwise import BOOTSTRAP_CLUSTER
from spinebench.metrics._outcome import Outcome
from spinebench.stats import (
    BootstrapSettings,
    Interval,
    cluster_codes,
    cluster_sums,
    paired_cluster_test,
    paired_difference,
)

if TYPE_CHECKING:  # metrics reads run outputs; the runner imports metrics, so no runtime import back
    from spinebench.prediction import Prediction


@dataclass
class _Pairs:
    clusters: list[str] = field(default_factory=list)
    real: list[float] = field(default_factory=list)
    control: list[float] = field(default_factory=list)
    changed: int = 0

    def add(self, question: Question, real: Outcome, control: Outcome) -> None:
        assert real.prediction is not None and control.prediction is not None
        # Clustered on the patient (the image where unknown): the unit every other interval resamples.
        self.clusters.append(question.cluster)
        self.real.append(float(real.exact))
        self.control.append(float(control.exact))
        self.changed += set(real.prediction.letters) != set(control.prediction.letters)

    def summary(self, settings: BootstrapSettings) -> dict[str, Any]:
        diff = paired_difference(self.real, self.control, self.clusters, settings)
        ci = diff.ci.rounded() if isinstance(diff.ci, Interval) else None
        real = np.asarray(self.real, dtype=np.float64)
        control = np.asarray(self.control, dtype=np.float64)
        codes, n_clusters = cluster_codes(self.clusters)
        test = paired_cluster_test(
            cluster_sums(codes, real - control, n_clusters), diff.n, seed=settings.seed
        )
        return {
            "paired": diff.n,
            "clusters": n_clusters,
            "real_accuracy": round(diff.mean_a, 6),
            "control_accuracy": round(diff.mean_b, 6),
            "reliance": round(diff.difference, 6),
            "ci": ci,
            "ci_method": BOOTSTRAP_CLUSTER,
            "indistinguishable": ci is None or ci[0] <= 0.0 <= ci[1],
            "changed": round(self.changed / diff.n, 6),
            "test": {
                "only_real_correct": int(((real > 0) & ~(control > 0)).sum()),
                "only_control_correct": int((~(real > 0) & (control > 0)).sum()),
                "p_sign_flip": test.p_sign_flip,
                "sign_flip_exact": test.sign_flip_exact,
                "p_clustered_mcnemar": test.p_clustered_mcnemar,
                "informative_clusters": test.informative_clusters,
            },
        }


def image_reliance(
    questions: Iterable[Question],
    real: Mapping[str, Prediction],
    control: Mapping[str, Prediction],
    *,
    bootstrap: BootstrapSettings | None = None,
) -> dict[str, Any]:
    """Per task: reliance with its interval, `changed`, the clustered paired tests, and the same per disease
    (`by_disease`).

    Accuracy is SDD accuracy and SLL exact-set accuracy. Only questions both runs scored are paired; the
    plain question ids are read (rotation 0 and the question's own wording).
    """
    settings = bootstrap or BootstrapSettings()
    tasks: dict[str, _Pairs] = {}
    diseases: dict[str, dict[str, _Pairs]] = {}
    for question in questions:
        a, b = Outcome(question, real.get(question.id)), Outcome(question, control.get(question.id))
        if not (a.scored and b.scored):
            continue
        tasks.setdefault(question.task, _Pairs()).add(question, a, b)
        diseases.setdefault(question.task, {}).setdefault(question.disease, _Pairs()).add(question, a, b)
    result: dict[str, Any] = {}
    for task in sorted(tasks):
        entry = tasks[task].summary(settings)
        entry["by_disease"] = {
            name: pairs.summary(settings) for name, pairs in sorted(diseases[task].items())
        }
        result[task] = entry
    return result
