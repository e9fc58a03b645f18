"""What reviewers see: a fixed, stratified set of questions to answer, and a seeded set of traces to rate.

Both are chosen by ranking on a seeded hash of the question id, so the choice does not depend on the order of
the benchmark or the runs, and the same seed picks the same questions on any machine. The question set is
shared by all reviewers (the same items, so their answers compare paired with each other and with models);
each reviewer gets their own seeded order, so that order effects do not line up across reviewers.
Traces are picked on the same ranked questions in every run, so models are rated on the same questions.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spinebench.benchmark import Question
from spinebench.errors import RunDirectoryError
from spinebench.metrics import split_rotation_id
from spinebench.prediction import Prediction
from spinebench.run import PREDICTIONS, RUN_JSON


def _rank(seed: int, *parts: str) -> str:
    return hashlib.sha256("\x00".join((str(seed), *parts)).encode()).hexdigest()


def stratum(question: Question) -> str:
    return f"{question.task}/{question.disease}"


def select_items(questions: Iterable[Question], per_stratum: int, seed: int) -> list[Question]:
    """Up to `per_stratum` questions of each task and disease, the same for every reviewer."""
    by_stratum: dict[str, list[Question]] = defaultdict(list)
    for question in questions:
        by_stratum[stratum(question)].append(question)
    chosen: list[Question] = []
    for name in sorted(by_stratum):
        ranked = sorted(by_stratum[name], key=lambda q: _rank(seed, q.id))
        chosen.extend(ranked[:per_stratum])
    return sorted(chosen, key=lambda q: q.id)


def reviewer_order(ids: Iterable[str], seed: int, pseudonym: str) -> list[str]:
    """The order one reviewer meets `ids` in: seeded by the reviewer, stable across restarts."""
    return sorted(ids, key=lambda key: _rank(seed, pseudonym, key))


@dataclass(frozen=True, slots=True)
class Trace:
    """One model response to rate. `id` is a hash: it tells nothing of the model it came from."""

    id: str
    model: str
    run: str
    question_id: str
    response: str
    letters: tuple[str, ...]


def read_run_traces(run: Path) -> tuple[str, dict[str, Any], dict[str, Prediction]]:
    """A run's model, identity and latest answered predictions (rotation 0 only), read without writing."""
    try:
        record = json.loads((run / RUN_JSON).read_text(encoding="utf-8"))
        identity = record["identity"]
        model = str(identity["model"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise RunDirectoryError(
            f"{run / RUN_JSON}: not a readable SpineBench run record ({error})"
        ) from error
    latest: dict[str, Prediction] = {}
    file = run / PREDICTIONS
    if file.exists():
        with file.open("rb") as handle:
            for raw in handle:
                try:
                    prediction = Prediction.from_json(raw.decode())
                except (ValueError, TypeError, UnicodeDecodeError):
                    continue  # a torn line of a run still being written: not a trace to rate
                if split_rotation_id(prediction.question_id).rotation == 0:
                    latest[prediction.question_id] = prediction
    answered = {k: p for k, p in latest.items() if p.error is None and p.response}
    return model, identity, answered


def select_traces(
    runs: Sequence[Path], questions: Sequence[Question], per_task: int, seed: int
) -> list[Trace]:
    """Up to `per_task` answered traces per run and task, on the same seeded questions across runs."""
    ranked = sorted(questions, key=lambda q: _rank(seed, "trace", q.id))
    traces: list[Trace] = []
    for run in runs:
        model, identity, answered = read_run_traces(run)
        fingerprint = json.dumps(identity, sort_keys=True, default=str)
        taken: dict[str, int] = defaultdict(int)
        for question in ranked:
            prediction = answered.get(question.id)
            if prediction is None or taken[question.task] >= per_task:
                continue
            taken[question.task] += 1
            trace_id = _rank(seed, fingerprint, question.id)[:20]
            assert prediction.response is not None
            traces.append(
                Trace(trace_id, model, str(run), question.id, prediction.response, prediction.letters)
            )
    return traces
