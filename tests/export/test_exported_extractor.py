"""The exported harness files read replies exactly as spinebench does, without spinebench installed."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.export import export_inspect, export_lmms_eval
from spinebench.extract import STANDALONE_MODULE, extract_answer, standalone_source
from spinebench.testing import require
from spinebench.testing.extraction_styles import CASES

# Replies whose reading needs only their text: no judge, no finish_reason (lmms-eval passes none).
TEXT_ONLY = [style for style in CASES if style.finish_reason is None]

# Run in a fresh interpreter (-I: no PYTHONPATH, no user site) where importing spinebench fails, as it does
# in a harness's own environment; the harness file is loaded by path, as lmms-eval and inspect load it.
_READER = """
import importlib.util, json, sys
sys.modules["spinebench"] = None  # any `import spinebench...` now raises ImportError
path = sys.argv[1]
spec = importlib.util.spec_from_file_location("harness_under_test", path)
module = importlib.util.module_from_spec(spec)
sys.modules["harness_under_test"] = module
spec.loader.exec_module(module)
assert not [name for name, m in sys.modules.items() if m and name.split(".")[0] == "spinebench"]
out = [list(module.extract_letters(r, o, m)) for r, o, m in json.load(sys.stdin)]
print(json.dumps(out))
"""


def _read_without_spinebench(harness_file: Path) -> list[tuple[str, ...]]:
    replies = [[style.response, list(style.options), style.multiple] for style in TEXT_ONLY]
    done = subprocess.run(
        [sys.executable, "-I", "-c", _READER, str(harness_file)],
        input=json.dumps(replies),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=harness_file.parent.parent,  # not the harness folder: the file must find its extractor itself
    )
    assert done.returncode == 0, done.stderr
    return [tuple(letters) for letters in json.loads(done.stdout)]


def _spinebench_letters() -> list[tuple[str, ...]]:
    return [extract_answer(s.response, s.options, multiple=s.multiple).letters for s in TEXT_ONLY]


@pytest.fixture(scope="module")
def sample() -> Benchmark:
    return Benchmark.open(SAMPLE_PATH, verify="full")


def test_lmms_eval_utils_extract_what_spinebench_extracts(
    sample: Benchmark, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = export_lmms_eval(sample, tmp_path_factory.mktemp("lmms")).main
    assert len(TEXT_ONLY) >= 170
    got = _read_without_spinebench(folder / "utils.py")
    expected = _spinebench_letters()
    mismatches = [s.name for s, a, b in zip(TEXT_ONLY, got, expected, strict=True) if a != b]
    assert mismatches == []
    assert sum(bool(letters) for letters in got) >= 100  # the comparison is not over empty readings


def test_inspect_task_extracts_what_spinebench_extracts(
    sample: Benchmark, tmp_path_factory: pytest.TempPathFactory
) -> None:
    require("inspect_ai")
    folder = export_inspect(sample, tmp_path_factory.mktemp("inspect")).main
    got = _read_without_spinebench(folder / "task.py")
    expected = _spinebench_letters()
    mismatches = [s.name for s, a, b in zip(TEXT_ONLY, got, expected, strict=True) if a != b]
    assert mismatches == []


def test_the_standalone_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(standalone_source("test"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported and imported <= set(sys.stdlib_module_names) | {"__future__"}


def test_the_standalone_module_is_written_by_both_exports_identically(
    sample: Benchmark, tmp_path: Path
) -> None:
    lmms = export_lmms_eval(sample, tmp_path / "lmms").main / STANDALONE_MODULE
    inspect = export_inspect(sample, tmp_path / "inspect").main / STANDALONE_MODULE
    assert lmms.read_bytes() == inspect.read_bytes()
    assert "OPTION_SYNONYMS = " in lmms.read_text(encoding="utf-8")


def test_the_standalone_source_refuses_a_name_defined_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    from spinebench.extract import _standalone

    monkeypatch.setattr(_standalone, "_MODULES", ("_letters", "_letters"))
    with pytest.raises(ValueError, match="also defined"):
        _standalone.standalone_source("test")
