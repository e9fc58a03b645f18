"""Leaderboard rows from scores.json records, written as Markdown, CSV or LaTeX for papers and READMEs.

Markdown and LaTeX show percentages with "± h", h being half the width of the 95% bootstrap interval
(percentile intervals are slightly asymmetric; CSV gives both ends exactly). CSV holds percentages too,
with the interval ends in their own columns, so nothing needs parsing. When a run graded severity (SSG), its
accuracy, quadratic-weighted kappa (a coefficient, not a percentage) and severe-case sensitivity follow
Overall in columns of their own: Overall stays the paper's mean of SDD and SLL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from spinebench.report._reference import PUBLISHED, REFERENCE_SOURCE

Format = Literal["md", "csv", "latex"]
FORMATS: tuple[Format, ...] = ("md", "csv", "latex")


@dataclass(frozen=True, slots=True)
class Score:
    """A metric as a fraction with its interval (None where not measured)."""

    value: float | None
    ci: tuple[float, float] | None = None

    @classmethod
    def read(cls, summary: Mapping[str, Any] | None, metric: str) -> Score:
        if not summary:
            return cls(None)
        return cls(summary.get(metric), _pair((summary.get("ci") or {}).get(metric)))

    def percent(self) -> str:
        return "-" if self.value is None else f"{100 * self.value:.2f}"

    def half_width(self) -> str:
        return "" if self.ci is None else f"{100 * (self.ci[1] - self.ci[0]) / 2:.2f}"

    def ends(self) -> tuple[str, str]:
        return ("", "") if self.ci is None else (f"{100 * self.ci[0]:.2f}", f"{100 * self.ci[1]:.2f}")

    def coefficient(self, plus_minus: str) -> str:
        """A coefficient such as kappa: "0.39 ± 0.05", not a percentage."""
        if self.value is None:
            return "-"
        if self.ci is None:
            return f"{self.value:.3f}"
        return f"{self.value:.3f} {plus_minus} {(self.ci[1] - self.ci[0]) / 2:.3f}"


def _pair(ci: Sequence[float] | None) -> tuple[float, float] | None:
    return (float(ci[0]), float(ci[1])) if ci else None


@dataclass(frozen=True, slots=True)
class LeaderboardRow:
    model: str
    sdd: Score
    sll: Score
    precision: Score
    recall: Score
    f1: Score
    overall: Score
    circular: Score
    questions: int
    scored: int
    status: str
    ssg: Score = Score(None)
    ssg_kappa: Score = Score(None)
    ssg_sensitivity: Score = Score(None)
    ssg_specificity: Score = Score(None)

    @classmethod
    def from_scores(cls, model: str, scores: Mapping[str, Any]) -> LeaderboardRow:
        tasks = scores.get("tasks", {})
        sdd, sll, ssg = tasks.get("SDD"), tasks.get("SLL"), tasks.get("SSG")
        overall_ci = scores.get("overall_ci")
        return cls(
            model=model,
            sdd=Score.read(sdd, "accuracy"),
            sll=Score.read(sll, "accuracy"),
            precision=Score.read(sll, "precision"),
            recall=Score.read(sll, "recall"),
            f1=Score.read(sll, "f1"),
            overall=Score(scores.get("overall"), _pair(overall_ci)),
            circular=Score.read(sdd, "circular_accuracy"),
            questions=int(scores["counts"]["questions"]),
            scored=int(scores["counts"]["scored"]),
            status="complete" if scores.get("status") == "complete" else "INCOMPLETE",
            ssg=Score.read(ssg, "accuracy"),
            ssg_kappa=Score.read(ssg, "weighted_kappa"),
            ssg_sensitivity=Score.read(ssg, "severe_sensitivity"),
            ssg_specificity=Score.read(ssg, "severe_specificity"),
        )


def format_leaderboard(rows: Sequence[LeaderboardRow], fmt: Format, *, reference: bool = False) -> str:
    """The leaderboard as text; with `reference`, the paper's published numbers follow as their own group."""
    if fmt == "md":
        return _markdown(rows, reference)
    if fmt == "csv":
        return _csv(rows, reference)
    if fmt == "latex":
        return _latex(rows, reference)
    raise ValueError(f"unknown leaderboard format {fmt!r} (expected one of {', '.join(FORMATS)})")


def _with_ci(score: Score, plus_minus: str) -> str:
    half = score.half_width()
    return f"{score.percent()} {plus_minus} {half}" if half else score.percent()


def _circular_shown(rows: Iterable[LeaderboardRow]) -> bool:
    return any(row.circular.value is not None for row in rows)


def _grading_shown(rows: Iterable[LeaderboardRow]) -> bool:
    return any(row.ssg.value is not None or row.ssg_kappa.value is not None for row in rows)


_HEADER = ("model", "SDD acc", "SLL acc", "P", "R", "F1", "overall")
_GRADING_HEADER = ("SSG acc", "SSG kappa", "SSG severe sens")


def _cells(row: LeaderboardRow, plus_minus: str, circular: bool, grading: bool = False) -> list[str]:
    cells = [_with_ci(row.sdd, plus_minus), _with_ci(row.sll, plus_minus)]
    cells += [row.precision.percent(), row.recall.percent(), row.f1.percent(), row.overall.percent()]
    if circular:
        cells.append(_with_ci(row.circular, plus_minus))
    if grading:
        cells += [
            _with_ci(row.ssg, plus_minus),
            row.ssg_kappa.coefficient(plus_minus),
            _with_ci(row.ssg_sensitivity, plus_minus),
        ]
    return [*cells, f"{row.scored}/{row.questions}", row.status]


def _markdown(rows: Sequence[LeaderboardRow], reference: bool) -> str:
    circular = _circular_shown(rows)
    grading = _grading_shown(rows)
    header = [
        *_HEADER,
        *(["SDD circular"] if circular else []),
        *(_GRADING_HEADER if grading else ()),
        "n",
        "status",
    ]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 2) + ["---"]) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join([_escape_md(row.model), *_cells(row, "±", circular, grading)]) + " |")
    if reference:
        blank = [""] * (len(header) - 7)
        for ref in PUBLISHED:
            cells = [
                f"{ref.model} (published)",
                _number(ref.sdd),
                _number(ref.sll),
                "",
                "",
                "",
                _number(ref.overall),
            ]
            lines.append("| " + " | ".join([*cells, *blank]) + " |")
    lines.append("")
    lines.append(
        "Percent; ± is half the 95% bootstrap interval (images resampled); n = scored/questions."
        + (
            " SSG (severity grading) is reported beside overall, not in it; its kappa is quadratic-weighted."
            if grading
            else ""
        )
        + (f" Published rows: {REFERENCE_SOURCE}." if reference else "")
    )
    return "\n".join(lines) + "\n"


def _csv(rows: Sequence[LeaderboardRow], reference: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    metrics = ["sdd_acc", "sll_acc", "sll_precision", "sll_recall", "sll_f1", "overall", "sdd_circular_acc"]
    grading = _grading_shown(rows)
    if grading:
        metrics += ["ssg_acc", "ssg_severe_sensitivity", "ssg_severe_specificity"]
    header = ["model", "source"]
    for metric in metrics:
        header += [f"{metric}_pct", f"{metric}_ci_low", f"{metric}_ci_high"]
    if grading:  # a coefficient in [-1, 1], not a percentage
        header += ["ssg_weighted_kappa", "ssg_weighted_kappa_ci_low", "ssg_weighted_kappa_ci_high"]
    writer.writerow([*header, "questions", "scored", "status"])
    for row in rows:
        cells: list[str] = [row.model, "run"]
        scores = [row.sdd, row.sll, row.precision, row.recall, row.f1, row.overall, row.circular]
        if grading:
            scores += [row.ssg, row.ssg_sensitivity, row.ssg_specificity]
        for score in scores:
            cells += [score.percent() if score.value is not None else "", *score.ends()]
        if grading:
            kappa = row.ssg_kappa
            cells += ["" if kappa.value is None else f"{kappa.value:.4f}"]
            cells += ["", ""] if kappa.ci is None else [f"{kappa.ci[0]:.4f}", f"{kappa.ci[1]:.4f}"]
        writer.writerow([*cells, row.questions, row.scored, row.status])
    if reference:
        for ref in PUBLISHED:
            values = (ref.sdd, ref.sll, None, None, None, ref.overall, None)
            cells = [ref.model, "published"]
            for value in values:
                cells += ["" if value is None else f"{value:.2f}", "", ""]
            cells += [""] * (3 * (len(metrics) - len(values)) + (3 if grading else 0))
            writer.writerow([*cells, "", "", ""])
    return buffer.getvalue()


def _latex(rows: Sequence[LeaderboardRow], reference: bool) -> str:
    circular = _circular_shown(rows)
    grading = _grading_shown(rows)
    header = [
        *_HEADER,
        *(["SDD circ."] if circular else []),
        *(_GRADING_HEADER if grading else ()),
        "n",
        "status",
    ]
    columns = "l" + "r" * (len(header) - 2) + "l"
    lines = [
        "% Percent; $\\pm$ is half the 95% bootstrap interval (images resampled).",
        f"\\begin{{tabular}}{{{columns}}}",
        "\\toprule",
        " & ".join(_escape_latex(h) for h in header) + " \\\\",
        "\\midrule",
    ]
    for row in rows:
        cells = [_escape_latex(c) for c in _cells(row, "PLUSMINUS", circular, grading)]
        cells = [c.replace("PLUSMINUS", "$\\pm$") for c in cells]
        lines.append(" & ".join([_escape_latex(row.model), *cells]) + " \\\\")
    if reference:
        lines += [
            "\\midrule",
            f"\\multicolumn{{{len(header)}}}{{l}}{{\\emph{{{_escape_latex(REFERENCE_SOURCE)}}}}} \\\\",
        ]
        blank = [""] * (len(header) - 7)
        for ref in PUBLISHED:
            cells = [
                _escape_latex(ref.model),
                _number(ref.sdd),
                _number(ref.sll),
                "",
                "",
                "",
                _number(ref.overall),
            ]
            lines.append(" & ".join([*cells, *blank]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _escape_md(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


_LATEX_SPECIAL = {
    "\\": "\\textbackslash{}",
    "&": "\\&",
    "%": "\\%",
    "$": "\\$",
    "#": "\\#",
    "_": "\\_",
    "{": "\\{",
    "}": "\\}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
}


def _escape_latex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)
