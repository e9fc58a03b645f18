"""`spinebench report`: one self-contained HTML file comparing runs, with an item viewer.

Everything is inline (CSS, script, thumbnails as base64 JPEG), so the file works offline and can be mailed
or archived. The page is rendered by jinja2 with autoescaping on: model output, question text and labels
are always escaped, and the page's script never builds HTML from strings. Plots are plain HTML/CSS bars.
The same runs and settings give the same file byte for byte (no timestamps, seeded bootstrap and sampling).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from spinebench import __version__
from spinebench.display import visible_escapes
from spinebench.errors import BenchmarkError
from spinebench.report._audit import pair_controls_in
from spinebench.report._axes import AXES
from spinebench.report._board import benchmark_info, leaderboard_sections
from spinebench.report._grading import GRADING_COLUMNS, grading_views
from spinebench.report._human import human_comparisons
from spinebench.report._items import Item, run_answer, select_items
from spinebench.report._leaderboard import SYNTHETIC_WARNING
from spinebench.report._output import write_report_file
from spinebench.report._ratings import read_ratings, summarise_ratings
from spinebench.report._reference import PUBLISHED, REFERENCE_SOURCE
from spinebench.report._runs import LoadedRun, load_runs, read_predictions
from spinebench.report._sections import (
    STAGES,
    balanced_view,
    circular_view,
    comparisons,
    confusion,
    disease_bars,
    level_view,
    usage,
)
from spinebench.report._thumbnails import THUMB_MAX_SIDE, make_thumbnails
from spinebench.stats import BootstrapSettings

DEFAULT_MAX_ITEMS = 3000
DEFAULT_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class ReportSettings:
    bench: Path | None = None
    bootstrap: BootstrapSettings = field(default_factory=BootstrapSettings)
    max_items: int = DEFAULT_MAX_ITEMS
    thumb_size: int = THUMB_MAX_SIDE
    page_size: int = DEFAULT_PAGE_SIZE
    title: str = "SpineBench report"
    ratings: tuple[Path, ...] = ()  # ratings CSVs (review export, `spinebench rubric`)


@dataclass(frozen=True, slots=True)
class RenderedReport:
    html: str
    items_shown: int
    items_total: int


@dataclass(frozen=True, slots=True)
class ReportResult:
    out: Path
    runs: int
    items_shown: int
    items_total: int
    bytes: int


def write_html_report(
    runs: Sequence[Path], out: Path, settings: ReportSettings | None = None
) -> ReportResult:
    settings = settings or ReportSettings()
    rendered = render_html_report(runs, settings)
    write_report_file(out, rendered.html)
    size = len(rendered.html.encode())
    return ReportResult(out, len(runs), rendered.items_shown, rendered.items_total, size)


def render_html_report(paths: Sequence[Path], settings: ReportSettings | None = None) -> RenderedReport:
    """The report's HTML, and how many of how many questions its item viewer holds."""
    settings = settings or ReportSettings()
    runs = load_runs(paths, bench=settings.bench, bootstrap=settings.bootstrap)
    first = runs[0]
    for run in runs[1:]:
        if run.benchmark.manifest_sha256 != first.benchmark.manifest_sha256:
            raise BenchmarkError(
                f"runs {first.path} and {run.path} were made on different benchmarks "
                f"({first.benchmark.path} and {run.benchmark.path}); a report compares runs on one benchmark"
            )
    run_ids = [{q.id for q in run.questions} for run in runs]
    union = set().union(*run_ids)
    questions = [q for q in first.benchmark.iter_questions() if q.id in union]
    selected = select_items(questions, settings.max_items, settings.bootstrap.seed)
    shown = {q.id for q in selected}
    texts = [read_predictions(run.path, shown.__contains__) for run in runs]
    items = [
        Item(
            question,
            tuple(
                run_answer(run.label, question, text, in_run=question.id in ids, circular=run.circular)
                for run, text, ids in zip(runs, texts, run_ids, strict=True)
            ),
        )
        for question in selected
    ]
    by_image = {q.image: q for q in selected}
    thumbs = make_thumbnails(
        by_image, lambda key: first.benchmark.read_image(by_image[key]), settings.thumb_size
    )
    context = _context(runs, settings, items, thumbs, len(questions))
    html = _environment().get_template("report.html.j2").render(context)
    return RenderedReport(html, len(selected), len(questions))


def _context(
    runs: list[LoadedRun], settings: ReportSettings, items: list[Item], thumbs: dict[str, Any], total: int
) -> dict[str, Any]:
    first = runs[0]
    chance_lines = []
    seen: set[str | None] = set()
    for run in runs:
        if run.subset in seen:
            continue
        seen.add(run.subset)
        tasks = run.scores["tasks"]
        sdd, sll = tasks.get("SDD", {}).get("chance", {}), tasks.get("SLL", {}).get("chance", {})
        chance_lines.append(
            {
                "subset": run.subset,
                "sdd": sdd.get("accuracy"),
                "sll": sll.get("accuracy"),
                "precision": sll.get("precision"),
                "recall": sll.get("recall"),
                "f1": sll.get("f1"),
                "overall": run.scores.get("overall_chance"),
                "circular": sdd.get("circular_accuracy"),
            }
        )
    levels = level_view(runs)
    level_names = sorted({name for entry in levels for name in entry.levels})
    board = leaderboard_sections(runs, settings.bootstrap)
    info = benchmark_info(first)
    cluster = first.scores.get("intervals", {}).get("cluster", "patient")
    circular = [view for run in runs if (view := circular_view(run)) is not None]
    paraphrase = [
        {"run": run.label, "tasks": run.scores["paraphrase"]} for run in runs if "paraphrase" in run.scores
    ]
    reliance = pair_controls_in(runs, settings.bootstrap)
    filter_values = {
        key: sorted({getattr(item.question, key) for item in items}) for key in ("task", "disease", "source")
    }
    js = _asset("report.js")
    thumbs_json = json.dumps(
        {key: t.uri for key, t in sorted(thumbs.items()) if t.uri}, separators=(",", ":")
    )
    return {
        "title": settings.title,
        "version": __version__,
        "benchmark_name": first.benchmark.name,
        "manifest_sha": first.benchmark.manifest_sha256,
        "bootstrap": settings.bootstrap,
        "cluster": cluster,
        "synthetic": info.synthetic,
        "synthetic_warning": SYNTHETIC_WARNING,
        "runs": runs,
        "run_labels": [run.label for run in runs],
        "board": board,
        "chance_lines": chance_lines,
        "reference": PUBLISHED if info.comparable_to_published else (),
        "reference_source": REFERENCE_SOURCE,
        "balanced": balanced_view(runs),
        "disease_bars": disease_bars(runs),
        "confusions": [confusion(run) for run in runs],
        "levels": levels,
        "level_names": level_names,
        "stages": STAGES,
        "usages": [usage(run) for run in runs],
        "circular": circular,
        "paraphrase": paraphrase,
        "wordings": max((t["wordings"] for p in paraphrase for t in p["tasks"].values()), default=0),
        "reliance": reliance,
        "robustness": bool(circular or paraphrase or reliance),
        "grading": grading_views(runs),
        "grading_columns": [label for _, label, _ in GRADING_COLUMNS],
        "comparisons": comparisons(runs, settings.bootstrap),
        "human_comparisons": human_comparisons(runs, settings.bootstrap),
        "ratings_files": [path.name for path in settings.ratings],
        "ratings": summarise_ratings(read_ratings(settings.ratings), settings.bootstrap)
        if settings.ratings
        else None,
        "axes": AXES,
        "items": items,
        "total_items": total,
        "page_size": settings.page_size,
        "filter_values": filter_values,
        "thumbs": thumbs,
        "thumbs_json": _script_json(thumbs_json),
        "css": Markup(_asset("report.css")),  # our own packaged file: trusted
        "js": Markup(js),  # our own packaged file: trusted
        "csp": content_security_policy(js),
    }


def content_security_policy(script: str) -> Markup:
    """The page's policy: nothing from the network, no script but its own (allowed by its sha256).

    Inline styles stay allowed: the bars are drawn with style attributes, and a style cannot run code.
    """
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return Markup(  # our own text, quotes kept as they are
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def _asset(name: str) -> str:
    return files("spinebench.report").joinpath("templates", name).read_text(encoding="utf-8")


def _visible(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible_escapes(value)
    return value


def _script_json(text: str) -> Markup:
    """JSON that is safe inside a <script> element: no "</script>" or HTML-significant characters."""
    escaped = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return Markup(escaped)


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("spinebench.report", "templates"),
        autoescape=True,  # every template, whatever its extension: model output is always escaped
        # Every shown value: NUL, ESC and bidi overrides (which can make "[A]" read as another answer)
        # become visible escapes. Our own trusted Markup (CSS, script, JSON) passes as it is.
        finalize=_visible,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters |= {
        "pct": lambda v: "-" if v is None else f"{100 * v:.2f}",
        "width": lambda v: f"{max(0.0, min(100.0, 100 * v)):.2f}",
        "num": lambda v: "-" if v is None else f"{v:.2f}",
        "kappa": lambda v: "-" if v is None else f"{v:.3f}",
        "sec": lambda v: "-" if v is None else f"{v:.3g}",
        "tokens": lambda v: "-" if v is None else f"{v:.0f}",
        "pvalue": lambda v: "-" if v is None else (f"{v:.3g}" if v >= 1e-4 else f"{v:.1e}"),
    }
    return environment
