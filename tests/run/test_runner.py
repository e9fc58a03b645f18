"""The runner against a real HTTP server on 127.0.0.1 speaking the OpenAI chat API."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

from spinebench.benchmark import Benchmark, BenchmarkWriter, Question
from spinebench.models import ChatRequest, Completion, ProviderOptions, RetryPolicy
from spinebench.run import PREDICTIONS, EvalSettings, RunDirectory, evaluate
from spinebench.testing import OpenAIStubServer, StubReply, script_by_marker, user_text

LEVELS = ("L3/L4", "L1/L2", "L5/S1", "L2/L3", "L4/L5")
DISEASES = ("Osteophytes", "Healthy", "Spondylolisthesis", "Vertebral collapse", "Disc space narrowing")

# case -> what the server replies; the truth is A for every SDD case, {A, C} for SLL ones.
SCRIPT: dict[str, StubReply | list[StubReply]] = {
    "case-01": StubReply.answer("The canal is patent.\nMy final option: [A]"),
    "case-02": StubReply.answer("Looking at the alignment...\n\n**Answer: B**"),
    "case-03": StubReply.answer("Therefore the answer is $\\boxed{A}$."),
    "case-04": StubReply.answer("I'm sorry, but I can't provide a medical diagnosis from an image."),
    "case-05": [StubReply.error(429, headers={"Retry-After": "0"}), StubReply.answer("My final option: [A]")],
    "case-06": StubReply.error(500),
    "case-07": StubReply.answer("My final option: [A]", delay=2.0),
    "case-08": [StubReply.raw(b'{"choices": [ {"mess'), StubReply.answer("My final option: [A]")],
    "case-09": StubReply.answer("It is hard to say; several findings could fit."),
    "case-10": StubReply.answer("Final answer: $A$"),
    "case-11": StubReply.answer("Levels L1/L2 and L3/L4 are affected.\nMy final options: [A, C]"),
    "case-12": StubReply.answer("Only one level.\nMy final options: [A]"),
}


def _image(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 24), (seed * 20 % 256, 40, 90)).save(buffer, format="JPEG")
    return buffer.getvalue()


def write_cases(out: Path) -> Benchmark:
    writer = BenchmarkWriter(out, name="cases")
    for number in range(1, 13):
        image = writer.add_image(_image(number))
        multiple = number > 10
        writer.add_question(
            Question(
                id=f"case-{number:02d}",
                task="SLL" if multiple else "SDD",
                image=image,
                question=f"case-{number:02d}: what does the image show?",
                options=LEVELS if multiple else DISEASES,
                answer=("A", "C") if multiple else ("A",),
                disease="Spondylolisthesis" if multiple else DISEASES[0],
                source="synthetic",
                modality="xray",
            )
        )
    writer.close()
    return Benchmark.open(out)


def _settings(base_url: str, **overrides: object) -> EvalSettings:
    options = ProviderOptions(
        base_url=base_url, timeout=0.5, retry=RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.05)
    )
    fields: dict[str, object] = {"model": "openai:stub", "concurrency": 4, "provider_options": options}
    fields.update(overrides)
    return EvalSettings(**fields)  # type: ignore[arg-type]


def test_scripted_server_scores_exactly_and_errors_are_not_wrong(tmp_path: Path) -> None:
    bench = write_cases(tmp_path / "bench")
    with OpenAIStubServer(script_by_marker(SCRIPT)) as server:
        result = evaluate(bench, tmp_path / "run", _settings(server.base_url))
    predictions = RunDirectory(tmp_path / "run").load_predictions()
    stages = {qid: p.stage for qid, p in predictions.items()}
    assert stages == {
        "case-01": "strict", "case-02": "tolerant", "case-03": "tolerant", "case-04": "refused",
        "case-05": "strict", "case-06": None, "case-07": None, "case-08": "strict", "case-09": "unparsed",
        "case-10": "tolerant", "case-11": "strict", "case-12": "strict",
    }  # fmt: skip
    assert predictions["case-05"].attempts == 2 and predictions["case-08"].attempts == 2
    assert predictions["case-06"].error is not None and predictions["case-06"].error["kind"] == "server"
    assert predictions["case-07"].error is not None and predictions["case-07"].error["kind"] == "timeout"
    scores = result.scores
    sdd, sll = scores["tasks"]["SDD"], scores["tasks"]["SLL"]
    assert (sdd["scored"], sdd["correct"], sdd["errors"]) == (8, 5, 2)
    assert sdd["accuracy"] == pytest.approx(5 / 8)
    assert (sdd["unparsed"], sdd["refused"]) == (1, 1)
    assert (sll["accuracy"], sll["precision"], sll["recall"]) == (0.5, 1.0, 0.75)
    assert scores["overall"] == pytest.approx((5 / 8 + 0.5) / 2)
    assert scores["status"] == "incomplete"
    assert scores["counts"]["errors_by_kind"] == {"server": 1, "timeout": 1}
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["status"] == "incomplete"
    assert run_json["identity"]["prompt"]["name"] == "paper"

    # The server recovers: running again retries only the two failures.
    with OpenAIStubServer(script_by_marker({}, default=None)) as healthy:
        again = evaluate(bench, tmp_path / "run", _settings(healthy.base_url))
        asked = sorted(re.findall(r"case-\d\d", user_text(r.body))[0] for r in healthy.requests)
        assert asked == ["case-06", "case-07"]
    assert again.scores["status"] == "complete"
    assert again.scores["tasks"]["SDD"]["scored"] == 10
    lines = (tmp_path / "run" / PREDICTIONS).read_text().splitlines()
    assert len(lines) == 14


def test_no_rerun_errors_keeps_failures(tmp_path: Path) -> None:
    bench = write_cases(tmp_path / "bench")
    with OpenAIStubServer(script_by_marker({"case-": StubReply.error(503)})) as server:
        evaluate(bench, tmp_path / "run", _settings(server.base_url))
        before = server.request_count
        result = evaluate(bench, tmp_path / "run", _settings(server.base_url, rerun_errors=False))
        assert server.request_count == before
    assert result.scores["counts"]["errors"] == 12 and result.scores["tasks"]["SDD"]["accuracy"] is None


def _deterministic_answer(body: dict[str, object], call_index: int) -> StubReply:
    text = user_text(body)
    letter = "ABCDE"[hashlib.sha256(text.encode()).digest()[0] % 5]
    return StubReply.answer(
        f"Reasoning about {len(text)} characters.\nMy final option: [{letter}]", delay=0.03
    )


def test_resume_after_kill_9_equals_an_uninterrupted_run(tmp_path: Path, sample: Benchmark) -> None:
    with OpenAIStubServer(_deterministic_answer) as server:
        command = [
            sys.executable, "-m", "spinebench", "eval", str(sample.path), "--model", "openai:stub",
            "--base-url", server.base_url, "--concurrency", "2",
        ]  # fmt: skip
        killed = tmp_path / "killed"
        process = subprocess.Popen([*command, "--out", str(killed)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        predictions = killed / PREDICTIONS
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if predictions.exists() and predictions.read_text().count("\n") >= 8:
                break
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        partial = predictions.read_text().count("\n")
        assert 8 <= partial < len(sample)
        resumed = subprocess.run([*command, "--out", str(killed)], capture_output=True, text=True)
        assert resumed.returncode == 0, resumed.stderr
        whole = subprocess.run([*command, "--out", str(tmp_path / "whole")], capture_output=True, text=True)
        assert whole.returncode == 0, whole.stderr

    def answers(run: Path) -> dict[str, tuple[object, ...]]:
        lines = [json.loads(line) for line in (run / PREDICTIONS).read_text().splitlines()]
        assert len(lines) == len({line["question_id"] for line in lines}), "a question was answered twice"
        return {
            line["question_id"]: (line["response"], tuple(line["letters"]), line["stage"]) for line in lines
        }

    assert answers(killed) == answers(tmp_path / "whole")
    assert len(answers(killed)) == len(sample)
    scores = [json.loads((run / "scores.json").read_text()) for run in (killed, tmp_path / "whole")]
    assert scores[0] == scores[1]


def test_judge_reads_only_what_the_rules_cannot(tmp_path: Path) -> None:
    bench = write_cases(tmp_path / "bench")
    rules = {
        "provide a medical diagnosis from an image": StubReply.answer("My final option: [NONE]"),
        "another model's answer": StubReply.answer("My final option: [B]"),
        **SCRIPT,
    }
    with OpenAIStubServer(script_by_marker(rules)) as server:
        result = evaluate(bench, tmp_path / "run", _settings(server.base_url, judge="openai:judge"))
        judged = [r for r in server.requests if "another model's answer" in user_text(r.body)]
    asked = sorted(case for r in judged for case in ("case-04", "case-09") if f"{case}:" in user_text(r.body))
    assert asked == ["case-04", "case-09"] and len(judged) == 2
    assert judged[0].body["model"] == "judge" and judged[0].image_urls == []
    predictions = RunDirectory(tmp_path / "run").load_predictions()
    assert predictions["case-09"].stage == "judge" and predictions["case-09"].letters == ("B",)
    assert predictions["case-09"].judge == {
        "response": "My final option: [B]",
        "letters": ["B"],
        "cached": False,
        "after": "unparsed",
    }
    # A refusal is read by the judge too; it stays `refused` only when the judge finds no letter either.
    assert predictions["case-04"].stage == "refused" and predictions["case-04"].judge is not None
    assert result.scores["tasks"]["SDD"]["stages"]["judge"] == 1
    run_json = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run_json["identity"]["judge"] == "openai:judge"

    # Answered again from scratch (predictions lost), the judge's reading comes from its cache.
    (tmp_path / "run" / PREDICTIONS).unlink()
    with OpenAIStubServer(script_by_marker(rules)) as server:
        evaluate(bench, tmp_path / "run", _settings(server.base_url, judge="openai:judge"))
        assert not [r for r in server.requests if "another model's answer" in user_text(r.body)]
    again = RunDirectory(tmp_path / "run").load_predictions()["case-09"]
    assert again.stage == "judge" and again.judge is not None and again.judge["cached"] is True


def test_truncated_replies_are_recorded_and_reach_the_judge(tmp_path: Path) -> None:
    bench = write_cases(tmp_path / "bench")
    script: dict[str, StubReply | list[StubReply]] = {
        # The judge: a letter for the reply cut off by max_tokens, none for the one cut off while thinking.
        "Level by level": StubReply.answer("My final option: [E]"),
        "another model's answer": StubReply.answer("My final option: [NONE]"),
        **SCRIPT,  # the cases below replace theirs, in SCRIPT's place: after the judge's markers
        "case-01": StubReply.answer("Level by level: option E shows", finish_reason="length"),
        "case-02": StubReply.answer("<think>The slip at L4 suggests A, but the disc", finish_reason="length"),
        "case-03": StubReply.answer("<think>A or D?</think>\nMy final option: [A]"),
        "case-10": StubReply.answer("My final option: [A]", reasoning="Spurs? No, the slip decides it."),
    }
    with OpenAIStubServer(script_by_marker(script)) as server:
        result = evaluate(bench, tmp_path / "run", _settings(server.base_url, judge="openai:judge"))
        judged = [user_text(r.body) for r in server.requests if "another model's answer" in user_text(r.body)]
    predictions = RunDirectory(tmp_path / "run").load_predictions()
    cut, thinking, closed, apart = (predictions[f"case-{n:02d}"] for n in (1, 2, 3, 10))
    assert any("Level by level: option E shows" in text for text in judged)
    assert any("The slip at L4 suggests A, but the disc" in text for text in judged)  # the thinking so far
    assert (cut.stage, cut.letters) == ("judge", ("E",)) and cut.judge is not None
    assert cut.judge["after"] == "truncated"
    assert (thinking.stage, thinking.letters) == ("truncated", ())
    assert thinking.response == "" and thinking.reasoning == "The slip at L4 suggests A, but the disc"
    assert (closed.stage, closed.letters, closed.response) == ("strict", ("A",), "My final option: [A]")
    assert closed.reasoning == "A or D?"
    assert apart.reasoning == "Spurs? No, the slip decides it." and apart.response == "My final option: [A]"
    assert result.scores["tasks"]["SDD"]["truncated"] == 1
    assert result.scores["counts"]["truncated"] == 1


def test_concurrency_below_one_still_runs_to_the_end(tmp_path: Path) -> None:
    # With 0 the queue was unbounded and the lone worker waited forever for a stop mark.
    bench = write_cases(tmp_path / "bench")
    finished: list[str] = []

    def run() -> None:
        result = evaluate(bench, tmp_path / "run", EvalSettings(model="random", concurrency=0))
        finished.append(result.scores["status"])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert finished == ["complete"]


class _AnswersOnceThenBreaks:
    """A provider whose second call fails with a bug (not an infrastructure error): the run stops there."""

    spec = "openai:breaks"

    def __init__(self) -> None:
        self.calls = 0

    def describe(self) -> dict[str, object]:
        return {"provider": "breaks"}

    async def complete(self, request: ChatRequest) -> Completion:
        self.calls += 1
        if self.calls > 1:
            raise RuntimeError("provider bug")
        return Completion("My final option: [A]")

    async def aclose(self) -> None:
        return None


def test_circular_run_stopped_before_any_rotation_is_incomplete(tmp_path: Path) -> None:
    writer = BenchmarkWriter(tmp_path / "bench", name="one")
    image = writer.add_image(_image(1))
    writer.add_question(
        Question("only", "SDD", image, "what?", DISEASES, ("A",), DISEASES[0], "synthetic", "xray")
    )
    writer.close()
    settings = EvalSettings(model="openai:breaks", circular=True, concurrency=1)
    with pytest.raises(RuntimeError, match="provider bug"):
        evaluate(
            Benchmark.open(tmp_path / "bench"), tmp_path / "run", settings, provider=_AnswersOnceThenBreaks()
        )
    scores = json.loads((tmp_path / "run" / "scores.json").read_text())
    assert scores["status"] == "incomplete"
    assert scores["tasks"]["SDD"]["circular"]["pending"] == 1


def test_the_seed_of_the_settings_is_the_one_the_random_baseline_draws_with(
    tmp_path: Path, sample: Benchmark
) -> None:
    def letters(seed: int) -> dict[str, tuple[str, ...]]:
        evaluate(sample, tmp_path / str(seed), EvalSettings(model="random", seed=seed))
        run_json = json.loads((tmp_path / str(seed) / "run.json").read_text())
        assert run_json["identity"]["seed"] == run_json["provider"]["seed"] == seed
        return {qid: p.letters for qid, p in RunDirectory(tmp_path / str(seed)).load_predictions().items()}

    assert letters(1) != letters(2)
