"""`catalog` and `build` take the same source options, declared once."""

from __future__ import annotations

from typing import Any

import typer.main

from spinebench.cli import app

SOURCE_OPTIONS = {
    "vindr", "rsna", "csxa", "buu", "key_file", "max_side", "min_severity", "csxa_table", "csxa_id_column",
    "csxa_class_column", "workers",
}  # fmt: skip


def _options(name: str) -> dict[str, Any]:
    group: Any = typer.main.get_command(app)  # a click group (typer may ship its own click)
    return {str(p.name): p for p in group.commands[name].params}


def test_catalog_and_build_share_every_source_option() -> None:
    catalog, build = _options("catalog"), _options("build")
    assert catalog.keys() >= SOURCE_OPTIONS and build.keys() >= SOURCE_OPTIONS
    for name in SOURCE_OPTIONS:
        one, other = catalog[name], build[name]
        assert one.opts == other.opts and one.default == other.default, name
        assert one.help == other.help, name
