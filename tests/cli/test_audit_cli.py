"""`spinebench audit` end to end: stubs on 127.0.0.1 that answer from the image, or from the text alone."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from spinebench.benchmark import Benchmark, BenchmarkWriter, Question
from spinebench.cli import app
from spinebench.cli.eval_cmd import default_run_dir
from spinebench.taxonomy import LETTERS
from spinebench.testing import OpenAIStubServer, StubReply, user_text

runner = CliRunner()
OPTIONS = ("Osteophytes", "Healthy", "Spondylolisthesis", "Vertebral collapse", "Disc space narrowing")
# The answer letter is written into the image as its brightness, coarse enough to survive JPEG re-encoding.
BRIGHTNESS = (30, 80, 130, 180, 230)


def _marker_image(letter_index: int, number: int) -> bytes:
    rng = np.random.default_rng(number)
    pixels = np.clip(BRIGHTNESS[letter_index] + rng.integers(-6, 7, size=(40, 48, 3)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def write_marker_bench(out: Path, *, name: str = "markers", questions: int = 60) -> Path:
    """SDD questions whose right letter (A..E, evenly) is the brightness of their image; three images a
    patient, so that the audit's intervals and tests cluster on 20 patients, not 60 images."""
    writer = BenchmarkWriter(out, name=name)
    for number in range(questions):
        index, disease = number % 5, OPTIONS[(number // 5) % 5]
        others = [option for option in OPTIONS if option != disease]
        options = (*others[:index], disease, *others[index:])
        image = writer.add_image(_marker_image(index, number))
        writer.add_question(
            Question(
                id=f"m{number:03d}",
                task="SDD",
                image=image,
                question=f"m{number:03d}: which diagnosis is most likely?",
                options=options,
                answer=(LETTERS[index],),
                disease=disease,
                source="synthetic",
                modality="xray",
                patient=f"p{number // 3:02d}",
            )
        )
    writer.close()
    return out


def _image_of(body: dict[str, Any]) -> np.ndarray | None:
    for message in body.get("messages") or ():
        for part in message.get("content") if isinstance(message.get("content"), list) else ():
            if part.get("type") == "image_url":
                data = base64.b64decode(part["image_url"]["url"].split(",", 1)[1])
                with Image.open(io.BytesIO(data)) as image:
                    return np.asarray(image.convert("L"), dtype=np.float64)
    return None


def looks_at_the_image(body: dict[str, Any], call_index: int) -> StubReply:
    pixels = _image_of(body)
    if pixels is None:
        return StubReply.answer("No image was attached.\nMy final option: [A]")
    index = int(np.argmin([abs(pixels.mean() - level) for level in BRIGHTNESS]))
    return StubReply.answer(f"The brightness says so.\nMy final option: [{LETTERS[index]}]")


def reads_the_text_only(body: dict[str, Any], call_index: int) -> StubReply:
    letter = LETTERS[hashlib.sha256(user_text(body).encode()).digest()[0] % 5]
    return StubReply.answer(f"My final option: [{letter}]")


def _eval(bench: Path, url: str, out: Path, *extra: str) -> None:
    result = runner.invoke(
        app, ["eval", str(bench), "--model", "openai:stub", "--base-url", url, "--out", str(out), *extra]
    )
    assert result.exit_code == 0, result.output


def _audit(*args: str) -> Any:
    return runner.invoke(app, ["audit", *args])


def test_a_model_that_reads_the_image_has_high_significant_reliance(tmp_path: Path) -> None:
    bench = write_marker_bench(tmp_path / "bench")
    runs = tmp_path / "runs"
    with OpenAIStubServer(looks_at_the_image) as server:
        _eval(bench, server.base_url, runs / "real")
        for control in ("text-only", "blank", "shuffled", "noise"):
            _eval(bench, server.base_url, runs / control, "--image-control", control)
        asked = server.request_count
        _eval(bench, server.base_url, runs / "blank", "--image-control", "blank")
        assert server.request_count == asked  # the control run resumed: nothing asked again
    baseline = runner.invoke(app, ["eval", str(bench), "--model", "random", "--out", str(runs / "random")])
    assert baseline.exit_code == 0, baseline.output

    controls = [str(runs / c) for c in ("text-only", "blank", "shuffled", "noise")]
    result = _audit(str(runs / "real"), *controls, str(runs / "random"), "--json", str(tmp_path / "a.json"))
    assert result.exit_code == 0, result.output
    assert "FLAG" not in result.output and "Image reliance" in result.output
    audit = json.loads((tmp_path / "a.json").read_text())
    for pairing in audit["controls"]:
        sdd = pairing["tasks"]["SDD"]
        assert sdd["real_accuracy"] == 1.0 and sdd["paired"] == 60
        assert sdd["reliance"] >= 0.6, pairing["control"]
        assert sdd["ci"][0] > 0.4 and not sdd["indistinguishable"]
        assert sdd["changed"] >= 0.6 and sdd["clusters"] == 20  # patients, not images
        assert sdd["test"]["p_clustered_mcnemar"] < 1e-4 and sdd["test"]["p_sign_flip"] < 1e-3
        assert "mcnemar" not in sdd  # plain McNemar ignores the clusters: not given
        assert set(sdd["by_disease"]) == set(OPTIONS)
    shuffled = next(p for p in audit["controls"] if p["control"] == "shuffled")
    assert shuffled["tasks"]["SDD"]["control_accuracy"] < 0.4  # another disease's image misleads it
    assert [r["reference"] for r in audit["references"]] == ["prior (computed)", "random"]
    assert audit["flags"] == []


def test_a_model_that_reads_the_text_alone_has_no_reliance_and_is_flagged(tmp_path: Path) -> None:
    bench = write_marker_bench(tmp_path / "bench")
    runs = tmp_path / "runs"
    with OpenAIStubServer(reads_the_text_only) as server:
        _eval(bench, server.base_url, runs / "real")
        _eval(bench, server.base_url, runs / "blind", "--image-control", "text-only")
        _eval(bench, server.base_url, runs / "noise", "--image-control", "noise")
    result = _audit(
        str(runs / "real"), str(runs / "blind"), str(runs / "noise"), "--json", str(tmp_path / "a.json")
    )
    assert result.exit_code == 0, result.output
    audit = json.loads((tmp_path / "a.json").read_text())
    for pairing in audit["controls"]:
        sdd = pairing["tasks"]["SDD"]
        assert abs(sdd["reliance"]) < 0.05 and sdd["ci"][0] <= 0 <= sdd["ci"][1]
        assert sdd["indistinguishable"] and sdd["changed"] == 0 and sdd["test"]["p_sign_flip"] == 1.0
    assert any("its own blind (text-only) run on SDD" in flag for flag in audit["flags"])
    assert "FLAG" in result.output and "cannot be told apart" in result.output


def test_the_audit_refuses_runs_on_another_benchmark(tmp_path: Path) -> None:
    bench = write_marker_bench(tmp_path / "bench")
    other = write_marker_bench(tmp_path / "other", name="other-markers", questions=20)
    with OpenAIStubServer(looks_at_the_image) as server:
        _eval(bench, server.base_url, tmp_path / "real")
        _eval(other, server.base_url, tmp_path / "blank", "--image-control", "blank")
    result = _audit(str(tmp_path / "real"), str(tmp_path / "blank"))
    assert result.exit_code == 2
    assert "one benchmark only" in result.output and "other-markers" in result.output


def test_the_audit_needs_a_real_run_first_and_a_control_run(tmp_path: Path) -> None:
    bench = write_marker_bench(tmp_path / "bench", questions=10)
    with OpenAIStubServer(looks_at_the_image) as server:
        _eval(bench, server.base_url, tmp_path / "real")
        _eval(bench, server.base_url, tmp_path / "real2")
        _eval(bench, server.base_url, tmp_path / "blank", "--image-control", "blank")
    swapped = _audit(str(tmp_path / "blank"), str(tmp_path / "real"))
    assert swapped.exit_code == 2 and "give the run with the real images first" in swapped.output
    no_control = _audit(str(tmp_path / "real"), str(tmp_path / "real2"))
    assert (
        no_control.exit_code == 2 and "neither an image-control run nor a baseline run" in no_control.output
    )


@pytest.mark.parametrize(
    ("control", "subset", "expected"),
    [
        (None, None, "openai_x"),
        ("blank", None, "openai_x-blank"),
        ("text-only", "sub", "openai_x-sub-text-only"),
    ],
)
def test_the_default_run_directory_names_the_control(
    control: str | None, subset: str | None, expected: str
) -> None:
    assert default_run_dir("openai:x", subset, control) == Path("runs") / expected


def test_eval_asks_paraphrases_and_refuses_more_than_the_pool_holds(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["eval", "--model", "prior", "--paraphrases", "3", "--out", str(tmp_path / "p")]
    )
    assert result.exit_code == 0, result.output
    assert "SDD consistency 100.00 (3 wordings)" in result.output.replace("\n", " ")
    scores = json.loads((tmp_path / "p" / "scores.json").read_text())
    assert len(scores["paraphrase"]["SLL"]["accuracy_by_wording"]) == 3
    too_many = runner.invoke(
        app, ["eval", "--model", "prior", "--paraphrases", "12", "--out", str(tmp_path / "q")]
    )
    assert too_many.exit_code == 2 and "more wordings than the question pool holds" in too_many.output
    assert default_run_dir("prior", None, None, 3) == Path("runs/prior-para3")


def test_marker_bench_is_valid(tmp_path: Path) -> None:
    bench = Benchmark.open(write_marker_bench(tmp_path / "bench", questions=10), verify="full")
    assert {q.answer for q in bench.iter_questions()} == {(letter,) for letter in "ABCDE"}
