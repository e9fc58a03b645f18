"""Presenting scores: terminal tables, leaderboards (Markdown, CSV, LaTeX) and the HTML report."""

from spinebench.report._agreement import alpha_interval, krippendorff_alpha
from spinebench.report._audit import Audit, ControlPairing, Reference, audit_runs, control_of
from spinebench.report._axes import AXES, AXIS_KEYS, SCALE, Axis
from spinebench.report._board import BoardSection, PowerLine, benchmark_info, leaderboard_sections
from spinebench.report._html import (
    RenderedReport,
    ReportResult,
    ReportSettings,
    render_html_report,
    write_html_report,
)
from spinebench.report._human import HUMAN_PREFIX, HumanComparison, human_comparisons
from spinebench.report._leaderboard import (
    FORMATS,
    NOT_COMPARABLE,
    SYNTHETIC_WARNING,
    BenchmarkInfo,
    LeaderboardRow,
    LeaderboardSection,
    Score,
    format_leaderboard,
)
from spinebench.report._output import ReportError, write_report_file
from spinebench.report._ratings import (
    JUDGE_PREFIX,
    Agreement,
    ModelRatings,
    RatingRow,
    RatingsError,
    RatingsSummary,
    read_ratings,
    summarise_ratings,
)
from spinebench.report._reference import PUBLISHED, REFERENCE_SOURCE, ReferenceScore
from spinebench.report._runs import LoadedRun, load_runs, read_predictions
from spinebench.report._terminal import breakdown_table, reliance_tables, scores_table

__all__ = [
    "AXES",
    "AXIS_KEYS",
    "FORMATS",
    "HUMAN_PREFIX",
    "JUDGE_PREFIX",
    "NOT_COMPARABLE",
    "PUBLISHED",
    "REFERENCE_SOURCE",
    "SCALE",
    "SYNTHETIC_WARNING",
    "Agreement",
    "Audit",
    "Axis",
    "BenchmarkInfo",
    "BoardSection",
    "ControlPairing",
    "HumanComparison",
    "LeaderboardRow",
    "LeaderboardSection",
    "LoadedRun",
    "ModelRatings",
    "PowerLine",
    "RatingRow",
    "RatingsError",
    "RatingsSummary",
    "Reference",
    "ReferenceScore",
    "RenderedReport",
    "ReportError",
    "ReportResult",
    "ReportSettings",
    "Score",
    "alpha_interval",
    "audit_runs",
    "benchmark_info",
    "breakdown_table",
    "control_of",
    "format_leaderboard",
    "human_comparisons",
    "krippendorff_alpha",
    "leaderboard_sections",
    "load_runs",
    "read_predictions",
    "read_ratings",
    "reliance_tables",
    "render_html_report",
    "scores_table",
    "summarise_ratings",
    "write_html_report",
    "write_report_file",
]
