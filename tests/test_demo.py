"""The demo's own guards; the demo end to end is run by tests/test_readme.py, as the README states it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from spinebench.cli import app


def test_demo_refuses_a_file_and_a_folder_it_did_not_make(tmp_path: Path) -> None:
    runner = CliRunner()
    afile = tmp_path / "file"
    afile.write_text("x")
    result = runner.invoke(app, ["demo", "--out", str(afile)])
    assert result.exit_code == 2 and "is a file" in result.output
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "thesis.tex").write_text("precious")
    result = runner.invoke(app, ["demo", "--out", str(folder)])
    assert result.exit_code == 2 and "holds no earlier demo" in result.output
    assert (folder / "thesis.tex").read_text() == "precious"


def test_demo_without_the_encoders_extra_says_so_before_writing_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name == "torch" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert result.exit_code == 2 and "pip install 'spinebench[embed]'" in result.output
    assert "1/5" not in result.output and not out.exists()
