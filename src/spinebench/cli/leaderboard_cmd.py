"""`spinebench leaderboard`: runs -> a leaderboard table in Markdown, CSV or LaTeX."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from spinebench.cli._errors import reports_errors
from spinebench.display import terminal_safe
from spinebench.report import format_leaderboard, leaderboard_sections, load_runs, write_report_file
from spinebench.stats import BootstrapSettings


class FormatChoice(StrEnum):
    md = "md"
    csv = "csv"
    latex = "latex"


@reports_errors
def leaderboard_command(
    runs: list[Path] = typer.Argument(..., metavar="RUN...", help="Run directories (each holds run.json)."),
    fmt: FormatChoice = typer.Option(FormatChoice.md, "--format", "-f", help="Output format."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write to this file instead of stdout."),
    bench: Path | None = typer.Option(
        None, help="Benchmark directory of the runs, when the path recorded in run.json has moved."
    ),
    reference: bool = typer.Option(
        False,
        help="Append the SpineBench paper's published numbers (labelled 'not comparable' unless the runs are "
        "on the published release's SpineBench-Sub).",
    ),
    resamples: int = typer.Option(1000, min=1, help="Bootstrap resamples for the 95% intervals."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
) -> None:
    """Print a leaderboard of runs (rescored from their predictions, with 95% intervals, tie groups and
    the smallest difference each benchmark detects). Runs on different benchmarks get separate sections."""
    settings = BootstrapSettings(resamples=resamples, seed=seed)
    loaded = load_runs(runs, bench=bench, bootstrap=settings)
    sections = leaderboard_sections(loaded, settings)
    text = format_leaderboard([s.section for s in sections], fmt.value, reference=reference)
    if out is None:
        # Plain text: a model name is never read as console markup. It comes from run.json, someone else's
        # file perhaps: no control character of it reaches the terminal.
        sys.stdout.write(terminal_safe(text))
    else:
        write_report_file(out, text)
    if fmt is FormatChoice.csv:  # CSV cannot carry prose: the power lines go to the terminal
        for section in sections:
            for note in section.section.notes:
                sys.stderr.write(terminal_safe(note) + "\n")  # notes name models: no control characters
