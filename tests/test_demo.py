"""The demo's own guards; the demo end to end is run by tests/test_readme.py, as the README states it."""

from __future__ import annotations

from pathlib import Path

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
