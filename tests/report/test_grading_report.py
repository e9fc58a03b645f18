"""Severity grading (SSG) in what a researcher reads: leaderboard columns beside Overall, the HTML report's
section with chance lines and the confusion matrix, the terminal caption; circular runs rotate SSG too."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from pathlib import Path

import pytest

from spinebench.benchmark import Benchmark
from spinebench.catalog import SourceFolders, build_catalog
from spinebench.questions import BuildSettings, build_benchmark
from spinebench.report import LeaderboardRow, format_leaderboard, render_html_report, scores_table
from spinebench.run import EvalSettings, evaluate


@pytest.fixture(scope="module")
def runs(synthetic_sources: SourceFolders, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("graded-runs")
    build_catalog(synthetic_sources.readers(), root / "catalog", key=b"report-grading-key-0123", workers=1)
    settings = BuildSettings(encoder="pixels", tasks=("SDD", "SLL", "SSG"), synthetic=True)
    build_benchmark(root / "catalog", root / "bench", settings)
    bench = Benchmark.open(root / "bench")
    return [
        evaluate(bench, root / "random", EvalSettings(model="random", circular=True)).run_dir,
        evaluate(bench, root / "prior", EvalSettings(model="prior")).run_dir,
    ]


def _scores(run: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((run / "scores.json").read_text())
    return loaded


def test_scores_hold_grading_beside_overall_and_circular_rotates_it(runs: list[Path]) -> None:
    scores = _scores(runs[0])
    tasks = scores["tasks"]
    assert isinstance(tasks, dict)
    ssg = tasks["SSG"]
    assert {"weighted_kappa", "severe_sensitivity", "severe_specificity", "by_condition", "by_level"} <= set(
        ssg
    )
    assert ssg["circular"]["rotations"] == 3 and ssg["circular_accuracy"] is not None
    sdd, sll = tasks["SDD"]["accuracy"], tasks["SLL"]["accuracy"]
    assert scores["overall"] == pytest.approx((sdd + sll) / 2, abs=1e-6)
    # The prior baseline grades every question with the most common grade: kappa 0 exactly.
    assert _scores(runs[1])["tasks"]["SSG"]["weighted_kappa"] == 0.0  # type: ignore[index]


def test_leaderboard_shows_grading_columns_only_when_graded(runs: list[Path]) -> None:
    rows = [LeaderboardRow.from_scores(run.name, _scores(run)) for run in runs]
    markdown = format_leaderboard(rows, "md")
    header = markdown.splitlines()[0]
    assert header.index("overall") < header.index("SSG acc") < header.index("SSG kappa")
    assert "SSG (severity grading) is reported beside overall" in markdown
    parsed = list(csv.DictReader(io.StringIO(format_leaderboard(rows, "csv", reference=True))))
    assert parsed[1]["ssg_weighted_kappa"] == "0.0000" and parsed[0]["ssg_acc_pct"]
    assert {len(row) for row in parsed} == {len(parsed[0])}  # published rows fill every column
    assert "SSG kappa" in format_leaderboard(rows, "latex")
    paper_only = LeaderboardRow.from_scores("x", {**_scores(runs[1]), "tasks": {}})
    assert "SSG" not in format_leaderboard([paper_only], "md")


def test_html_report_has_the_grading_section_and_confusion_matrix(runs: list[Path]) -> None:
    page = render_html_report(runs).html
    section = page[page.index('<section id="grading">') : page.index('<section id="confusion">')]
    text = html.unescape(re.sub(r"<[^>]+>", " ", section))
    assert "Severity grading (SSG), reported beside Overall" in text
    for label in ("weighted kappa", "severe sensitivity %", "severe specificity %", "Left Neural Foraminal"):
        assert label in text
    assert "level L4/L5" in text and "no answer" in text
    assert section.count('<table class="confusion">') == 2  # one matrix per run
    prior = _scores(runs[1])["tasks"]["SSG"]  # type: ignore[index]
    assert f"{100 * prior['chance']['accuracy']:.2f}" in text  # the chance line from the grades


def test_terminal_caption_reports_kappa_beside_overall(runs: list[Path]) -> None:
    table = scores_table(_scores(runs[1]), title="prior")  # type: ignore[arg-type]
    assert "SSG (beside overall, not in it): weighted kappa 0.000" in str(table.caption)
