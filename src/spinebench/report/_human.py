"""Human baselines against models: each model run minus each human run (from `spinebench review export`),
paired on the questions the human answered, whatever the order of the runs in the report.

A human run covers the review's shared item set only, so the comparison is always on those items: the same
images, questions and options for the clinician and the model. The difference comes with a clustered
bootstrap interval and clustered paired tests (cluster sign-flip, clustered McNemar; see
`metrics.compare_runs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from spinebench.metrics import compare_runs
from spinebench.report._runs import LoadedRun
from spinebench.stats import BootstrapSettings

HUMAN_PREFIX: Final = "human:"


@dataclass(frozen=True, slots=True)
class HumanComparison:
    model: str
    human: str
    tasks: dict[str, Any]  # compare_runs' result: model is "a", the human "b"


def is_human(run: LoadedRun) -> bool:
    return run.model.startswith(HUMAN_PREFIX)


def human_comparisons(runs: Sequence[LoadedRun], settings: BootstrapSettings | None) -> list[HumanComparison]:
    found: list[HumanComparison] = []
    for human in (run for run in runs if is_human(run)):
        for model in (run for run in runs if not is_human(run)):
            if model.benchmark.manifest_sha256 != human.benchmark.manifest_sha256:
                continue
            result = compare_runs(human.questions, model.predictions, human.predictions, bootstrap=settings)
            found.append(HumanComparison(model.label, human.label, result))
    return found
