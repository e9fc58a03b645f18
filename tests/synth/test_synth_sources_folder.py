"""`write_synthetic_sources` and `spinebench synth` on an output path that cannot be a folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from spinebench.cli import app
from spinebench.errors import SpineBenchError
from spinebench.synth import write_synthetic_sources


def test_out_that_is_a_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    taken = tmp_path / "sources"
    taken.write_text("a file")
    with pytest.raises(SpineBenchError, match=r"sources exists and is not a folder"):
        write_synthetic_sources(taken)
    result = CliRunner().invoke(app, ["synth", str(taken)])
    assert result.exit_code == 2 and "is not a folder" in result.output
    assert taken.read_text() == "a file"


def test_dataset_subfolder_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "csxa").write_text("a file where the CSXA copy goes")
    with pytest.raises(SpineBenchError, match=r"csxa exists and is not a folder"):
        write_synthetic_sources(tmp_path)
    assert (tmp_path / "csxa").read_text() == "a file where the CSXA copy goes"


def test_cli_prints_folders_with_brackets_as_written(tmp_path: Path) -> None:
    out = tmp_path / "sources [v2][/]"
    result = CliRunner().invoke(app, ["synth", str(out)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert f"csxa: {out / 'csxa'}" in result.output
