from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from spinebench.cli import app
from spinebench.cluster import ClusterError, require_ray


def test_without_ray_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name == "ray" else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ClusterError, match=r"pip install 'spinebench\[ray\]'"):
        require_ray()
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["eval", "--model", "random", "--ray", "local", "--out", str(out)])
    assert result.exit_code != 0 and "spinebench[ray]" in result.output
    assert not out.exists()  # refused before any run directory was made
