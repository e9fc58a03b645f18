"""`spinebench eval --ray` across a two-node local cluster: the same records as a local run, and nothing lost
or duplicated when a worker is killed mid-run."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.cluster import (
    QUESTION_COLUMN,
    RayEvalExecutor,
    completion_from_row,
    postprocess_row,
    preprocess_row,
    question_record,
)
from spinebench.models import ProviderOptions, RetryPolicy
from spinebench.run import EvalSettings, evaluate
from spinebench.testing import OpenAIStubServer, StubReply, require, user_text


def _varied_script(delay: float = 0.0) -> Any:
    """A reply that depends only on the question (so local and Ray runs get the same one)."""

    def script(body: dict[str, Any], call_index: int) -> StubReply:
        text = user_text(body)
        letter = "ABCDE"[hashlib.sha256(text.encode()).digest()[0] % 5]
        line = "My final options" if "final options" in text else "My final option"
        return StubReply.answer(f"Looking at it.\n{line}: [{letter}]", delay=delay)

    return script


def _settings(base_url: str, concurrency: int = 4) -> EvalSettings:
    options = ProviderOptions(
        base_url=base_url, api_key_env="SPINEBENCH_TEST_KEY", retry=RetryPolicy(max_attempts=2)
    )
    return EvalSettings(model="openai:stub-model", provider_options=options, concurrency=concurrency)


def _records(run: Path) -> dict[str, dict[str, Any]]:
    records: dict[str, dict[str, Any]] = {}
    for line in (run / "predictions.jsonl").read_text().splitlines():
        record = json.loads(line)
        record.pop("latency_s")
        records[record["question_id"]] = record
    return records


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPINEBENCH_TEST_KEY", "not-a-real-key")


def test_ray_eval_writes_what_a_local_eval_writes(ray_cluster: str, tmp_path: Path) -> None:
    bench = Benchmark.open(SAMPLE_PATH)
    with OpenAIStubServer(_varied_script()) as stub:
        settings = _settings(stub.base_url)
        local = evaluate(bench, tmp_path / "local", settings)
        executor = RayEvalExecutor(bench, settings, ray_cluster, actors=2)
        remote = evaluate(bench, tmp_path / "ray", settings, executor=executor)
    assert _records(tmp_path / "ray") == _records(tmp_path / "local")
    assert len(_records(tmp_path / "ray")) == len(bench)
    assert remote.scores["tasks"] == local.scores["tasks"] and remote.scores["status"] == "complete"
    described = json.loads((tmp_path / "ray" / "run.json").read_text())["provider"]
    assert described["cluster"]["engine"] == "ray" and described["model"] == "stub-model"


def test_baselines_run_on_ray_as_they_do_locally(ray_cluster: str, tmp_path: Path) -> None:
    bench = Benchmark.open(SAMPLE_PATH)
    settings = EvalSettings(model="prior")
    evaluate(bench, tmp_path / "local", settings)
    evaluate(bench, tmp_path / "ray", settings, executor=RayEvalExecutor(bench, settings, ray_cluster))
    assert _records(tmp_path / "ray") == _records(tmp_path / "local")


def _worker_pids(marker: str) -> list[int]:
    """Processes whose command line names `marker` (Ray titles an actor's process after its class)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            # A Ray worker's title starts "ray::"; this process (the driver) must never be the one killed.
            if cmdline.startswith("ray::") and marker in cmdline and int(entry.name) != os.getpid():
                found.append(int(entry.name))
    return found


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(ray_cluster: str, tmp_path: Path) -> None:
    bench = Benchmark.open(SAMPLE_PATH)
    out = tmp_path / "run"
    with OpenAIStubServer(_varied_script(delay=0.25)) as stub:
        settings = _settings(stub.base_url, concurrency=1)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                evaluate(
                    bench, out, settings, executor=RayEvalExecutor(bench, settings, ray_cluster, actors=2)
                )
            except BaseException as error:  # the run may stop; resuming must then finish it
                errors.append(error)

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 180
        killed = False
        while worker.is_alive() and time.monotonic() < deadline:
            # Kill an answering worker once requests are in flight (answers reach the driver by block).
            pids = _worker_pids("_AnswerBatch")
            if not killed and stub.request_count >= 6 and pids:
                os.kill(pids[0], signal.SIGKILL)
                killed = True
            time.sleep(0.05)
        worker.join(timeout=120)
        assert killed, "no answering worker was found to kill"
        # Resume, as a user would after a failed run (a complete run resumes to nothing).
        evaluate(bench, out, settings, executor=RayEvalExecutor(bench, settings, ray_cluster, actors=2))
    lines = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    answered_ids = [line["question_id"] for line in lines if line["error"] is None]
    assert sorted(answered_ids) == sorted(q.id for q in bench.iter_questions())  # none lost, none twice


def test_the_vllm_stages_read_a_reply_as_the_local_runner_does(tmp_path: Path) -> None:
    require("ray")
    bench = Benchmark.open(SAMPLE_PATH)
    settings = EvalSettings(model="vllm:/models/any")
    question = next(q for q in bench.iter_questions() if q.task == "SLL")
    row = {QUESTION_COLUMN: question_record(question)}
    prepared = preprocess_row(row, benchmark=str(SAMPLE_PATH), settings=settings)
    content = prepared["messages"][-1]["content"]
    assert content[0]["type"] == "text" and content[1]["image_url"]["url"].startswith(
        "data:image/jpeg;base64,"
    )
    assert prepared["sampling_params"]["temperature"] == 0.0
    letters = ", ".join(question.answer)
    generated = {
        **prepared,
        "generated_text": f"Reasoning.\nMy final options: [{letters}]",
        "num_input_tokens": 50,
        "num_generated_tokens": 9,
    }
    record = json.loads(
        postprocess_row(generated, benchmark=str(SAMPLE_PATH), settings=settings)["prediction"]
    )
    assert record["question_id"] == question.id
    assert tuple(record["letters"]) == question.answer and record["stage"] == "strict"
    assert completion_from_row({"num_generated_tokens": 1024}, 1024).finish_reason == "length"
    assert completion_from_row({"num_generated_tokens": 10}, 1024).finish_reason == "stop"


def _image_script(body: dict[str, Any], call_index: int) -> StubReply:
    """A reply that depends on the whole request, image included (so a changed image changes it)."""
    digest = hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).digest()
    line = "My final options" if "final options" in user_text(body) else "My final option"
    return StubReply.answer(f"{line}: [{'ABCDE'[digest[0] % 5]}]")


def test_image_controls_and_paraphrases_on_ray_write_what_they_write_locally(
    ray_cluster: str, tmp_path: Path
) -> None:
    bench = Benchmark.open(SAMPLE_PATH)
    with OpenAIStubServer(_image_script) as stub:
        real = _settings(stub.base_url)
        settings = replace(real, image_control="shuffled", paraphrases=2)
        evaluate(bench, tmp_path / "real", real)
        local = evaluate(bench, tmp_path / "local", settings)
        executor = RayEvalExecutor(bench, settings, ray_cluster, actors=2)
        remote = evaluate(bench, tmp_path / "ray", settings, executor=executor)
    records = _records(tmp_path / "ray")
    assert records == _records(tmp_path / "local") and len(records) == 2 * len(bench)
    assert remote.scores["paraphrase"] == local.scores["paraphrase"]
    # The workers sent the shuffled images: the answers are not those of the real images.
    real_records = _records(tmp_path / "real")
    assert any(records[qid]["response"] != record["response"] for qid, record in real_records.items())
    assert all(records[qid]["image_sha256"] != record["image_sha256"] for qid, record in real_records.items())
    assert json.loads((tmp_path / "ray" / "run.json").read_text())["image_control"]["kind"] == "shuffled"


@pytest.mark.parametrize("control", ["text-only", "blank"])
def test_the_vllm_stage_sends_the_controlled_image(control: str) -> None:
    require("ray")
    bench = Benchmark.open(SAMPLE_PATH)
    question = next(q for q in bench.iter_questions() if q.task == "SDD")
    row = {QUESTION_COLUMN: question_record(question)}

    def image_parts(settings: EvalSettings) -> list[Any]:
        prepared = preprocess_row(row, benchmark=str(SAMPLE_PATH), settings=settings)
        return [p for p in prepared["messages"][-1]["content"] if p["type"] == "image_url"]

    real = image_parts(EvalSettings(model="vllm:/models/any"))
    controlled = image_parts(EvalSettings(model="vllm:/models/any", image_control=cast(Any, control)))
    assert len(real) == 1
    if control == "text-only":
        assert controlled == []
    else:
        assert len(controlled) == 1 and controlled != real
