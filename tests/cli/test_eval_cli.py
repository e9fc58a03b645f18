from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from spinebench.cli import app
from spinebench.hashing import sha256_file
from spinebench.run import PREDICTIONS
from spinebench.testing import OpenAIStubServer, StubReply

runner = CliRunner()


def _eval(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["eval", *args])
    return result.exit_code, result.output


def test_eval_on_the_bundled_sample_then_resume(tmp_path: Path) -> None:
    code, output = _eval("--model", "random", "--out", str(tmp_path / "run"))
    assert code == 0, output
    assert "SDD" in output and "SLL" in output and "overall" in output
    scores = json.loads((tmp_path / "run/scores.json").read_text())
    assert scores["status"] == "complete" and scores["counts"]["questions"] == 38
    code, _ = _eval("--model", "random", "--out", str(tmp_path / "run"))
    assert code == 0
    assert len((tmp_path / "run" / PREDICTIONS).read_text().splitlines()) == 38


def test_subset_and_constant_baseline(tmp_path: Path) -> None:
    code, output = _eval("--model", "constant:Healthy", "--subset", "sub", "--out", str(tmp_path / "r"))
    assert code == 0, output
    scores = json.loads((tmp_path / "r/scores.json").read_text())
    assert scores["tasks"]["SDD"]["questions"] == 12
    assert scores["tasks"]["SDD"]["accuracy"] == round(1 / 12, 6)  # one Healthy image in the subset
    assert scores["tasks"]["SLL"]["unparsed"] == 7  # no level is called Healthy


def test_missing_image_is_named_and_nothing_is_written(sample_copy: Path, tmp_path: Path) -> None:
    image = next(sample_copy.glob("images/*/*.jpg"))
    image.unlink()
    code, output = _eval(str(sample_copy), "--model", "random", "--out", str(tmp_path / "run"))
    assert code == 2
    assert f"{image.name}: missing" in output
    assert not (tmp_path / "run").exists()


def test_altered_image_stops_the_run_cleanly_and_resume_finishes(sample_copy: Path, tmp_path: Path) -> None:
    images = sorted(sample_copy.glob("images/*/*.jpg"))
    victim = images[-1]
    original = victim.read_bytes()
    victim.write_bytes(original[:-4] + b"\x00\x00\x00\x00")
    run = tmp_path / "run"
    # --verify quick: images are checked as they are read (as for a benchmark of 5,000 images or more).
    code, output = _eval(
        str(sample_copy), "--model", "random", "--out", str(run), "--concurrency", "1", "--verify", "quick"
    )
    assert code == 2
    assert f"{victim.name}: altered" in output
    scores = json.loads((run / "scores.json").read_text())
    assert scores["status"] == "incomplete"
    lines = (run / PREDICTIONS).read_text().splitlines()
    assert all(json.loads(line)["stage"] == "strict" for line in lines)
    victim.write_bytes(original)
    code, output = _eval(str(sample_copy), "--model", "random", "--out", str(run))
    assert code == 0, output
    assert len((run / PREDICTIONS).read_text().splitlines()) == 38


def test_corrupt_or_altered_question_table_is_named(sample_copy: Path, tmp_path: Path) -> None:
    parquet = sample_copy / "benchmark.parquet"
    parquet.write_bytes(parquet.read_bytes()[:-20])
    code, output = _eval(str(sample_copy), "--model", "random", "--out", str(tmp_path / "run"))
    assert code == 2 and "benchmark.parquet: altered" in output


def test_unknown_task_in_the_table_is_named(sample_copy: Path, tmp_path: Path) -> None:
    parquet = sample_copy / "benchmark.parquet"
    table = pq.read_table(parquet)
    tasks = table.column("task").to_pylist()
    tasks[3] = "VQA"
    table = table.set_column(
        table.schema.get_field_index("task"), table.schema.field("task"), pa.array(tasks)
    )
    pq.write_table(table, parquet)
    manifest = json.loads((sample_copy / "manifest.json").read_text())
    manifest["files"]["benchmark.parquet"] = {"sha256": sha256_file(parquet), "bytes": parquet.stat().st_size}
    (sample_copy / "manifest.json").write_text(json.dumps(manifest))
    code, output = _eval(str(sample_copy), "--model", "random", "--out", str(tmp_path / "run"))
    assert code == 2
    assert "benchmark.parquet" in output and "unknown task 'VQA'" in output


def test_unwritable_run_dir_and_bad_spec_are_named(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, output = _eval("--model", "random", "--out", str(blocker / "run"))
    assert code == 2 and "cannot write the run directory" in output
    code, output = _eval("--model", "gpt4", "--out", str(tmp_path / "r"))
    assert code == 2 and "model spec 'gpt4' is not understood" in output
    assert not (tmp_path / "r").exists()


def test_other_configuration_in_the_same_dir_is_refused(tmp_path: Path) -> None:
    assert _eval("--model", "random", "--out", str(tmp_path / "run"))[0] == 0
    code, output = _eval("--model", "prior", "--out", str(tmp_path / "run"))
    assert code == 2 and "model was 'random', now 'prior'" in output


def test_circular_asks_every_rotation_and_always_a_scores_zero(tmp_path: Path) -> None:
    code, output = _eval("--model", "constant:A", "--circular", "--out", str(tmp_path / "run"))
    assert code == 0, output
    assert "circular" in output
    lines = [json.loads(line) for line in (tmp_path / "run" / PREDICTIONS).read_text().splitlines()]
    assert len(lines) == 24 * 5 + 14
    assert sum("@r" in line["question_id"] for line in lines) == 24 * 4
    scores = json.loads((tmp_path / "run/scores.json").read_text())
    sdd = scores["tasks"]["SDD"]
    assert sdd["circular_accuracy"] == 0.0 and sdd["accuracy"] > 0
    assert sdd["position_bias"]["A"]["chosen"] == 1.0
    run_json = json.loads((tmp_path / "run/run.json").read_text())
    assert run_json["identity"]["circular"] is True
    code, _ = _eval("--model", "constant:A", "--circular", "--out", str(tmp_path / "run"))
    assert code == 0
    assert len((tmp_path / "run" / PREDICTIONS).read_text().splitlines()) == 24 * 5 + 14


def test_infinite_temperature_is_a_usage_error_not_a_traceback(tmp_path: Path) -> None:
    code, output = _eval("--model", "random", "--temperature", "inf", "--out", str(tmp_path / "run"))
    assert code == 2 and "--temperature" in output and "finite" in output
    assert not (tmp_path / "run").exists()


def test_base_url_without_a_scheme_is_named_before_anything_is_asked(tmp_path: Path) -> None:
    args = ["--model", "openai:m", "--base-url", "localhost:8000/v1", "--out", str(tmp_path / "run")]
    code, output = _eval(*args)
    assert code == 2 and "'localhost:8000/v1' is not a valid http:// or https:// URL" in output
    assert not (tmp_path / "run").exists()


def test_a_key_given_as_api_key_env_is_refused_and_not_written(tmp_path: Path) -> None:
    secret = "sk-proj-0123456789abcdef"
    args = ["--model", "openai:m", "--api-key-env", secret, "--base-url", "http://127.0.0.1:9/v1"]
    args += ["--max-attempts", "1", "--out", str(tmp_path / "run")]
    code, output = _eval(*args)
    assert code == 2 and "not the key" in output and secret not in output
    assert not (tmp_path / "run").exists()


def test_failures_are_summarised_by_their_message(tmp_path: Path) -> None:
    with OpenAIStubServer(lambda body, n: StubReply.error(500, "model crashed")) as stub:
        code, output = _eval(
            "--model", "openai:m", "--base-url", stub.base_url, "--max-attempts", "1",
            "--timeout", "2", "--out", str(tmp_path / "run"),
        )  # fmt: skip
        url = stub.base_url
    assert code == 3
    assert f"38 x server: HTTP 500 from {url}/chat/completions" in output
    assert "INCOMPLETE" in output
