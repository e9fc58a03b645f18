"""Faults a user meets with `spinebench eval`: secrets in URLs, hostile server text, dead servers, typos."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spinebench.cli import app
from spinebench.run import PREDICTIONS, RUN_JSON, RunDirectory
from spinebench.testing import OpenAIStubServer, StubReply

runner = CliRunner()
SECRET = "sk-live-SECRET-0123456789"


def _eval(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["eval", *args], env=env)
    return result.exit_code, result.output


def _files_holding(root: Path, text: str) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file() and text.encode() in path.read_bytes()]


@pytest.mark.parametrize("shape", ["query", "userinfo", "path-parameters"])
def test_a_credential_in_the_base_url_is_refused_and_stored_nowhere(tmp_path: Path, shape: str) -> None:
    with OpenAIStubServer() as stub:
        host = stub.base_url.removeprefix("http://")
        url = {
            "query": f"{stub.base_url}?api_key={SECRET}",
            "userinfo": f"http://me:{SECRET}@{host}",
            "path-parameters": f"{stub.base_url};key={SECRET}",
        }[shape]
        code, output = _eval("--model", "openai:stub-model", "--base-url", url, "--out", str(tmp_path / "r"))
        assert stub.request_count == 0
    assert code == 2 and "--api-key-env" in output
    assert SECRET not in output
    assert _files_holding(tmp_path, SECRET) == []
    assert not (tmp_path / "r").exists()


def test_a_hosted_endpoint_without_a_key_is_an_early_clear_error(tmp_path: Path) -> None:
    env = {"OPENAI_API_KEY": "", "OPENAI_BASE_URL": ""}
    code, output = _eval("--model", "openai:gpt-4o", "--out", str(tmp_path / "r"), env=env)
    assert code == 2 and "OPENAI_API_KEY is not set" in output and "--base-url" in output
    assert not (tmp_path / "r").exists()


def test_terminal_control_codes_from_a_server_are_stripped_from_the_summary(tmp_path: Path) -> None:
    hostile = b"\x1b]0;PWNED\x07\x1b[2J\x1b[31mbad key\xe2\x80\xae"
    with OpenAIStubServer(lambda body, n: StubReply.error(400, body=hostile)) as stub:
        code, output = _eval(
            "--model", "openai:stub-model", "--base-url", stub.base_url, "--out", str(tmp_path / "r"),
        )  # fmt: skip
    assert code == 3, output
    assert "bad key" in output
    assert "\x1b]0" not in output and "\x07" not in output and "\x1b[2J" not in output
    assert "\u202e" not in output


def test_a_dead_server_stops_the_run_at_once_with_the_cause_and_fix(tmp_path: Path) -> None:
    started = time.monotonic()
    code, output = _eval(
        "--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path / "r"),
    )  # fmt: skip
    assert time.monotonic() - started < 30
    assert code == 2, output
    assert "stopped" in output and "cannot reach http://127.0.0.1:9/v1" in output
    assert "is the server running" in output
    assert json.loads((tmp_path / "r/scores.json").read_text())["status"] == "incomplete"


@pytest.mark.parametrize("status", [401, 403, 404])
def test_an_auth_or_model_error_on_every_first_request_stops_the_run(tmp_path: Path, status: int) -> None:
    with OpenAIStubServer(lambda body, n: StubReply.error(status, "nope")) as stub:
        code, output = _eval(
            "--model", "openai:stub-model", "--base-url", stub.base_url, "--out", str(tmp_path / "r"),
        )  # fmt: skip
        asked = stub.request_count
    assert code == 2, output
    assert f"HTTP {status}" in output and "stopped" in output
    assert asked < 38  # not every question was sent
    hint = {401: "OPENAI_API_KEY", 403: "OPENAI_API_KEY", 404: "model name"}[status]
    assert hint in output


def test_transient_errors_keep_their_retries(tmp_path: Path) -> None:
    def flaky(body: dict[str, object], call_index: int) -> StubReply:
        return StubReply.error(503) if call_index == 0 else StubReply.answer()

    with OpenAIStubServer(flaky) as stub:
        code, output = _eval(
            "--model", "openai:stub-model", "--base-url", stub.base_url, "--out", str(tmp_path / "r"),
        )  # fmt: skip
    assert code == 0, output
    scores = json.loads((tmp_path / "r/scores.json").read_text())
    assert scores["status"] == "complete" and scores["counts"]["errors"] == 0


def test_an_unknown_constant_answer_is_refused_naming_the_answer_classes(tmp_path: Path) -> None:
    code, output = _eval("--model", "constant:Zebra", "--out", str(tmp_path / "r"))
    assert code == 2 and "Zebra" in output and "Healthy" in output
    assert not (tmp_path / "r" / PREDICTIONS).exists()


def test_a_mistyped_subset_leaves_nothing_that_blocks_the_corrected_command(tmp_path: Path) -> None:
    out = str(tmp_path / "r")
    code, output = _eval("--model", "random", "--subset", "foo", "--out", out)
    assert code == 2 and "no subset 'foo'" in output
    code, output = _eval("--model", "random", "--subset", "sub", "--out", out)
    assert code == 0, output


def test_a_run_directory_that_never_answered_does_not_block_another_configuration(tmp_path: Path) -> None:
    run = tmp_path / "r"
    run.mkdir()
    (run / RUN_JSON).write_text(json.dumps({"identity": {"model": "openai:typo"}, "status": "running"}))
    code, output = _eval("--model", "random", "--out", str(run))
    assert code == 0, output


def test_a_different_configuration_says_how_to_start_fresh_and_overwrite_does(tmp_path: Path) -> None:
    out = str(tmp_path / "r")
    assert _eval("--model", "random", "--out", out)[0] == 0
    code, output = _eval("--model", "constant:Healthy", "--out", out)
    assert code == 2 and "--overwrite" in output
    code, output = _eval("--model", "constant:Healthy", "--out", out, "--overwrite")
    assert code == 0, output
    lines = (tmp_path / "r" / PREDICTIONS).read_text().splitlines()
    assert len(lines) == 38


def test_out_inside_the_benchmark_folder_is_refused(sample_copy: Path) -> None:
    code, output = _eval(str(sample_copy), "--model", "random", "--out", str(sample_copy / "runs"))
    assert code == 2 and "inside the benchmark" in output
    assert not (sample_copy / "runs").exists()


def test_a_tampered_image_in_a_small_benchmark_is_found_before_any_request(
    sample_copy: Path, tmp_path: Path
) -> None:
    victim = sorted(sample_copy.glob("images/*/*.jpg"))[-1]
    data = victim.read_bytes()
    victim.write_bytes(data[:-4] + b"\x00\x00\x00\x00")
    code, output = _eval(str(sample_copy), "--model", "random", "--out", str(tmp_path / "r"))
    assert code == 2 and f"{victim.name}: altered" in output
    assert not (tmp_path / "r").exists()


def _slow_eval(out: Path, base_url: str) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "spinebench", "eval", "--model", "openai:stub-model", "--base-url", base_url,
        "--out", str(out), "--concurrency", "1",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def _wait_for_answers(out: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        file = out / PREDICTIONS
        if file.exists() and len(file.read_text().splitlines()) >= count:
            return
        time.sleep(0.05)
    raise AssertionError("the eval never answered")


def test_a_second_eval_into_the_same_directory_exits_at_once_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "r"
    with OpenAIStubServer(lambda body, n: StubReply.answer(delay=0.2)) as stub:
        first = _slow_eval(out, stub.base_url)
        try:
            _wait_for_answers(out, 1, first)
            started = time.monotonic()
            code, output = _eval(
                "--model", "openai:stub-model", "--base-url", stub.base_url, "--out", str(out)
            )
            assert time.monotonic() - started < 10
            assert code == 2, output
            assert f"PID {first.pid}" in output and "another eval" in output
        finally:
            first.kill()
            first.wait()
        # The killed holder leaves a stale lock behind; the next eval sees through it and resumes.
        code, output = _eval("--model", "openai:stub-model", "--base-url", stub.base_url, "--out", str(out))
    assert code == 0, output
    ids = [json.loads(line)["question_id"] for line in (out / PREDICTIONS).read_text().splitlines()]
    assert len(set(ids)) == 38


def test_ctrl_c_says_how_many_answers_are_saved_and_how_to_resume(tmp_path: Path) -> None:
    out = tmp_path / "r"
    with OpenAIStubServer(lambda body, n: StubReply.answer(delay=0.2)) as stub:
        process = _slow_eval(out, stub.base_url)
        try:
            _wait_for_answers(out, 2, process)
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=30)
        finally:
            process.kill()
    # What the message counts: answers kept for scoring (a request cut off by Ctrl-C may leave an error line).
    saved = sum(1 for p in RunDirectory(out).load_predictions(with_text=False).values() if not p.failed)
    assert process.returncode == 130, output
    assert f"{saved} answers saved" in output and "same command" in output and "resume" in output, output


def test_a_hostile_model_name_in_run_json_reaches_the_leaderboard_without_control_codes(
    tmp_path: Path,
) -> None:
    run = tmp_path / "r"
    assert _eval("--model", "random", "--out", str(run))[0] == 0
    record = json.loads((run / RUN_JSON).read_text())
    record["identity"]["model"] = "evil\x1b]0;PWNED\x07\x1b[2J\u202emodel"
    (run / RUN_JSON).write_text(json.dumps(record))
    result = runner.invoke(app, ["leaderboard", str(run)])
    assert result.exit_code == 0, result.output
    assert "evil]0;PWNED[2Jmodel" in result.output
    assert "\x1b" not in result.output and "\x07" not in result.output and "\u202e" not in result.output


def test_a_constant_letter_beyond_the_questions_options_is_refused(tmp_path: Path) -> None:
    code, output = _eval("--model", "constant:F", "--out", str(tmp_path / "r"))
    assert code == 2 and "'F'" in output and "ABCDE" in output
    assert not (tmp_path / "r" / PREDICTIONS).exists()
    code, output = _eval("--model", "constant:e", "--out", str(tmp_path / "ok"))
    assert code == 0, output


def test_the_judge_is_asked_at_its_own_url_with_its_own_key_and_run_json_keeps_no_key(
    tmp_path: Path,
) -> None:
    hedging = StubReply.answer("It is hard to say; several findings could fit.")
    with (
        OpenAIStubServer(lambda body, index: hedging) as model_server,
        OpenAIStubServer(lambda body, index: StubReply.answer("My final option: [A]")) as judge_server,
    ):
        env = {"OPENAI_API_KEY": "model-key-0123456789", "SPINEBENCH_JUDGE_KEY": SECRET}
        code, output = _eval(
            "--model", "openai:stub-model", "--base-url", model_server.base_url, "--out", str(tmp_path / "r"),
            "--judge", "openai:judge-model", "--judge-base-url", judge_server.base_url,
            "--judge-api-key-env", "SPINEBENCH_JUDGE_KEY", env=env,
        )  # fmt: skip
        model_requests, judge_requests = model_server.requests, judge_server.requests
        model_url, judge_url = model_server.base_url, judge_server.base_url
    assert code == 0, output
    assert judge_requests and {r.body["model"] for r in judge_requests} == {"judge-model"}
    assert {r.headers["authorization"] for r in judge_requests} == {f"Bearer {SECRET}"}
    assert {r.body["model"] for r in model_requests} == {"stub-model"}
    run_json = json.loads((tmp_path / "r" / RUN_JSON).read_text())
    judge = run_json["judge_provider"]
    assert (judge["base_url"], judge["api_key_env"]) == (judge_url, "SPINEBENCH_JUDGE_KEY")
    assert run_json["provider"]["base_url"] == model_url
    assert _files_holding(tmp_path, SECRET) == [] and SECRET not in output


def test_judge_options_without_a_judge_are_refused(tmp_path: Path) -> None:
    code, output = _eval(
        "--model", "random", "--judge-base-url", "http://127.0.0.1:9/v1", "--out", str(tmp_path)
    )
    assert code == 2 and "need --judge MODEL" in output
