"""`spinebench review export`: each reviewer's answers as an ordinary run directory, ratings as CSV.

A human run is scored, reported and ranked like any model's: its `run.json` names the model `human:<name>`
and lists, in `identity.question_ids`, the shared item set it covers, so scoring counts those questions only
(no "pending" for the rest of the benchmark) and paired comparisons use exactly those items. Reviewers appear
under their pseudonym unless they opted in to their name, here and in the ratings CSV.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from spinebench import __version__
from spinebench.benchmark import Benchmark
from spinebench.errors import SpineBenchError
from spinebench.metrics import score_run
from spinebench.prediction import Prediction
from spinebench.report import AXIS_KEYS, HUMAN_PREFIX
from spinebench.review._db import ReviewDatabase, ReviewDatabaseError, utc_now
from spinebench.review._invites import Reviewer, list_reviewers
from spinebench.review._records import item_ids, load_answers, load_ratings, load_traces, stored_benchmark
from spinebench.run import PREDICTIONS, RUN_JSON, SCORES_JSON

RATINGS_CSV: Final = "ratings.csv"
RATING_COLUMNS: Final = ("trace_id", "model", "run", "question_id", "task", "rater", *AXIS_KEYS, "comment")


@dataclass(frozen=True, slots=True)
class ExportResult:
    runs: dict[str, Path]  # model label -> run directory
    ratings: Path | None
    ratings_rows: int
    reviewers: int


def export_reviews(
    database_path: Path, benchmark: Benchmark, out: Path, *, real_names: bool = False
) -> ExportResult:
    """Writes `out/human-<name>/` per reviewer with answers, and `out/ratings.csv` when there are ratings."""
    database = ReviewDatabase.open(database_path, create=False)
    stored = stored_benchmark(database)
    if stored is None:
        raise ReviewDatabaseError(f"{database_path}: no review was set up in it yet (nothing to export)")
    if stored["manifest_sha256"] != benchmark.manifest_sha256:
        raise ReviewDatabaseError(
            f"{database_path}: holds reviews of benchmark {stored['name']!r}, not of {benchmark.path}; "
            "pass the benchmark the review was served on"
        )
    items = item_ids(database)
    wanted = set(items)
    questions = [q for q in benchmark.iter_questions() if q.id in wanted]
    by_id = {q.id: q for q in questions}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SpineBenchError(
            f"{out}: cannot create the export folder ({error.strerror or error})"
        ) from error
    reviewers = list_reviewers(database)
    folders = _run_folder_names(reviewers, real_names)
    runs: dict[str, Path] = {}
    for reviewer in reviewers:
        answers = [a for a in load_answers(database, reviewer.id) if a.question_id in by_id]
        if not answers:
            continue
        label = reviewer.name if real_names else reviewer.public_name
        model = HUMAN_PREFIX + label
        run_dir = out / folders[reviewer.id]
        predictions = {
            a.question_id: Prediction(
                a.question_id,
                "Answered in the SpineBench review app." if a.letters else "The reviewer could not tell.",
                a.letters,
                "strict" if a.letters else "refused",
                latency_s=a.seconds,
            )
            for a in answers
        }
        identity = {
            "model": model,
            "params": {},
            "prompt": {"name": "human-review", "version": 1, "sha256": None},
            "benchmark": {"name": benchmark.name, "manifest_sha256": benchmark.manifest_sha256},
            "subset": None,
            "judge": None,
            "seed": None,
            "circular": False,
            "dtype": None,
            "question_ids": items,
        }
        scores = score_run(questions, predictions)
        record = {
            "spinebench_version": __version__,
            "created": min(a.answered for a in answers),
            "updated": utc_now(),
            "status": scores["status"],
            "identity": identity,
            "provider": {"kind": "human", "source": "spinebench review"},
            "judge_provider": None,
            "benchmark_path": str(benchmark.path),
        }
        _write_run(run_dir, record, list(predictions.values()), scores)
        runs[model] = run_dir
    ratings_path, rows = _write_ratings(
        database, reviewers, _trace_tasks(benchmark, database), out, real_names
    )
    return ExportResult(runs, ratings_path, rows, len(reviewers))


def _run_folder_names(reviewers: list[Reviewer], real_names: bool) -> dict[int, str]:
    """`human-<label>` per reviewer id, all distinct. Labels that differ only in characters a folder name
    cannot hold, or in case ("Dr Ada", "Dr/Ada", "dr ada"), get a short suffix from a hash of the label,
    the same in every export.

    Two reviewers under one label (a reviewer named like another's pseudonym) would be one model in every
    report: refused rather than merged.
    """
    labels = {r.id: (r.name if real_names else r.public_name) for r in reviewers}
    owners: dict[str, Reviewer] = {}
    for reviewer in reviewers:
        label = labels[reviewer.id]
        if label in owners:
            raise SpineBenchError(
                f"reviewers {owners[label].pseudonym} and {reviewer.pseudonym} would both be exported as "
                f"{HUMAN_PREFIX}{label}; answers of two people are never merged into one run"
            )
        owners[label] = reviewer
    slugs = {rid: re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") for rid, label in labels.items()}
    shared = Counter(slug.lower() for slug in slugs.values())  # macOS and Windows fold case in file names
    names: dict[int, str] = {}
    for reviewer_id, slug in slugs.items():
        if not slug or shared[slug.lower()] > 1:
            digest = hashlib.sha256(labels[reviewer_id].encode()).hexdigest()[:8]
            slug = f"{slug}-{digest}" if slug else digest
        names[reviewer_id] = "human-" + slug
    distinct = {name.lower() for name in names.values()}
    if len(distinct) < len(names):  # a name spelt like another's suffixed one
        raise SpineBenchError("two reviewers' names give one export folder name; no run is overwritten")
    return names


def _trace_tasks(benchmark: Benchmark, database: ReviewDatabase) -> dict[str, str]:
    wanted = {t.question_id for t in load_traces(database)}
    return {q.id: q.task for q in benchmark.iter_questions() if q.id in wanted}


def _write_run(
    run_dir: Path, record: dict[str, object], predictions: list[Prediction], scores: object
) -> None:
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lines = "".join(p.to_json() + "\n" for p in sorted(predictions, key=lambda p: p.question_id))
        (run_dir / PREDICTIONS).write_text(lines, encoding="utf-8")
        (run_dir / RUN_JSON).write_text(
            json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (run_dir / SCORES_JSON).write_text(
            json.dumps(scores, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    except OSError as error:
        raise SpineBenchError(f"{run_dir}: cannot write the human run ({error.strerror or error})") from error


def _write_ratings(
    database: ReviewDatabase, reviewers: list[Reviewer], tasks: dict[str, str], out: Path, real_names: bool
) -> tuple[Path | None, int]:
    traces = {t.id: t for t in load_traces(database)}
    names = {r.id: (r.name if real_names else r.public_name) for r in reviewers}
    ratings = load_ratings(database)
    if not ratings:
        return None, 0
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(RATING_COLUMNS)
    for rating in ratings:
        trace = traces[rating.trace_id]
        writer.writerow(
            [
                trace.id,
                trace.model,
                Path(trace.run).name,  # the folder name only: paths above it stay on this machine
                trace.question_id,
                tasks.get(trace.question_id, ""),
                HUMAN_PREFIX + names[rating.reviewer_id],
                *(rating.scores[key] for key in AXIS_KEYS),
                rating.comment,
            ]
        )
    path = out / RATINGS_CSV
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path, len(ratings)
