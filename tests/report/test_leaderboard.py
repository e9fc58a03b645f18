from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from spinebench.benchmark import open_sample
from spinebench.cli.leaderboard_cmd import leaderboard_command
from spinebench.cli.report_cmd import report_command
from spinebench.report import BenchmarkInfo, LeaderboardRow, LeaderboardSection, format_leaderboard
from spinebench.run import EvalSettings, evaluate

SCORES = {
    "status": "incomplete",
    "overall": 0.25,
    "overall_ci": [0.2, 0.3],
    "counts": {"questions": 100, "scored": 98},
    "tasks": {
        "SDD": {"accuracy": 0.3, "ci": {"accuracy": [0.25, 0.36]}},
        "SLL": {
            "accuracy": 0.2,
            "precision": 0.5,
            "recall": 0.6,
            "f1": 0.55,
            "ci": {"accuracy": [0.1, 0.3], "precision": [0.4, 0.6], "recall": [0.5, 0.7], "f1": [0.5, 0.6]},
        },
    },
}


def _cli() -> typer.Typer:
    cli = typer.Typer()
    cli.command("leaderboard")(leaderboard_command)
    cli.command("report")(report_command)
    return cli


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    base = tmp_path_factory.mktemp("lb")
    return [evaluate(open_sample(), base / m, EvalSettings(model=m)).run_dir for m in ("random", "prior")]


def test_markdown_rows_show_intervals_as_brackets_never_plus_minus_and_status() -> None:
    row = LeaderboardRow.from_scores("my|model", SCORES)
    text = format_leaderboard([row], "md")
    lines = text.splitlines()
    assert lines[0] == "| model | SDD acc | SLL acc | P | R | F1 | overall | n | status |"
    assert lines[2] == (
        "| my\\|model | 30.00 [25.00, 36.00] | 20.00 [10.00, 30.00] | 50.00 [40.00, 60.00] "
        "| 60.00 [50.00, 70.00] | 55.00 [50.00, 60.00] | 25.00 [20.00, 30.00] | 98/100 | INCOMPLETE |"
    )
    assert "±" not in text
    # A row whose benchmark is not known: the published numbers are labelled as not comparable.
    with_reference = format_leaderboard([row], "md", reference=True)
    assert "| GPT-4o (published, not comparable) | 23.64 | 9.69 |" in with_reference


def test_an_interval_reaching_zero_is_written_with_its_ends() -> None:
    scores = {**SCORES, "tasks": {"SDD": {"accuracy": 0.0455, "ci": {"accuracy": [0.0, 0.143]}}}}
    text = format_leaderboard([LeaderboardRow.from_scores("m", scores)], "md")
    assert "4.55 [0.00, 14.30]" in text and "±" not in text


def test_published_rows_are_comparable_only_beside_the_published_release_sub() -> None:
    row = LeaderboardRow.from_scores("m", SCORES)
    release = BenchmarkInfo("spinebench-release", "ab" * 32, subset="sub", published_release=True)
    full_release = BenchmarkInfo("spinebench-release", "ab" * 32, subset=None, published_release=True)
    built = BenchmarkInfo("my-build", "cd" * 32, subset="sub")
    for info, label in ((release, "(published)"), (full_release, "(published, not comparable)")):
        text = format_leaderboard([LeaderboardSection([row], info)], "md", reference=True)
        assert f"| GPT-4o {label} | 23.64 |" in text
    text = format_leaderboard([LeaderboardSection([row], built)], "csv", reference=True)
    sources = {r["source"] for r in csv.DictReader(io.StringIO(text))}
    assert sources == {"run", "published, not comparable"}


def test_csv_has_both_interval_ends_and_parses() -> None:
    text = format_leaderboard([LeaderboardRow.from_scores("m", SCORES)], "csv", reference=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["sdd_acc_pct"] == "30.00" and rows[0]["sdd_acc_ci_low"] == "25.00"
    assert rows[0]["sdd_acc_ci_high"] == "36.00" and rows[0]["status"] == "INCOMPLETE"
    assert rows[0]["sdd_circular_acc_pct"] == ""
    published = [r for r in rows if r["source"].startswith("published")]
    assert [r["model"] for r in published][:2] == ["Gemini-2.5-pro", "GPT-4o"]
    assert published[0]["overall_pct"] == "20.86"


def test_latex_escapes_names_and_uses_brackets() -> None:
    text = format_leaderboard([LeaderboardRow.from_scores("qwen_2.5 & co 100%", SCORES)], "latex")
    assert "qwen\\_2.5 \\& co 100\\%" in text
    assert "30.00 [25.00, 36.00]" in text and "pm" not in text
    assert text.count("\\\\") == 2 and "\\begin{tabular}{lrrrrrrrl}" in text


def test_circular_column_appears_when_a_run_has_it() -> None:
    circular = {
        **SCORES,
        "tasks": {
            **SCORES["tasks"],
            "SDD": {
                "accuracy": 0.3,
                "circular_accuracy": 0.1,
                "ci": {"accuracy": [0.25, 0.36], "circular_accuracy": [0.05, 0.15]},
            },
        },
    }
    text = format_leaderboard([LeaderboardRow.from_scores("m", circular)], "md")
    assert "SDD circular" in text.splitlines()[0] and "10.00 [5.00, 15.00]" in text


@pytest.mark.parametrize("fmt", ["md", "csv", "latex"])
def test_leaderboard_command_prints_each_format(two_runs: list[Path], fmt: str) -> None:
    result = CliRunner().invoke(_cli(), ["leaderboard", *map(str, two_runs), "--format", fmt])
    assert result.exit_code == 0, result.output
    assert "random" in result.output and "prior" in result.output
    assert {"md": "| prior |", "csv": "prior,run,", "latex": "prior & "}[fmt] in result.output


def test_leaderboard_command_writes_a_file(two_runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "board.md"
    result = CliRunner().invoke(
        _cli(), ["leaderboard", *map(str, two_runs), "--out", str(out), "--reference"]
    )
    assert result.exit_code == 0 and result.output == ""
    written = out.read_text()
    # The bundled sample is synthetic: said first, and the published numbers are not comparable with it.
    assert written.startswith("**SYNTHETIC benchmark")
    assert "MedGemma-4B (published, not comparable)" in written
    assert "MedGemma-4B (published)" not in written


def test_a_folder_without_run_json_is_named(tmp_path: Path) -> None:
    result = CliRunner().invoke(_cli(), ["leaderboard", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'run.json'}: missing" in result.output


@pytest.mark.parametrize("command", ["leaderboard", "report"])
def test_an_unusable_out_is_one_line_and_leaves_no_partial_file(
    two_runs: list[Path], tmp_path: Path, command: str
) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    result = CliRunner().invoke(_cli(), [command, *map(str, two_runs), "--out", str(folder)])
    assert result.exit_code == 2, result.output
    assert f"{folder}: is a folder" in result.output
    (tmp_path / "a-file").write_text("")
    blocked = tmp_path / "a-file" / "board.txt"
    result = CliRunner().invoke(_cli(), [command, *map(str, two_runs), "--out", str(blocked)])
    assert result.exit_code == 2, result.output
    assert f"{blocked}: cannot write" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "reports"]  # no "reports.partial"
