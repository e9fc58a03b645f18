"""The review database: WAL, versioned schema, migrations that keep data, concurrent writers."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from spinebench.review import SCHEMA_VERSION, ReviewDatabase, ReviewDatabaseError
from spinebench.review._db import MIGRATIONS


def test_new_database_is_wal_at_the_current_version(tmp_path: Path) -> None:
    database = ReviewDatabase.open(tmp_path / "r.sqlite")
    assert database.version() == SCHEMA_VERSION == len(MIGRATIONS)
    with database.connect() as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_version_1_database_is_migrated_keeping_its_answers(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(MIGRATIONS[0])
        connection.execute("INSERT INTO reviewers VALUES (1, 'Ada', 'reviewer-1', 'now')")
        connection.execute("INSERT INTO items VALUES ('q1', 'SDD/Healthy')")
        connection.execute("INSERT INTO answers VALUES (1, 'q1', 'B', 3.0, 'now')")
        connection.execute("PRAGMA user_version = 1")
    database = ReviewDatabase.open(path)
    assert database.version() == SCHEMA_VERSION
    with database.connect() as connection:
        assert [tuple(r) for r in connection.execute("SELECT letters FROM answers")] == [("B",)]
        assert [tuple(r) for r in connection.execute("SELECT named FROM reviewers")] == [(0,)]


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ReviewDatabaseError, match="newer than this SpineBench"):
        ReviewDatabase.open(path)


def test_several_writers_at_once_all_commit(tmp_path: Path) -> None:
    database = ReviewDatabase.open(tmp_path / "r.sqlite")

    def write(worker: int) -> None:
        for i in range(20):
            with database.transaction() as connection:
                connection.execute("INSERT INTO meta VALUES (?, 'x')", (f"{worker}-{i}",))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with database.connect() as connection:
        assert connection.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 80
