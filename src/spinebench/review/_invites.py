"""Reviewers, one-time invites and sessions. No passwords: an invite link carries a random token.

Only sha256 digests of tokens are stored, so a copy of the database lets nobody in. An invite is exchanged,
once, for a session token (the cookie) and a per-session CSRF token that every form carries back.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from spinebench.review._db import ReviewDatabase, ReviewDatabaseError, utc_now

_NAME: Final = re.compile(r"[^\x00-\x1f\x7f]{1,80}")
_PSEUDONYM: Final = re.compile(r"reviewer-[0-9]+", re.IGNORECASE)
_TOKEN_BYTES: Final = 32
SESSION_LIFETIME: Final = timedelta(days=30)  # then the reviewer needs a new invite


@dataclass(frozen=True, slots=True)
class Reviewer:
    id: int
    name: str
    pseudonym: str
    named: bool  # consented to be named in shared reports

    @property
    def public_name(self) -> str:
        """How this reviewer appears in anything shared: their name only if they opted in."""
        return self.name if self.named else self.pseudonym


@dataclass(frozen=True, slots=True)
class Session:
    reviewer: Reviewer
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invite(database: ReviewDatabase, name: str) -> str:
    """A new one-time invite token for reviewer `name` (created on first invite; re-inviting adds a token)."""
    name = name.strip()
    if not _NAME.fullmatch(name):
        raise ReviewDatabaseError(f"reviewer name {name!r}: give 1 to 80 printable characters")
    if _PSEUDONYM.fullmatch(name):
        # Named in a report, it would be taken for (and exported as) another reviewer's pseudonym.
        raise ReviewDatabaseError(f"reviewer name {name!r} looks like a pseudonym; give the reviewer's name")
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    with database.transaction() as connection:
        row = connection.execute("SELECT id FROM reviewers WHERE name = ?", (name,)).fetchone()
        if row is None:
            count = connection.execute("SELECT COUNT(*) FROM reviewers").fetchone()[0]
            cursor = connection.execute(
                "INSERT INTO reviewers (name, pseudonym, created) VALUES (?, ?, ?)",
                (name, f"reviewer-{count + 1}", utc_now()),
            )
            reviewer_id = cursor.lastrowid
        else:
            reviewer_id = row[0]
        connection.execute(
            "INSERT INTO invites (token_sha256, reviewer_id, created) VALUES (?, ?, ?)",
            (_digest(token), reviewer_id, utc_now()),
        )
    return token


def has_invites(database: ReviewDatabase) -> bool:
    with database.connect() as connection:
        return bool(connection.execute("SELECT COUNT(*) FROM invites").fetchone()[0] > 0)


def redeem_invite(database: ReviewDatabase, token: str) -> str | None:
    """Exchanges an unused invite for a new session token; None when the invite is unknown or used."""
    session = secrets.token_urlsafe(_TOKEN_BYTES)
    with database.transaction() as connection:
        row = connection.execute(
            "SELECT reviewer_id FROM invites WHERE token_sha256 = ? AND used IS NULL", (_digest(token),)
        ).fetchone()
        if row is None:
            return None
        connection.execute("UPDATE invites SET used = ? WHERE token_sha256 = ?", (utc_now(), _digest(token)))
        connection.execute(
            "INSERT INTO sessions (token_sha256, reviewer_id, csrf, created) VALUES (?, ?, ?, ?)",
            (_digest(session), row[0], secrets.token_urlsafe(_TOKEN_BYTES), utc_now()),
        )
    return session


def find_session(database: ReviewDatabase, token: str) -> Session | None:
    with database.connect() as connection:
        row = connection.execute(
            "SELECT r.id, r.name, r.pseudonym, r.named, s.csrf, s.created FROM sessions s "
            "JOIN reviewers r ON r.id = s.reviewer_id WHERE s.token_sha256 = ?",
            (_digest(token),),
        ).fetchone()
    if row is None or datetime.fromisoformat(row[5]) < datetime.now(UTC) - SESSION_LIFETIME:
        return None
    return Session(Reviewer(row[0], row[1], row[2], bool(row[3])), row[4])


def set_named(database: ReviewDatabase, reviewer_id: int, named: bool) -> None:
    with database.transaction() as connection:
        connection.execute("UPDATE reviewers SET named = ? WHERE id = ?", (int(named), reviewer_id))


def list_reviewers(database: ReviewDatabase) -> list[Reviewer]:
    with database.connect() as connection:
        rows = connection.execute("SELECT id, name, pseudonym, named FROM reviewers ORDER BY id").fetchall()
    return [Reviewer(row[0], row[1], row[2], bool(row[3])) for row in rows]
