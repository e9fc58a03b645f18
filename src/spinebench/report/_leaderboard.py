"""Leaderboard rows from scores.json records, written as Markdown, CSV or LaTeX for papers and READMEs.

Honest by construction:
- Intervals are written [low, high] (never "± h": a percentile or Wilson interval is not symmetric, and a
  "± h" around 4.55 reads as a negative lower bound where the interval is [0.00, 14.30]).
- Runs on different benchmarks (or subsets) are never ranked together: each benchmark gets its own section,
  named by its manifest hash, with its own tie groups and power line.
- A synthetic benchmark is said to be synthetic in the first line.
- The paper's published numbers appear only in a section of runs on the published release's SpineBench-Sub;
  elsewhere, when asked for, they are labelled "not comparable".
- Tie groups ("group") come from bootstrap rank intervals on shared patient resamples (see
  `spinebench.stats.rank_intervals`); CSV holds percentages with interval ends in their own columns.
- When a run graded severity (SSG), its accuracy, quadratic-weighted kappa (a coefficient, not a percentage)
  and severe-case sensitivity follow Overall in columns of their own: Overall stays the paper's mean of SDD
  and SLL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from spinebench.report._reference import PUBLISHED, REFERENCE_SOURCE

Format = Literal["md", "csv", "latex"]
FORMATS: tuple[Format, ...] = ("md", "csv", "latex")
NOT_COMPARABLE = "not comparable"


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

    def bracket(self) -> str:
        """The value with its interval as "v [lo, hi]" (percent)."""
        if self.ci is None:
            return self.percent()
        low, high = self.ends()
        return f"{self.percent()} [{low}, {high}]"

    def ends(self) -> tuple[str, str]:
        return ("", "") if self.ci is None else (f"{100 * self.ci[0]:.2f}", f"{100 * self.ci[1]:.2f}")

    def coefficient(self) -> str:
        """A coefficient such as kappa, not a percentage: "0.390 [0.300, 0.480]"."""
        if self.value is None:
            return "-"
        if self.ci is None:
            return f"{self.value:.3f}"
        return f"{self.value:.3f} [{self.ci[0]:.3f}, {self.ci[1]:.3f}]"


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
    # Rank interval (best, worst) and tie group from shared cluster resamples; None when not computed.
    rank: tuple[int, int] | None = None
    group: int | None = None
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


@dataclass(frozen=True, slots=True)
class BenchmarkInfo:
    """What a leaderboard section says about the benchmark its runs were made on."""

    name: str
    manifest_sha256: str
    subset: str | None = None
    synthetic: bool = False
    published_release: bool = False  # imported from the SpineBench paper's published release

    @property
    def comparable_to_published(self) -> bool:
        """The paper's numbers were measured on the published release's SpineBench-Sub."""
        return self.published_release and self.subset == "sub" and not self.synthetic

    def title(self) -> str:
        subset = f", subset {self.subset}" if self.subset else ""
        synthetic = "SYNTHETIC benchmark " if self.synthetic else "Benchmark "
        return f"{synthetic}{self.name} (manifest {self.manifest_sha256[:12]}){subset}"


SYNTHETIC_WARNING = (
    "SYNTHETIC benchmark: phantom images, not patient data; these scores say nothing about clinical ability."
)


@dataclass(frozen=True, slots=True)
class LeaderboardSection:
    """Runs on one benchmark (and subset), ranked together; `notes` are its power lines."""

    rows: Sequence[LeaderboardRow]
    benchmark: BenchmarkInfo | None = None
    notes: Sequence[str] = field(default_factory=tuple)
    cluster: str = "patient (image where unknown)"  # what the intervals were clustered on


def format_leaderboard(
    rows: Sequence[LeaderboardRow] | Sequence[LeaderboardSection], fmt: Format, *, reference: bool = False
) -> str:
    """The leaderboard as text, one section per benchmark.

    With `reference`, the paper's published numbers follow a section of runs on the published release's
    SpineBench-Sub as their own group, and are labelled "not comparable" beside any other section (or
    beside rows whose benchmark is not known).
    """
    sections = _sections(rows)
    if fmt == "md":
        return _markdown(sections, reference)
    if fmt == "csv":
        return _csv(sections, reference)
    if fmt == "latex":
        return _latex(sections, reference)
    raise ValueError(f"unknown leaderboard format {fmt!r} (expected one of {', '.join(FORMATS)})")


def _sections(rows: Sequence[LeaderboardRow] | Sequence[LeaderboardSection]) -> list[LeaderboardSection]:
    if all(isinstance(row, LeaderboardSection) for row in rows):
        return [row for row in rows if isinstance(row, LeaderboardSection)]
    return [LeaderboardSection([row for row in rows if isinstance(row, LeaderboardRow)])]


def _reference_label(section: LeaderboardSection) -> str:
    comparable = section.benchmark is not None and section.benchmark.comparable_to_published
    return "published" if comparable else f"published, {NOT_COMPARABLE}"


def _circular_shown(rows: Iterable[LeaderboardRow]) -> bool:
    return any(row.circular.value is not None for row in rows)


def _ranked(rows: Iterable[LeaderboardRow]) -> bool:
    return any(row.group is not None for row in rows)


def _grading_shown(rows: Iterable[LeaderboardRow]) -> bool:
    return any(row.ssg.value is not None or row.ssg_kappa.value is not None for row in rows)


_HEADER = ("model", "SDD acc", "SLL acc", "P", "R", "F1", "overall")
_GRADING_HEADER = ("SSG acc", "SSG kappa", "SSG severe sens")


def _rank_cells(row: LeaderboardRow) -> list[str]:
    rank = (
        ""
        if row.rank is None
        else (f"{row.rank[0]}" if row.rank[0] == row.rank[1] else f"{row.rank[0]}-{row.rank[1]}")
    )
    return ["" if row.group is None else str(row.group), rank]


def _cells(row: LeaderboardRow, circular: bool, grading: bool = False) -> list[str]:
    cells = [row.sdd.bracket(), row.sll.bracket()]
    cells += [row.precision.bracket(), row.recall.bracket(), row.f1.bracket(), row.overall.bracket()]
    if circular:
        cells.append(row.circular.bracket())
    if grading:
        cells += [row.ssg.bracket(), row.ssg_kappa.coefficient(), row.ssg_sensitivity.bracket()]
    return [*cells, f"{row.scored}/{row.questions}", row.status]


def _legend(section: LeaderboardSection, reference: bool) -> str:
    text = (
        f"Percent [95% interval], clustered on {section.cluster} (accuracies and rates: Wilson at the "
        "clustered effective size; overall: cluster bootstrap); n = scored/questions."
    )
    if _grading_shown(section.rows):
        text += (
            " SSG (severity grading) is reported beside overall, not in it; its kappa is quadratic-weighted"
            " (a coefficient, interval from the cluster bootstrap)."
        )
    if _ranked(section.rows):
        text += (
            " group: runs in one group are statistically tied (bootstrap rank intervals);"
            " rank: 95% rank interval."
        )
    if reference:
        text += f" Published rows: {REFERENCE_SOURCE}"
        text += (
            "."
            if _reference_label(section) == "published"
            else f"; {NOT_COMPARABLE} with runs on this benchmark."
        )
    return text


def _markdown(sections: Sequence[LeaderboardSection], reference: bool) -> str:
    lines: list[str] = []
    if any(s.benchmark is not None and s.benchmark.synthetic for s in sections):
        lines += [f"**{SYNTHETIC_WARNING}**", ""]
    for number, section in enumerate(sections):
        if number:
            lines.append("")
        if section.benchmark is not None and (len(sections) > 1 or section.benchmark.synthetic):
            lines += [f"### {_escape_md(section.benchmark.title())}", ""]
        rows = section.rows
        circular, ranked, grading, header, lead = _table_columns(rows, circular_label="SDD circular")
        lines += [
            "| " + " | ".join(header) + " |",
            "|" + "|".join(["---:"] * lead + ["---"] + ["---:"] * (len(header) - lead - 2) + ["---"]) + "|",
        ]
        for row in rows:
            ranks = _rank_cells(row) if ranked else []
            cells = _cells(row, circular, grading)
            lines.append("| " + " | ".join([*ranks, _escape_md(row.model), *cells]) + " |")
        if reference:
            label = _reference_label(section)
            blank = [""] * (len(header) - lead - 7)
            for ref in PUBLISHED:
                cells = [
                    f"{ref.model} ({label})",
                    _number(ref.sdd),
                    _number(ref.sll),
                    "",
                    "",
                    "",
                    _number(ref.overall),
                ]
                lines.append("| " + " | ".join([*([""] * lead), *cells, *blank]) + " |")
        lines += ["", _legend(section, reference)]
        for note in section.notes:
            lines.append(f"- {_escape_md(note)}")
    return "\n".join(lines) + "\n"


class _TableColumns(NamedTuple):
    """Which optional columns a section's md or LaTeX table shows, its header, and how many lead cells
    (group, rank) come before the model name."""

    circular: bool
    ranked: bool
    grading: bool
    header: list[str]
    lead: int


def _table_columns(rows: Sequence[LeaderboardRow], *, circular_label: str) -> _TableColumns:
    circular, ranked, grading = _circular_shown(rows), _ranked(rows), _grading_shown(rows)
    header = [
        *(["group", "rank"] if ranked else []),
        *_HEADER,
        *([circular_label] if circular else []),
        *(_GRADING_HEADER if grading else ()),
        "n",
        "status",
    ]
    return _TableColumns(circular, ranked, grading, header, 2 if ranked else 0)


def _csv(sections: Sequence[LeaderboardSection], reference: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    metrics = ["sdd_acc", "sll_acc", "sll_precision", "sll_recall", "sll_f1", "overall", "sdd_circular_acc"]
    grading = any(_grading_shown(section.rows) for section in sections)
    if grading:
        metrics += ["ssg_acc", "ssg_severe_sensitivity", "ssg_severe_specificity"]
    header = [
        "model",
        "source",
        "benchmark",
        "manifest_sha256",
        "subset",
        "synthetic",
        "group",
        "rank_best",
        "rank_worst",
    ]
    for metric in metrics:
        header += [f"{metric}_pct", f"{metric}_ci_low", f"{metric}_ci_high"]
    if grading:  # a coefficient in [-1, 1], not a percentage
        header += ["ssg_weighted_kappa", "ssg_weighted_kappa_ci_low", "ssg_weighted_kappa_ci_high"]
    writer.writerow([*header, "questions", "scored", "status"])
    for section in sections:
        info = section.benchmark
        where = (
            ["", "", "", ""]
            if info is None
            else [info.name, info.manifest_sha256, info.subset or "", "yes" if info.synthetic else "no"]
        )
        for row in section.rows:
            ranks = ["" if row.group is None else str(row.group)]
            ranks += ["", ""] if row.rank is None else [str(row.rank[0]), str(row.rank[1])]
            cells: list[str] = [row.model, "run", *where, *ranks]
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
            label = _reference_label(section)
            for ref in PUBLISHED:
                values = (ref.sdd, ref.sll, None, None, None, ref.overall, None)
                cells = [ref.model, label, *where, "", "", ""]
                for value in values:
                    cells += ["" if value is None else f"{value:.2f}", "", ""]
                cells += [""] * (3 * (len(metrics) - len(values)) + (3 if grading else 0))
                writer.writerow([*cells, "", "", ""])
    return buffer.getvalue()


def _latex(sections: Sequence[LeaderboardSection], reference: bool) -> str:
    lines: list[str] = []
    if any(s.benchmark is not None and s.benchmark.synthetic for s in sections):
        lines.append(f"% {SYNTHETIC_WARNING}")
    for section in sections:
        rows = section.rows
        circular, ranked, grading, header, lead = _table_columns(rows, circular_label="SDD circ.")
        columns = "r" * lead + "l" + "r" * (len(header) - lead - 2) + "l"
        if section.benchmark is not None:
            lines.append(f"% {section.benchmark.title()}")
        lines += [
            f"% {_legend(section, reference)}",
            *(f"% {note}" for note in section.notes),
            f"\\begin{{tabular}}{{{columns}}}",
            "\\toprule",
            " & ".join(_escape_latex(h) for h in header) + " \\\\",
            "\\midrule",
        ]
        for row in rows:
            cells = [_escape_latex(c) for c in _cells(row, circular, grading)]
            ranks = [_escape_latex(c) for c in _rank_cells(row)] if ranked else []
            lines.append(" & ".join([*ranks, _escape_latex(row.model), *cells]) + " \\\\")
        if reference:
            label = _reference_label(section)
            caption = _escape_latex(f"{REFERENCE_SOURCE} ({label})")
            lines += [
                "\\midrule",
                f"\\multicolumn{{{len(header)}}}{{l}}{{\\emph{{{caption}}}}} \\\\",
            ]
            blank = [""] * (len(header) - lead - 7)
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
                lines.append(" & ".join([*([""] * lead), *cells, *blank]) + " \\\\")
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
