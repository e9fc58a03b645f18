"""`spinebench review serve` refuses to expose a server nobody is invited to; invites are one-time links."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spinebench.cli import app
from spinebench.review import ReviewDatabase, ReviewSettings, check_exposure


def test_serving_on_another_interface_needs_invites_and_warns(tmp_path: Path) -> None:
    pytest.importorskip("starlette", reason="pip install 'spinebench[review]'")
    pytest.importorskip("uvicorn", reason="pip install 'spinebench[review]'")
    db = tmp_path / "review.sqlite"
    result = CliRunner().invoke(app, ["review", "serve", "--db", str(db), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "no reviewer is invited yet" in result.output and "spinebench review invite" in result.output
    link = CliRunner().invoke(
        app, ["review", "invite", "Ada", "--db", str(db), "--url", "http://10.0.0.5:8765"]
    )
    assert link.exit_code == 0
    assert re.fullmatch(r"http://10\.0\.0\.5:8765/invite/[A-Za-z0-9_-]{40,}\n", link.output)
    warning = check_exposure(db, ReviewSettings(host="0.0.0.0"))
    assert warning is not None and "reachable from other machines" in warning
    assert check_exposure(db, ReviewSettings()) is None  # loopback: no warning


def test_invite_stores_only_a_digest_of_the_token(tmp_path: Path) -> None:
    db = tmp_path / "review.sqlite"
    link = CliRunner().invoke(app, ["review", "invite", "Ada", "--db", str(db)]).output.strip()
    token = link.rsplit("/", 1)[1]
    assert link.startswith("http://127.0.0.1:8765/invite/")
    assert token.encode() not in db.read_bytes() + (
        db.with_name(db.name + "-wal").read_bytes() if db.with_name(db.name + "-wal").exists() else b""
    )
    with ReviewDatabase.open(db).connect() as connection:
        assert connection.execute("SELECT COUNT(*) FROM invites WHERE used IS NULL").fetchone()[0] == 1
