from __future__ import annotations

import stat
from pathlib import Path

import pytest

from spinebench.catalog import load_key
from spinebench.errors import SpineBenchError


def test_default_key_is_created_private_once_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "config" / "pseudonym.key"
    monkeypatch.setenv("SPINEBENCH_KEY_FILE", str(key_file))
    first = load_key(None)
    assert len(first) == 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_key(None) == first


def test_short_or_missing_key_file_is_named(tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_text("abc")
    with pytest.raises(SpineBenchError, match=r"short\.key: a pseudonymisation key needs at least 16 bytes"):
        load_key(short)
    with pytest.raises(SpineBenchError, match=r"nope\.key: cannot read the key file"):
        load_key(tmp_path / "nope.key")
