"""Reading and writing what reviewers do: the stored item set and traces, answers, ratings, progress.

Each write is one short transaction (see `_db`). An answer is final (the rating pages may then show that
question's key); a rating given again replaces the earlier one, leaving one row, the latest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spinebench.benchmark import Benchmark, Question
from spinebench.report import AXIS_KEYS, SCALE
from spinebench.review._db import ReviewDatabase, ReviewDatabaseError, utc_now
from spinebench.review._selection import Trace, stratum


@dataclass(frozen=True, slots=True)
class Answer:
    reviewer_id: int
    question_id: str
    letters: tuple[str, ...]  # empty: the reviewer could not tell
    seconds: float | None
    answered: str


@dataclass(frozen=True, slots=True)
class Rating:
    reviewer_id: int
    trace_id: str
    scores: Mapping[str, int]  # axis key -> 1, 3 or 5
    comment: str
    rated: str


def store_setup(
    database: ReviewDatabase,
    benchmark: Benchmark,
    items: Sequence[Question],
    traces: Sequence[Trace],
    settings: Mapping[str, object],
) -> None:
    """Records the benchmark, item set and traces on first serve; later serves must match the benchmark.

    The item set is fixed once stored (answers refer to it). Traces of newly given runs are added.
    """
    with database.transaction() as connection:
        row = connection.execute("SELECT value FROM meta WHERE key = 'benchmark'").fetchone()
        if row is not None:
            stored = json.loads(row[0])
            if stored["manifest_sha256"] != benchmark.manifest_sha256:
                raise ReviewDatabaseError(
                    f"{database.path}: holds reviews of benchmark {stored['name']!r} (manifest "
                    f"{stored['manifest_sha256'][:12]}…), not of {benchmark.path} "
                    f"({benchmark.manifest_sha256[:12]}…); use another --db"
                )
        else:
            record = {"name": benchmark.name, "manifest_sha256": benchmark.manifest_sha256}
            connection.execute("INSERT INTO meta VALUES ('benchmark', ?)", (json.dumps(record),))
            connection.execute("INSERT INTO meta VALUES ('settings', ?)", (json.dumps(dict(settings)),))
            connection.executemany(
                "INSERT INTO items (question_id, stratum) VALUES (?, ?)",
                [(q.id, stratum(q)) for q in items],
            )
        connection.executemany(
            "INSERT OR IGNORE INTO traces (id, model, run, question_id, response, letters) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(t.id, t.model, t.run, t.question_id, t.response, ",".join(t.letters)) for t in traces],
        )


def stored_settings(database: ReviewDatabase) -> dict[str, object]:
    raw = database.get_meta("settings")
    return {} if raw is None else dict(json.loads(raw))


def stored_benchmark(database: ReviewDatabase) -> dict[str, str] | None:
    raw = database.get_meta("benchmark")
    return None if raw is None else dict(json.loads(raw))


def item_ids(database: ReviewDatabase) -> list[str]:
    with database.connect() as connection:
        return [row[0] for row in connection.execute("SELECT question_id FROM items ORDER BY question_id")]


def load_traces(database: ReviewDatabase) -> list[Trace]:
    with database.connect() as connection:
        rows = connection.execute(
            "SELECT id, model, run, question_id, response, letters FROM traces ORDER BY id"
        ).fetchall()
    return [Trace(r[0], r[1], r[2], r[3], r[4], tuple(filter(None, r[5].split(",")))) for r in rows]


def record_answer(database: ReviewDatabase, answer: Answer) -> bool:
    """Stores a first answer; False (and nothing changed) when this reviewer already answered it."""
    with database.transaction() as connection:
        cursor = connection.execute(
            "INSERT INTO answers (reviewer_id, question_id, letters, seconds, answered) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (reviewer_id, question_id) DO NOTHING",
            (
                answer.reviewer_id,
                answer.question_id,
                ",".join(answer.letters),
                answer.seconds,
                answer.answered,
            ),
        )
    return cursor.rowcount == 1


def record_rating(database: ReviewDatabase, rating: Rating) -> None:
    if set(rating.scores) != set(AXIS_KEYS) or any(v not in SCALE for v in rating.scores.values()):
        raise ReviewDatabaseError(f"rating of trace {rating.trace_id}: every axis needs 1, 3 or 5")
    with database.transaction() as connection:
        connection.execute(
            "INSERT OR REPLACE INTO ratings (reviewer_id, trace_id, findings, knowledge, logic, usefulness, "
            "comment, rated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                rating.reviewer_id,
                rating.trace_id,
                *(rating.scores[key] for key in AXIS_KEYS),
                rating.comment,
                rating.rated,
            ),
        )


def load_answers(database: ReviewDatabase, reviewer_id: int | None = None) -> list[Answer]:
    query = "SELECT reviewer_id, question_id, letters, seconds, answered FROM answers"
    arguments: tuple[int, ...] = ()
    if reviewer_id is not None:
        query, arguments = query + " WHERE reviewer_id = ?", (reviewer_id,)
    with database.connect() as connection:
        rows = connection.execute(query + " ORDER BY reviewer_id, question_id", arguments).fetchall()
    return [Answer(r[0], r[1], tuple(filter(None, r[2].split(","))), r[3], r[4]) for r in rows]


def load_ratings(database: ReviewDatabase, reviewer_id: int | None = None) -> list[Rating]:
    query = f"SELECT reviewer_id, trace_id, {', '.join(AXIS_KEYS)}, comment, rated FROM ratings"
    arguments: tuple[int, ...] = ()
    if reviewer_id is not None:
        query, arguments = query + " WHERE reviewer_id = ?", (reviewer_id,)
    with database.connect() as connection:
        rows = connection.execute(query + " ORDER BY reviewer_id, trace_id", arguments).fetchall()
    count = len(AXIS_KEYS)
    return [
        Rating(r[0], r[1], dict(zip(AXIS_KEYS, r[2 : 2 + count], strict=True)), r[2 + count], r[3 + count])
        for r in rows
    ]


def now() -> str:
    return utc_now()
