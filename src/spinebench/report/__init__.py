"""Presenting scores: terminal tables, leaderboards (Markdown, CSV, LaTeX) and the HTML report."""

from spinebench.report._html import (
    RenderedReport,
    ReportResult,
    ReportSettings,
    render_html_report,
    write_html_report,
)
from spinebench.report._leaderboard import FORMATS, LeaderboardRow, Score, format_leaderboard
from spinebench.report._output import ReportError, write_report_file
from spinebench.report._reference import PUBLISHED, REFERENCE_SOURCE, ReferenceScore
from spinebench.report._runs import LoadedRun, load_runs, read_predictions
from spinebench.report._terminal import breakdown_table, scores_table

__all__ = [
    "FORMATS",
    "PUBLISHED",
    "REFERENCE_SOURCE",
    "LeaderboardRow",
    "LoadedRun",
    "ReferenceScore",
    "RenderedReport",
    "ReportError",
    "ReportResult",
    "ReportSettings",
    "Score",
    "breakdown_table",
    "format_leaderboard",
    "load_runs",
    "read_predictions",
    "render_html_report",
    "scores_table",
    "write_html_report",
    "write_report_file",
]
