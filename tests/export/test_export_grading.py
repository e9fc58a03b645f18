"""Every export of a benchmark with severity-grading (SSG) questions loads, and scores grading as SpineBench
does: inspect task, lmms-eval YAML, VLMEvalKit TSV, Hugging Face parquet."""

from __future__ import annotations

import ast
import csv
import importlib.util
import json
import py_compile
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from spinebench.benchmark import Benchmark, Question
from spinebench.catalog import SourceFolders, build_catalog
from spinebench.export import export_hf, export_inspect, export_lmms_eval, export_vlmevalkit
from spinebench.metrics import confusion_metrics
from spinebench.prompts import PAPER, render_prompt
from spinebench.questions import BuildSettings, build_benchmark
from spinebench.taxonomy import SEVERITY_GRADES
from spinebench.testing import require

HARNESS = Path(__file__).resolve().parents[2] / "src" / "spinebench" / "export" / "harness"
csv.field_size_limit(sys.maxsize)


@pytest.fixture(scope="module")
def bench(synthetic_sources: SourceFolders, tmp_path_factory: pytest.TempPathFactory) -> Benchmark:
    root = tmp_path_factory.mktemp("graded-export")
    build_catalog(synthetic_sources.readers(), root / "catalog", key=b"export-grading-key-0123", workers=1)
    settings = BuildSettings(encoder="pixels", tasks=("SDD", "SLL", "SSG"), synthetic=True)
    build_benchmark(root / "catalog", root / "bench", settings)
    return Benchmark.open(root / "bench", verify="full")


def _ssg(bench: Benchmark) -> list[Question]:
    return [q for q in bench.iter_questions() if q.task == "SSG"]


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_yaml(path: Path) -> dict[str, Any]:
    yaml = require("yaml")

    class TaskLoader(yaml.SafeLoader):  # type: ignore[misc,name-defined]
        pass

    TaskLoader.add_constructor("!function", lambda loader, node: ("function", loader.construct_scalar(node)))
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=TaskLoader)
    assert isinstance(loaded, dict)
    return loaded


def test_hf_parquet_loads_with_the_graded_level(
    bench: Benchmark, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    datasets = require("datasets")
    result = export_hf(bench, tmp_path / "hf")
    loaded = datasets.load_dataset(
        "parquet", data_files={"test": [str(f) for f in result.files if f.suffix == ".parquet"]},
        cache_dir=str(tmp_path / "cache"),
    )["test"]  # fmt: skip
    rows = [row for row in loaded if row["task"] == "SSG"]
    questions = _ssg(bench)
    assert len(rows) == len(questions) > 0
    for row, question in zip(rows, questions, strict=True):
        assert (row["id"], row["level"], row["options"]) == (
            question.id,
            question.level,
            list(SEVERITY_GRADES),
        )
        assert row["prompt"] == render_prompt(question, PAPER) and "My final option: [X]" in row["prompt"]
        assert row["image"].size[0] > 0
    assert all(row["level"] is None for row in loaded if row["task"] != "SSG")


def test_lmms_eval_task_scores_kappa_as_spinebench_does(bench: Benchmark, tmp_path: Path) -> None:
    folder = export_lmms_eval(bench, tmp_path / "lmms").main
    assert _load_yaml(folder / "spinebench.yaml")["task"] == [
        "spinebench_sdd",
        "spinebench_sll",
        "spinebench_ssg",
    ]
    config = _load_yaml(folder / "spinebench_ssg.yaml")
    assert config["process_docs"] == ("function", "utils.ssg_docs")
    aggregations = {m["metric"]: m["aggregation"] for m in config["metric_list"]}
    assert aggregations == {
        "accuracy": "mean",
        "weighted_kappa": ("function", "utils.weighted_kappa"),
        "severe_sensitivity": ("function", "utils.severe_sensitivity"),
        "severe_specificity": ("function", "utils.severe_specificity"),
        "parsed": "mean",
    }
    utils = _import(folder / "utils.py", "spinebench_lmms_utils_grading")
    rows = [
        row for row in pq.read_table(folder / "data" / "test.parquet").to_pylist() if row["task"] == "SSG"
    ]
    rng = np.random.default_rng(3)
    results = []
    cells = np.zeros((3, 4))
    for row in rows:
        pick = int(rng.integers(0, 4))  # 3: a reply with no answer
        reply = "I cannot grade this." if pick == 3 else f"Reasoning.\nMy final option: [{'ABC'[pick]}]"
        result = utils.process_results(row, [reply])
        truth = SEVERITY_GRADES.index(row["options"]["ABC".index(row["answer"][0])])
        assert result["weighted_kappa"] == [truth, pick] and result["accuracy"] == float(truth == pick)
        results.append(result)
        cells[truth, pick] += 1
    expected = confusion_metrics(cells)
    for metric in ("weighted_kappa", "severe_sensitivity", "severe_specificity"):
        aggregate = getattr(utils, metric)([r[metric] for r in results])
        assert aggregate == pytest.approx(float(expected[metric]), abs=1e-12)


def test_inspect_samples_and_task_cover_grading(bench: Benchmark, tmp_path: Path) -> None:
    folder = export_inspect(bench, tmp_path / "inspect").main
    records = [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]
    graded = [r for r in records if r["metadata"]["task"] == "SSG"]
    assert len(graded) == len(_ssg(bench))
    for record, question in zip(graded, _ssg(bench), strict=True):
        assert record["choices"] == list(SEVERITY_GRADES) and record["target"] == question.answer[0]
        assert record["metadata"]["level"] == question.level
        assert (folder / record["input"][0]["content"][1]["image"]).is_file()
    source = (folder / "task.py").read_text(encoding="utf-8")
    py_compile.compile(str(folder / "task.py"), cfile=str(tmp_path / "task.pyc"), doraise=True)
    for needle in ("def spinebench_ssg(", "def weighted_kappa(", "scorer=grading_scorer(False)"):
        assert needle in source


def test_inspect_dataset_loads_when_installed(bench: Benchmark, tmp_path: Path) -> None:
    require("inspect_ai")
    from inspect_ai.dataset import json_dataset

    folder = export_inspect(bench, tmp_path / "inspect").main
    dataset = json_dataset(str(folder / "samples.jsonl"))
    graded = [sample for sample in dataset if sample.metadata and sample.metadata["task"] == "SSG"]
    assert graded and graded[0].choices is not None and len(graded[0].choices) == 3


def _definitions(path: Path, names: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            found[node.name] = "\n".join(ast.dump(statement) for statement in node.body)
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id in names:
                found[target.id] = ast.dump(node.value)
    return found


def test_both_harness_files_grade_with_the_one_grading_module() -> None:
    names = {"grade_pair", "grading_summary", "GRADES", "NO_ANSWER", "LETTERS"}
    grading = _definitions(HARNESS / "spinebench_grading.py", names)
    assert set(grading) == names
    for harness in ("lmms_eval_utils.py", "inspect_task.py"):
        text = (HARNESS / harness).read_text(encoding="utf-8")
        assert '_load_sibling("spinebench_grading.py")' in text, harness
        defined = _definitions(HARNESS / harness, {"grade_pair", "grading_summary"})
        assert not any(name in defined and "FunctionDef" in defined[name] for name in defined), harness


def test_vlmevalkit_tsv_has_the_grading_rows(bench: Benchmark, tmp_path: Path) -> None:
    result = export_vlmevalkit(bench, tmp_path / "vlm")
    with result.main.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    graded = [row for row in rows if row["category"] == "SSG"]
    questions = _ssg(bench)
    assert len(graded) == len(questions)
    for row, question in zip(graded, questions, strict=True):
        assert [row["A"], row["B"], row["C"], row["D"], row["E"]] == [*SEVERITY_GRADES, "", ""]
        assert (row["answer"], row["level"], row["l2-category"]) == (
            question.answer[0],
            question.level,
            question.disease,
        )
    assert all(row["level"] == "" for row in rows if row["category"] != "SSG")


def test_inspect_ssg_task_runs_and_its_metrics_match_spinebench(bench: Benchmark, tmp_path: Path) -> None:
    """The exported task, run by inspect on a scripted model: kappa etc. as spinebench computes them."""
    require("inspect_ai")
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model

    folder = export_inspect(bench, tmp_path / "inspect").main
    task_module = _import(folder / "task.py", "spinebench_inspect_task_grading")
    questions = _ssg(bench)

    def reply(text: str) -> ModelOutput:
        output = ModelOutput.from_content("mockllm/model", text)
        output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)  # no tokenizer download
        return output

    replies = [reply(f"Reasoning.\nMy final option: [{'ABC'[i % 3]}]") for i in range(len(questions) - 4)]
    replies += [reply("I cannot grade this.")] * 4
    model = get_model("mockllm/model", custom_outputs=replies)
    [log] = inspect_eval(
        task_module.spinebench_ssg(),
        model=model,
        log_dir=str(tmp_path / "logs"),
        display="none",
        max_samples=1,
    )
    assert log.status == "success" and log.results is not None and log.samples is not None
    [scores] = log.results.scores
    cells = np.zeros((3, 4))
    truth_of = {q.id: SEVERITY_GRADES.index(q.answer_texts[0]) for q in questions}
    for sample in log.samples:
        truth, answer = sample.scores["grading_scorer"].metadata["grades"]
        assert truth == truth_of[str(sample.id)]
        cells[truth, answer] += 1
    assert cells[:, 3].sum() == 4  # the replies without an answer
    expected = confusion_metrics(cells)
    for metric in ("accuracy", "weighted_kappa", "severe_sensitivity", "severe_specificity"):
        assert scores.metrics[metric].value == pytest.approx(float(expected[metric]), abs=1e-9)
