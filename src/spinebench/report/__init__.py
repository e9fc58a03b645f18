"""Presenting scores: terminal tables now; HTML report and leaderboards build on the same scores."""

from spinebench.report._terminal import breakdown_table, scores_table

__all__ = ["breakdown_table", "scores_table"]
