from __future__ import annotations

import json
import py_compile
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.export import export_inspect
from spinebench.prompts import PAPER, render_prompt
from spinebench.testing import require

# The fields of inspect_ai's Sample that json_dataset reads without a field spec, and the ones exported.
SAMPLE_FIELDS = {"input", "target", "choices", "id", "metadata", "sandbox", "files", "setup"}
EXPORTED = {"id", "input", "choices", "target", "metadata"}
METADATA = {"task", "disease", "source", "modality", "subsets", "answer_text", "prompt"}


@pytest.fixture(scope="module")
def sample() -> Benchmark:
    return Benchmark.open(SAMPLE_PATH, verify="full")


@pytest.fixture(scope="module")
def folder(sample: Benchmark, tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = export_inspect(sample, tmp_path_factory.mktemp("inspect"))
    assert result.main.name == "spinebench_inspect" and (result.questions, result.images) == (38, 24)
    return result.main


def _records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text(encoding="utf-8").splitlines()]


def test_jsonl_lines_are_valid_samples(sample: Benchmark, folder: Path) -> None:
    records = _records(folder)
    questions = list(sample.iter_questions())
    assert len(records) == len(questions) == 38
    assert len({record["id"] for record in records}) == 38
    for record, question in zip(records, questions, strict=True):
        assert set(record) == EXPORTED and set(record) <= SAMPLE_FIELDS
        assert record["id"] == question.id
        [message] = record["input"]
        assert message["role"] == "user"
        text, image = message["content"]  # text first: the image follows the text, as in the paper
        assert text == {"type": "text", "text": question.question}
        assert image["type"] == "image" and not Path(image["image"]).is_absolute()
        data = (folder / image["image"]).read_bytes()
        assert data == sample.read_image(question)
        with Image.open(folder / image["image"]) as opened:
            opened.load()
        assert record["choices"] == list(question.options)
        if question.multiple:
            assert record["target"] == list(question.answer)
        else:
            assert record["target"] == question.answer[0] and isinstance(record["target"], str)
        assert set(record["metadata"]) == METADATA
        assert record["metadata"]["task"] == question.task
        assert record["metadata"]["prompt"] == render_prompt(question, PAPER)
    assert len(list((folder / "images").glob("*/*"))) == 24


def test_task_py_compiles_and_defines_both_tasks(folder: Path, tmp_path: Path) -> None:
    source = (folder / "task.py").read_text(encoding="utf-8")
    py_compile.compile(str(folder / "task.py"), cfile=str(tmp_path / "task.pyc"), doraise=True)
    for needle in (
        "def spinebench_sdd(",
        "def spinebench_sll(",
        "json_dataset(",
        "multiple_choice(cot=True, multiple_correct=multiple)",
        "scorer=choice()",
        'return _task("SLL", True, prompt)',
    ):
        assert needle in source


def test_samples_load_through_inspect_ai_when_installed(folder: Path) -> None:
    require("inspect_ai")
    from inspect_ai.dataset import json_dataset
    from inspect_ai.model import ContentImage, ContentText

    dataset = json_dataset(str(folder / "samples.jsonl"))
    assert len(dataset) == 38
    first = dataset[0]
    assert isinstance(first.input, list)
    text, image = first.input[0].content
    assert isinstance(text, ContentText) and isinstance(image, ContentImage)
    assert Path(image.image).is_file()  # resolved against the JSONL's folder
    assert first.choices is not None and len(first.choices) == 5


def test_both_tasks_generate_greedily_with_eval_s_token_limit(folder: Path) -> None:
    require("inspect_ai")
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("spinebench_inspect_task_config", folder / "task.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    for prompt in ("inspect", "paper"):
        for make in (module.spinebench_sdd, module.spinebench_sll):
            config = make(prompt=prompt).config
            assert (config.temperature, config.max_tokens) == (0.0, 1024)
    # A reply stopped by max_tokens is not read, as under `spinebench eval`.
    assert module.extract_letters("My final option: [B]", ["a", "b", "c"], False) == ("B",)
    assert module.extract_letters("My final option: [B]", ["a", "b", "c"], False, "length") == ()


def test_task_py_states_the_generation_settings(folder: Path) -> None:
    source = (folder / "task.py").read_text(encoding="utf-8")
    assert "GenerateConfig(temperature=0.0, max_tokens=1024)" in source
    # Every task, in both prompt modes (SDD and SLL share one builder; SSG has its own two).
    assert source.count("config=GENERATION") == source.count("return Task(") == 4
    assert "-M responses_api=false" in source
