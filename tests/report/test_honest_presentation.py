"""What a report and a leaderboard say about their benchmark: synthetic, published-release comparability,
runs on different benchmarks kept apart, power lines."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from spinebench.benchmark import Benchmark, open_sample
from spinebench.cli import app
from spinebench.report import PUBLISHED, render_html_report
from spinebench.run import EvalSettings, evaluate
from spinebench.sources import import_release

DISEASES = ["Healthy", "Osteophytes", "Cervical kyphosis", "Foraminal stenosis", "Spondylolisthesis"]


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("honest")
    return [evaluate(open_sample(), base / m, EvalSettings(model=m)).run_dir for m in ("random", "prior")]


@pytest.fixture(scope="module")
def release_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Runs on SpineBench-Sub of a (tiny, generated) published-release import."""
    base = tmp_path_factory.mktemp("release")
    root = base / "release"
    root.mkdir()
    records = []
    for k in range(12):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8), (20 * k, 255 - 20 * k, 40)).save(buffer, format="PNG")
        (root / "images").mkdir(exist_ok=True)
        (root / "images" / f"{k}.png").write_bytes(buffer.getvalue())
        options = DISEASES[k % 5 :] + DISEASES[: k % 5]
        records.append(
            {
                "image": f"images/{k}.png",
                "question": "Which diagnosis fits this image?",
                "task": "spine_disease_classification",
                "options": options,
                "answers": "A",
            }
        )
    (root / "evaluation").mkdir()
    (root / "evaluation" / "test.json").write_text(json.dumps(records))
    bench = base / "bench"
    import_release(root, bench)
    opened = Benchmark.open(bench)
    return [
        evaluate(opened, base / m, EvalSettings(model=m, subset="sub")).run_dir for m in ("random", "prior")
    ]


def test_a_report_on_a_synthetic_benchmark_says_synthetic_and_shows_no_published_number(
    sample_runs: list[Path],
) -> None:
    html = render_html_report(sample_runs).html
    top = html[: html.index("<h2>Leaderboard</h2>")]
    assert "SYNTHETIC benchmark" in top and 'id="synthetic"' in top
    for reference in PUBLISHED:
        assert f"<td>{reference.model}</td>" not in html
    assert "32.37" not in html and "Published reference" not in html
    assert "not comparable" in html
    assert "<li>Power (80%, α 0.05): spinebench-sample SDD (24 questions" in html


def test_a_report_on_the_published_release_sub_shows_the_reference(release_runs: list[Path]) -> None:
    html = render_html_report(release_runs).html
    assert "SYNTHETIC" not in html
    assert "Published reference" in html and "<td>Gemini-2.5-pro</td>" in html and "32.37" in html


def test_imported_release_questions_have_no_patient_and_intervals_cluster_on_images(
    release_runs: list[Path],
) -> None:
    scores = json.loads((release_runs[0] / "scores.json").read_text())
    assert scores["intervals"]["cluster"] == "image" and scores["bootstrap"]["cluster"] == "image"
    assert scores["tasks"]["SDD"]["clusters"] == 12 and scores["tasks"]["SDD"]["few_clusters"] is True


def test_leaderboard_separates_runs_on_different_benchmarks(
    sample_runs: list[Path], release_runs: list[Path]
) -> None:
    result = CliRunner().invoke(
        app, ["leaderboard", str(sample_runs[0]), str(release_runs[0]), "--reference"]
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("**SYNTHETIC benchmark")
    sections = text.split("### ")[1:]
    assert len(sections) == 2
    assert sections[0].startswith("SYNTHETIC benchmark spinebench-sample")
    assert sections[1].startswith("Benchmark spinebench-release") and "subset sub" in sections[1]
    # Each section ranks its own run alone; published rows are comparable only beside the release's Sub.
    assert "| 1 | 1 | random |" in sections[0] and "| 1 | 1 | random [sub] |" in sections[1]
    assert "(published, not comparable)" in sections[0] and "Gemini-2.5-pro (published) |" in sections[1]


def test_leaderboard_prints_the_detectable_difference(sample_runs: list[Path]) -> None:
    result = CliRunner().invoke(app, ["leaderboard", *map(str, sample_runs)])
    assert result.exit_code == 0, result.output
    power = [line for line in result.output.splitlines() if line.startswith("- Power (80%, α 0.05)")]
    assert len(power) == 2 and "SDD (24 questions" in power[0] and "at 40% discordance" in power[0]
    assert "vs" in power[0] and "(observed)" in power[0]
    csv_run = CliRunner().invoke(app, ["leaderboard", *map(str, sample_runs), "--format", "csv"])
    assert "Power (80%" in csv_run.output  # on the terminal (stderr): CSV rows stay parseable
