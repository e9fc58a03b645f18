"""`spinebench report`: runs -> one self-contained HTML report with leaderboard, breakdowns and items."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from spinebench.cli._errors import reports_errors
from spinebench.report import ReportSettings, write_html_report
from spinebench.stats import BootstrapSettings


@reports_errors
def report_command(
    runs: list[Path] = typer.Argument(..., metavar="RUN...", help="Run directories (each holds run.json)."),
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="The HTML file to write."),
    bench: Path | None = typer.Option(
        None, help="Benchmark directory of the runs, when the path recorded in run.json has moved."
    ),
    max_items: int = typer.Option(
        3000, min=1, help="Most questions in the item viewer; beyond it, a seeded sample across diseases."
    ),
    thumb_size: int = typer.Option(256, min=32, max=1024, help="Longest side of the thumbnails, in pixels."),
    resamples: int = typer.Option(1000, min=1, help="Bootstrap resamples for the 95% intervals."),
    seed: int = typer.Option(0, help="Seed of the bootstrap and of the item sample."),
    title: str = typer.Option("SpineBench report", help="Title of the page."),
    ratings: list[Path] = typer.Option(
        [], "--ratings", help="Ratings CSV of traces (review export, spinebench rubric); repeatable."
    ),
) -> None:
    """Write one self-contained HTML report (works offline) comparing runs on one benchmark."""
    settings = ReportSettings(
        bench=bench,
        bootstrap=BootstrapSettings(resamples=resamples, seed=seed),
        max_items=max_items,
        thumb_size=thumb_size,
        title=title,
        ratings=tuple(ratings),
    )
    result = write_html_report(runs, out, settings)
    Console().print(
        f"Report written to {result.out} ({result.runs} run(s), {result.items_shown} of {result.items_total} "
        f"questions in the item viewer, {result.bytes / 1e6:.1f} MB)",
        markup=False,
        soft_wrap=True,
    )
