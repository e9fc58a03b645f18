"""Opening finished (or unfinished) run directories for reporting, read-only, and scoring them afresh.

A report is always rescored from predictions.jsonl (the source of truth) against the benchmark the run was
made on, so every run in one report has intervals computed the same way, whatever version wrote its
scores.json. The benchmark is found through run.json's `benchmark_path` (or `--bench`), and must be the very
benchmark of the run: its manifest hash is checked against the run's identity.

Reading never modifies a run: a run still being written may end in a torn line, which is skipped here
(the runner itself repairs it on its next start).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from spinebench.benchmark import Benchmark, Question
from spinebench.errors import BenchmarkError, RunDirectoryError
from spinebench.metrics import paraphrase_scores, score_run, split_rotation_id
from spinebench.prediction import Prediction
from spinebench.run import PREDICTIONS, RUN_JSON
from spinebench.stats import BootstrapSettings


@dataclass(frozen=True, slots=True)
class LoadedRun:
    """A run directory with its benchmark questions and fresh scores.

    `predictions` keeps raw responses only for the question ids the caller asked for (the item viewer's);
    the others have `response=None`, so memory stays small for long runs.
    """

    path: Path
    label: str
    model: str
    subset: str | None
    circular: bool
    record: dict[str, Any]
    benchmark: Benchmark
    questions: tuple[Question, ...]
    predictions: dict[str, Prediction]
    scores: dict[str, Any]


def read_run_record(path: Path) -> dict[str, Any]:
    file = path / RUN_JSON
    if not path.is_dir():
        raise RunDirectoryError(f"{path}: no such run directory")
    try:
        record = json.loads(file.read_text())
    except FileNotFoundError as error:
        raise RunDirectoryError(f"{file}: missing; {path} is not a SpineBench run directory") from error
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise RunDirectoryError(f"{file}: not valid JSON ({error})") from error
    if not isinstance(record, dict) or not isinstance(record.get("identity"), dict):
        raise RunDirectoryError(f"{file}: not a SpineBench run record (no identity)")
    return record


def read_predictions(path: Path, keep_text: Callable[[str], bool] | None = None) -> dict[str, Prediction]:
    """The latest prediction per id, read-only. Responses are kept where `keep_text(question_id)` holds."""
    file = path / PREDICTIONS
    latest: dict[str, Prediction] = {}
    if not file.exists():
        return latest
    with file.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                if not raw.endswith(b"\n"):
                    raise ValueError("no line end")
                prediction = Prediction.from_json(raw.decode())
            except (ValueError, TypeError, UnicodeDecodeError) as error:
                if not handle.peek(1):  # a torn last line: a run still being written, or a crash
                    break
                raise RunDirectoryError(f"{file}: line {number} is not a prediction ({error})") from error
            base = split_rotation_id(prediction.question_id).question_id
            if keep_text is None or not keep_text(base):
                prediction = replace(prediction, response=None, judge=None)
            latest[prediction.question_id] = prediction
    return latest


def open_run_benchmark(path: Path, record: dict[str, Any], bench: Path | None) -> Benchmark:
    """The benchmark a run was made on: `bench` if given, else run.json's benchmark_path; hash-checked."""
    where = bench if bench is not None else record.get("benchmark_path")
    if not where:
        raise BenchmarkError(f"{path / RUN_JSON}: records no benchmark_path; pass --bench PATH")
    try:
        benchmark = Benchmark.open(Path(where))
    except BenchmarkError as error:
        hint = (
            "" if bench is not None else " (the path recorded in run.json; pass --bench PATH to point at it)"
        )
        raise BenchmarkError(f"run {path}: cannot open its benchmark: {error}{hint}") from error
    check_benchmark(path, record, benchmark)
    return benchmark


def check_benchmark(path: Path, record: dict[str, Any], benchmark: Benchmark) -> None:
    expected = record["identity"].get("benchmark", {}).get("manifest_sha256")
    if expected and expected != benchmark.manifest_sha256:
        raise BenchmarkError(
            f"run {path}: was made on benchmark manifest {expected[:12]}…, but {benchmark.path} has "
            f"{benchmark.manifest_sha256[:12]}…; pass --bench with the benchmark the run used"
        )


def load_runs(
    paths: Sequence[Path],
    *,
    bench: Path | None = None,
    bootstrap: BootstrapSettings | None = None,
    keep_text: Callable[[str], bool] | None = None,
) -> list[LoadedRun]:
    """Opens every run (and each distinct benchmark once), rescoring each from its predictions."""
    if not paths:
        raise RunDirectoryError("no run directory given")
    benchmarks: dict[str, Benchmark] = {}
    question_sets: dict[tuple[str, str | None], tuple[Question, ...]] = {}
    loaded: list[LoadedRun] = []
    for path in paths:
        record = read_run_record(path)
        identity = record["identity"]
        key = str(bench or record.get("benchmark_path"))
        if key in benchmarks:
            benchmark = benchmarks[key]
            check_benchmark(path, record, benchmark)
        else:
            benchmark = benchmarks[key] = open_run_benchmark(path, record, bench)
        subset = identity.get("subset")
        questions = question_sets.get((key, subset))
        if questions is None:
            questions = question_sets[(key, subset)] = tuple(benchmark.iter_questions(subset))
        covered = identity.get("question_ids")
        if isinstance(covered, list):  # a human run from the review app covers a fixed item set only
            wanted = set(covered)
            questions = tuple(q for q in questions if q.id in wanted)
        predictions = read_predictions(path, keep_text or (lambda _: False))
        circular = bool(identity.get("circular")) or None
        scores = score_run(questions, predictions, circular=circular, bootstrap=bootstrap)
        wordings = identity.get("paraphrases")
        if isinstance(wordings, int) and wordings > 1:
            scores["paraphrase"] = paraphrase_scores(questions, predictions, wordings, bootstrap=bootstrap)
        loaded.append(
            LoadedRun(
                path=path,
                label=str(identity.get("model", path.name)),
                model=str(identity.get("model", path.name)),
                subset=subset,
                circular="circular_accuracy" in scores["tasks"].get("SDD", {}),
                record=record,
                benchmark=benchmark,
                questions=questions,
                predictions=predictions,
                scores=scores,
            )
        )
    return _distinct_labels(loaded)


def _distinct_labels(runs: list[LoadedRun]) -> list[LoadedRun]:
    """Labels that tell runs apart: the model, plus the subset and image control, plus the folder name when
    still ambiguous."""
    labels = [
        run.model
        + (f" [{run.subset}]" if run.subset else "")
        + (f" [{control} image]" if (control := run.record["identity"].get("image_control")) else "")
        for run in runs
    ]
    labels = [
        f"{label} ({run.path.name})" if labels.count(label) > 1 else label
        for run, label in zip(runs, labels, strict=True)
    ]
    labels = [
        f"{label} ({run.path})" if labels.count(label) > 1 else label
        for run, label in zip(runs, labels, strict=True)
    ]
    return [replace(run, label=label) for run, label in zip(runs, labels, strict=True)]
