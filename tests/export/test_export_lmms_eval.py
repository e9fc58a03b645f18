from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow.parquet as pq
import pytest
from PIL import Image

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.export import export_lmms_eval
from spinebench.prompts import PAPER, render_prompt
from spinebench.testing import require


def _load_yaml(path: Path) -> dict[str, Any]:
    """yaml.safe_load plus the `!function module.name` tag that lmms-eval's own loader resolves."""
    yaml = require("yaml")

    class TaskLoader(yaml.SafeLoader):  # type: ignore[misc,name-defined]
        pass

    TaskLoader.add_constructor("!function", lambda loader, node: ("function", loader.construct_scalar(node)))
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=TaskLoader)
    assert isinstance(loaded, dict)
    return loaded


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def sample() -> Benchmark:
    return Benchmark.open(SAMPLE_PATH, verify="full")


@pytest.fixture(scope="module")
def folder(sample: Benchmark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = export_lmms_eval(sample, tmp_path_factory.mktemp("lmms"))
    assert result.main.name == "spinebench" and result.questions == 38
    return result.main


def test_task_yamls_parse_and_point_at_the_parquet(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == [
        "data",
        "spinebench.yaml",
        "spinebench_extract.py",
        "spinebench_grading.py",
        "spinebench_sdd.yaml",
        "spinebench_sll.yaml",
        "utils.py",
    ]
    group = _load_yaml(folder / "spinebench.yaml")
    assert group["group"] == "spinebench" and group["task"] == ["spinebench_sdd", "spinebench_sll"]
    functions = {"doc_to_visual", "doc_to_text", "doc_to_target", "process_results"}
    utils = ast.parse((folder / "utils.py").read_text())
    defined = {node.name for node in utils.body if isinstance(node, ast.FunctionDef)}
    for task, docs, metrics in (
        ("spinebench_sdd", "sdd_docs", ["accuracy", "parsed"]),
        ("spinebench_sll", "sll_docs", ["set_accuracy", "precision", "recall", "f1", "parsed"]),
    ):
        config = _load_yaml(folder / f"{task}.yaml")
        assert config["task"] == task and config["dataset_path"] == "parquet"
        data = Path(config["dataset_kwargs"]["data_files"][config["test_split"]])
        assert data == (folder / "data" / "test.parquet").resolve() and data.is_file()
        assert config["output_type"] == "generate_until"
        assert config["process_docs"] == ("function", f"utils.{docs}")
        for key in functions:
            kind, target = config[key]
            assert kind == "function" and target.split(".")[1] in defined
        assert [m["metric"] for m in config["metric_list"]] == metrics
        assert all(m["aggregation"] == "mean" for m in config["metric_list"])


def test_utils_functions_work_on_a_parquet_row(sample: Benchmark, folder: Path) -> None:
    utils = _import(folder / "utils.py", "spinebench_lmms_utils_row")
    rows = pq.read_table(folder / "data" / "test.parquet").to_pylist()
    questions = list(sample.iter_questions())
    assert len(rows) == 38
    for row, question in zip(rows, questions, strict=True):
        assert utils.doc_to_text(row) == render_prompt(question, PAPER)
        [image] = utils.doc_to_visual(row)  # a raw row: image as {bytes, path}
        assert isinstance(image, Image.Image) and image.mode == "RGB"
        assert utils.doc_to_target(row) == ", ".join(question.answer)
        letters = ", ".join(question.answer)
        final = "My final options" if question.multiple else "My final option"
        right = utils.process_results(row, [f"Reasoning about the levels.\n{final}: [{letters}]"])
        wrong = utils.process_results(row, ["I cannot tell."])
        if question.multiple:
            assert right == {"set_accuracy": 1.0, "precision": 1.0, "recall": 1.0, "f1": 1.0, "parsed": 1.0}
            assert wrong == {"set_accuracy": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0, "parsed": 0.0}
        else:
            assert right == {"accuracy": 1.0, "parsed": 1.0} and wrong == {"accuracy": 0.0, "parsed": 0.0}
    assert utils.doc_to_text(rows[0], {"pre_prompt": "<", "post_prompt": ">"}) == f"<{rows[0]['prompt']}>"


def test_sll_partial_answers_score_precision_and_recall(folder: Path) -> None:
    utils = _import(folder / "utils.py", "spinebench_lmms_utils_sll")
    row = {"task": "SLL", "options": ["L1/L2", "L2/L3", "L3/L4", "L4/L5", "L5/S1"], "answer": ["A", "C"]}
    scores = utils.process_results(row, ["My final options: [A, B]"])
    assert scores["set_accuracy"] == 0.0 and scores["precision"] == 0.5 and scores["recall"] == 0.5


def test_process_docs_split_the_tasks_through_datasets(
    folder: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    datasets = require("datasets")
    config = _load_yaml(folder / "spinebench_sdd.yaml")
    loaded = datasets.load_dataset(
        config["dataset_path"], **config["dataset_kwargs"], cache_dir=str(tmp_path / "cache")
    )[config["test_split"]]
    utils = _import(folder / "utils.py", "spinebench_lmms_utils_datasets")
    sdd, sll = utils.sdd_docs(loaded), utils.sll_docs(loaded)
    assert (len(sdd), len(sll)) == (24, 14)
    doc = sll[0]
    assert isinstance(doc["image"], Image.Image)  # datasets decodes it, as lmms-eval hands it over
    assert utils.doc_to_visual(doc)[0].mode == "RGB"
