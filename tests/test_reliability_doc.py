"""docs/reliability.md names a test for every fault case: each must exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_named_in_the_reliability_table_exists() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`([\w/]+\.py)::(\w+)(?:\[[^\]]*\])?`", text))
    assert len(named) >= 40
    missing = []
    for file, name in sorted(named):
        tree = ast.parse((ROOT / "tests" / file).read_text(encoding="utf-8"))
        functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        if name not in functions:
            missing.append(f"{file}::{name}")
    assert missing == []
