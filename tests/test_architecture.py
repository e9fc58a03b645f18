"""The import direction of docs/architecture.md, checked on the source: no import goes backwards."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import spinebench

PACKAGE = Path(spinebench.__file__).parent

# Each unit (a top-level module or subpackage of spinebench) may import only from its own layer or lower.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"spinebench", "errors", "taxonomy", "hashing", "stats", "display", "png"}),
    frozenset({"models"}),  # answers chat requests; knows nothing of the task
    frozenset({"imaging", "benchmark", "extract", "prediction"}),  # shared formats
    frozenset({"sources"}),
    frozenset({"catalog"}),
    frozenset({"embeddings"}),
    frozenset({"questions"}),
    frozenset({"prompts", "metrics"}),
    frozenset({"baselines", "run"}),
    frozenset({"report", "export"}),
    frozenset({"cli", "demo", "synth", "testing", "review", "cluster", "__main__"}),
)
LAYER_OF = {unit: index for index, layer in enumerate(LAYERS) for unit in layer}
# Files written into other harnesses' folders: they must run where spinebench is not installed.
STANDALONE = PACKAGE / "export" / "harness"


def unit_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return "spinebench" if relative.parts == ("__init__.py",) else relative.parts[0].removesuffix(".py")


def imported_units(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "spinebench":
                    yield parts[1] if len(parts) > 1 else "spinebench"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "spinebench":
                continue
            if len(parts) > 1:
                yield parts[1]
            else:  # `from spinebench import x`: x is a unit when it is a module or subpackage
                for alias in node.names:
                    yield alias.name if alias.name in LAYER_OF else "spinebench"


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if STANDALONE in path.parents:
            continue
        unit = unit_of(path)
        targets = graph.setdefault(unit, set())
        targets.update(u for u in imported_units(ast.parse(path.read_text(), str(path))) if u != unit)
    return graph


def violations(graph: Mapping[str, set[str]]) -> list[str]:
    found = [f"{unit} is in no layer of tests/test_architecture.py" for unit in graph if unit not in LAYER_OF]
    for unit, targets in graph.items():
        for target in sorted(targets):
            if unit in LAYER_OF and LAYER_OF.get(target, 0) > LAYER_OF[unit]:
                found.append(f"{unit} imports {target}, which sits above it")
    # Within a layer imports are allowed, but never both ways round (nor round a longer loop).
    for unit in graph:
        stack, seen = [unit], set()
        while stack:
            for target in graph.get(stack.pop(), ()):
                if target == unit:
                    found.append(f"{unit} imports itself through a cycle")
                    stack = []
                    break
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
    return found


def test_no_import_goes_backwards() -> None:
    assert violations(import_graph()) == []


def test_the_harness_files_import_nothing_from_spinebench() -> None:
    harness = sorted(STANDALONE.rglob("*.py"))
    assert harness
    for path in harness:
        assert list(imported_units(ast.parse(path.read_text()))) == [], path


@pytest.mark.parametrize(
    ("graph", "complaint"),
    [
        ({"models": {"benchmark"}}, "models imports benchmark"),
        ({"models": {"questions"}}, "models imports questions"),
        ({"metrics": {"run"}, "run": {"metrics"}}, "metrics imports run"),
        ({"prediction": {"extract"}, "extract": {"prediction"}}, "cycle"),
        ({"benchmark": {"synth"}}, "benchmark imports synth"),
        ({"newthing": set()}, "in no layer"),
    ],
)
def test_the_check_catches_a_backward_import(graph: dict[str, set[str]], complaint: str) -> None:
    assert any(complaint in line for line in violations(graph))
