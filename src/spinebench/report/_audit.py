"""The visual-reliance audit: a run against its image-control runs, with the built-in baselines as references.

`audit_runs(real, others)` opens the runs (all on one benchmark, or it refuses), pairs the real run with
every control run (`--image-control`) through `metrics.image_reliance`, and scores the references:

- `prior`, always, computed here from the run's questions: what the options alone can score;
- any baseline run given (`knn`: what the image alone can score, to an image encoder; `random`, ...).

A control run made with other settings than the real run (another model, prompt or seed) is still paired,
with a warning naming the differences: the difference then is no longer only the image's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from spinebench.baselines import PriorBaseline, is_baseline_spec
from spinebench.errors import BenchmarkError, RunDirectoryError
from spinebench.metrics import image_reliance, score_run
from spinebench.prediction import Prediction
from spinebench.report._leaderboard import Score
from spinebench.report._runs import LoadedRun, load_runs
from spinebench.stats import BootstrapSettings

# Identity keys a control run differs in by design, or that do not change plain-question answers.
_CONTROL_KEYS: Final = frozenset({"image_control", "image_control_version", "circular", "paraphrases"})
REFERENCE_MEANINGS: Final = {
    "prior": "the options alone (most frequent answer)",
    "knn": "the image alone (nearest library images)",
    "random": "a uniform random answer",
    "constant": "one fixed answer",
}


@dataclass(frozen=True, slots=True)
class ControlPairing:
    """A control run paired with the real run: reliance per task and disease (`metrics.image_reliance`)."""

    label: str
    control: str
    path: Path
    real: str  # the label of the run it is paired with
    tasks: dict[str, Any]
    warnings: tuple[str, ...]

    @property
    def blind(self) -> bool:
        return self.control == "text-only"


@dataclass(frozen=True, slots=True)
class Reference:
    """A baseline's scores on the same questions, beside the real run's."""

    label: str
    meaning: str
    tasks: dict[str, Score]


@dataclass(frozen=True, slots=True)
class Audit:
    run: LoadedRun
    controls: tuple[ControlPairing, ...]
    references: tuple[Reference, ...]

    def flags(self) -> list[str]:
        """One line per task on which the run cannot be told apart from one of its controls."""
        found = []
        for pairing in self.controls:
            for task, entry in pairing.tasks.items():
                if entry["indistinguishable"]:
                    what = "its own blind (text-only) run" if pairing.blind else f"its {pairing.control} run"
                    found.append(
                        f"{self.run.label} cannot be told apart from {what} on {task}: reliance "
                        f"{_points(entry['reliance'])} points, 95% interval {_interval(entry['ci'])}"
                    )
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "run": str(self.run.path),
            "model": self.run.model,
            "benchmark": {
                "name": self.run.benchmark.name,
                "manifest_sha256": self.run.benchmark.manifest_sha256,
            },
            "controls": [
                {
                    "control": c.control,
                    "run": str(c.path),
                    "model": c.label,
                    "warnings": list(c.warnings),
                    "tasks": c.tasks,
                }
                for c in self.controls
            ],
            "references": [
                {
                    "reference": r.label,
                    "meaning": r.meaning,
                    "tasks": {t: {"accuracy": s.value, "ci": s.ci} for t, s in r.tasks.items()},
                }
                for r in self.references
            ],
            "flags": self.flags(),
        }


def control_of(run: LoadedRun) -> str | None:
    """The image control a run was made with (None for a real run)."""
    control = run.record["identity"].get("image_control")
    return str(control) if control else None


def audit_runs(
    real: Path,
    others: Sequence[Path],
    *,
    bench: Path | None = None,
    bootstrap: BootstrapSettings | None = None,
) -> Audit:
    """Pairs `real` with each control run among `others`; the baseline runs among them are references."""
    settings = bootstrap or BootstrapSettings()
    if not others:
        raise RunDirectoryError(
            "an audit needs at least one control run (spinebench eval --image-control ...)"
        )
    runs = load_runs([real, *others], bench=bench, bootstrap=settings)
    first = runs[0]
    for run in runs[1:]:
        if run.benchmark.manifest_sha256 != first.benchmark.manifest_sha256:
            raise BenchmarkError(
                f"run {run.path} was made on benchmark {run.benchmark.name} (manifest "
                f"{run.benchmark.manifest_sha256[:12]}…), but {first.path} on {first.benchmark.name} "
                f"({first.benchmark.manifest_sha256[:12]}…); an audit pairs runs on one benchmark only"
            )
    if control_of(first) is not None:
        raise RunDirectoryError(
            f"{first.path}: is a {control_of(first)} control run; give the run with the real images first"
        )
    controls: list[ControlPairing] = []
    references: list[Reference] = [_prior_reference(first, settings)]
    for run in runs[1:]:
        control = control_of(run)
        if control is not None:
            controls.append(pair_control(first, run, settings))
        elif is_baseline_spec(run.model):
            references.append(_run_reference(run))
        else:
            raise RunDirectoryError(
                f"{run.path}: is neither an image-control run nor a baseline run; the audit pairs a run with "
                "its controls (spinebench eval --image-control ...)"
            )
    if not controls:
        raise RunDirectoryError(
            "no image-control run among the runs given (spinebench eval --image-control ...)"
        )
    return Audit(first, tuple(controls), tuple(references))


def pair_control(real: LoadedRun, control: LoadedRun, settings: BootstrapSettings) -> ControlPairing:
    warnings = _identity_differences(real.record["identity"], control.record["identity"])
    tasks = image_reliance(real.questions, real.predictions, control.predictions, bootstrap=settings)
    return ControlPairing(
        control.label, control_of(control) or "", control.path, real.label, tasks, tuple(warnings)
    )


def pair_controls_in(runs: Sequence[LoadedRun], settings: BootstrapSettings) -> list[ControlPairing]:
    """For a report: each control run paired with the real run it was made beside (same settings but the
    control; failing that, the same model), when the runs hold one."""
    real = [run for run in runs if control_of(run) is None]
    pairings = []
    for run in runs:
        if control_of(run) is None:
            continue
        same = [r for r in real if not _identity_differences(r.record["identity"], run.record["identity"])]
        model = [r for r in real if r.model == run.model]
        if same or model:
            pairings.append(pair_control((same or model)[0], run, settings))
    return pairings


def _identity_differences(real: dict[str, Any], control: dict[str, Any]) -> list[str]:
    found = []
    for key in sorted((set(real) | set(control)) - _CONTROL_KEYS):
        if real.get(key) != control.get(key):
            found.append(f"{key} differs ({real.get(key)!r} vs {control.get(key)!r})")
    return found


def _task_scores(scores: dict[str, Any]) -> dict[str, Score]:
    return {task: Score.read(summary, "accuracy") for task, summary in scores["tasks"].items()}


def _run_reference(run: LoadedRun) -> Reference:
    kind = run.model.split(":", 1)[0]
    return Reference(run.label, REFERENCE_MEANINGS.get(kind, "a built-in baseline"), _task_scores(run.scores))


def _prior_reference(run: LoadedRun, settings: BootstrapSettings) -> Reference:
    """The prior baseline on the run's own questions, computed here (it needs no model and no image)."""
    prior = PriorBaseline()
    prior.fit(run.benchmark, run.questions)

    async def answer_all() -> dict[str, Prediction]:
        answers = {}
        for question in run.questions:
            reply = await prior.answer(question, None)
            answers[question.id] = Prediction(
                question.id, response=None, letters=reply.letters, stage="strict"
            )
        return answers

    predictions = asyncio.run(answer_all())
    scores = score_run(run.questions, predictions, circular=False, bootstrap=settings)
    return Reference("prior (computed)", REFERENCE_MEANINGS["prior"], _task_scores(scores))


def _points(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:+.2f}"


def _interval(ci: Sequence[float] | None) -> str:
    return "-" if not ci else f"[{100 * ci[0]:+.2f}, {100 * ci[1]:+.2f}]"
