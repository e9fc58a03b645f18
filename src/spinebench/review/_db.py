"""The review database: SQLite (standard library) in WAL mode, with a versioned schema and migrations.

Every answer and every rating is its own transaction, committed before the reviewer's next page is sent, with
`synchronous=FULL`: a server killed at any moment keeps every answer it acknowledged. WAL lets several
reviewers' requests read while one writes; writers wait for each other (busy timeout) instead of failing.

The schema version is SQLite's `user_version`. `MIGRATIONS[i]` takes a database from version i to i+1, each
in one transaction, so an old database is upgraded in place and a newer one than this code knows is refused.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from spinebench.errors import SpineBenchError

MIGRATIONS: Final = (
    # 1: reviewers, one-time invites, sessions, the shared item set and human answers.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE reviewers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        pseudonym TEXT NOT NULL UNIQUE,
        created TEXT NOT NULL
    );
    CREATE TABLE invites (
        token_sha256 TEXT PRIMARY KEY,
        reviewer_id INTEGER NOT NULL REFERENCES reviewers(id),
        created TEXT NOT NULL,
        used TEXT
    );
    CREATE TABLE sessions (
        token_sha256 TEXT PRIMARY KEY,
        reviewer_id INTEGER NOT NULL REFERENCES reviewers(id),
        csrf TEXT NOT NULL,
        created TEXT NOT NULL
    );
    CREATE TABLE items (question_id TEXT PRIMARY KEY, stratum TEXT NOT NULL);
    CREATE TABLE answers (
        reviewer_id INTEGER NOT NULL REFERENCES reviewers(id),
        question_id TEXT NOT NULL REFERENCES items(question_id),
        letters TEXT NOT NULL,
        seconds REAL,
        answered TEXT NOT NULL,
        PRIMARY KEY (reviewer_id, question_id)
    );
    """,
    # 2: blind ratings of reasoning traces, and a reviewer's consent to be named in shared reports.
    """
    ALTER TABLE reviewers ADD COLUMN named INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE traces (
        id TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        run TEXT NOT NULL,
        question_id TEXT NOT NULL,
        response TEXT NOT NULL,
        letters TEXT NOT NULL
    );
    CREATE TABLE ratings (
        reviewer_id INTEGER NOT NULL REFERENCES reviewers(id),
        trace_id TEXT NOT NULL REFERENCES traces(id),
        findings INTEGER NOT NULL CHECK (findings IN (1, 3, 5)),
        knowledge INTEGER NOT NULL CHECK (knowledge IN (1, 3, 5)),
        logic INTEGER NOT NULL CHECK (logic IN (1, 3, 5)),
        usefulness INTEGER NOT NULL CHECK (usefulness IN (1, 3, 5)),
        comment TEXT NOT NULL DEFAULT '',
        rated TEXT NOT NULL,
        PRIMARY KEY (reviewer_id, trace_id)
    );
    """,
)
SCHEMA_VERSION: Final = len(MIGRATIONS)


class ReviewDatabaseError(SpineBenchError):
    """The review database cannot be opened, is newer than this SpineBench, or belongs to another set-up."""


def utc_now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


class ReviewDatabase:
    """A path to a review database. Each operation opens its own connection, so threads never share one."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> ReviewDatabase:
        """Opens (creating when `create`) and migrates the database to the current schema."""
        if not create and not path.exists():
            raise ReviewDatabaseError(f"{path}: no such review database")
        database = cls(path)
        with database.connect() as connection:
            database._migrate(connection)
        return database

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            # isolation_level=None: no implicit transactions; `transaction()` opens explicit ones.
            connection = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as error:
            raise ReviewDatabaseError(f"{self.path}: cannot open the review database ({error})") from error
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA foreign_keys=ON")
            yield connection
        except sqlite3.DatabaseError as error:
            raise ReviewDatabaseError(f"{self.path}: {error}") from error
        finally:
            connection.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed on leaving (rolled back on error). IMMEDIATE takes the write lock
        up front, so two reviewers writing at once wait in turn instead of failing on a lock upgrade."""
        with self.connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def version(self) -> int:
        with self.connect() as connection:
            return int(connection.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, connection: sqlite3.Connection) -> None:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise ReviewDatabaseError(
                f"{self.path}: schema version {version} is newer than this SpineBench knows "
                f"({SCHEMA_VERSION}); upgrade spinebench"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            connection.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(MIGRATIONS[target - 1]):
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {target}")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        with self.connect() as connection:
            row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])


def _statements(script: str) -> list[str]:
    # executescript() would commit the open transaction first; run the statements one by one instead.
    return [part.strip() for part in script.split(";") if part.strip()]
