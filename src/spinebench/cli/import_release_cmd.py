"""`spinebench import-release`: the published SpineBench release folder -> a benchmark directory."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from spinebench.cli._errors import reports_errors
from spinebench.display import terminal_safe
from spinebench.sources import ImportReport, ReleaseSurvey, import_release, survey_release
from spinebench.sources.release import REPORT_NAME


@reports_errors
def import_release_command(
    release_dir: Path = typer.Argument(
        ..., metavar="DIR", help="The release folder, holding evaluation/test.json and/or all/train.json."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", metavar="BENCH", help="The benchmark folder to create (must hold no benchmark)."
    ),
    show_skipped: int = typer.Option(10, "--show-skipped", min=0, help="How many skipped records to list."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Only say what the release holds and how its images resolve; write nothing."
    ),
) -> None:
    """Import the published SpineBench release (questions of evaluation/test.json form subset "sub")."""
    console = Console()
    if dry_run:
        print_survey(console, survey_release(release_dir), show_skipped)
        return
    if out is None:
        raise typer.BadParameter("give --out BENCH (or --dry-run to only look)", param_hint="--out")
    report = import_release(release_dir, out, progress=True)
    print_summary(console, report, show_skipped)


def print_survey(console: Console, survey: ReleaseSurvey, show_skipped: int) -> None:
    """The dry run's findings, one table per question asked of the release."""
    console.print(f"Release files in {survey.root} (dry run: nothing written)", soft_wrap=True, markup=False)
    sections = (
        ("file", "records", survey.records_per_file),
        ("task", "records", dict(sorted(survey.tasks.items()))),
        ("options given as", "records", dict(survey.option_formats.most_common())),
        ("image found", "records", dict(survey.images.most_common())),
        ("would be skipped", "records", survey.skipped_by_kind()),
    )
    for title, unit, counts in sections:
        table = Table()
        table.add_column(title)
        table.add_column(unit, justify="right")
        for key, count in counts.items():
            table.add_row(Text(terminal_safe(str(key))), str(count))
        if counts:
            console.print(table)
    for record in survey.skipped[:show_skipped]:
        console.print(Text.assemble(("  would skip ", "yellow"), terminal_safe(str(record))), soft_wrap=True)


def print_summary(console: Console, report: ImportReport, show_skipped: int) -> None:
    console.print(f"Imported from {', '.join(report.files)}", soft_wrap=True, markup=False)
    table = Table()
    table.add_column("task")
    table.add_column("questions", justify="right")
    table.add_column('subset "sub"', justify="right")
    for task in sorted(report.imported):
        table.add_row(task, str(report.imported[task]), str(report.imported_sub[task]))
    console.print(table)
    console.print(
        f"records read: {report.records}; questions imported: {report.questions}; "
        f"duplicates merged: {report.duplicates}; skipped: {len(report.skipped)}",
        soft_wrap=True,
    )
    if report.skipped:
        for kind, count in report.skipped_by_kind().items():
            console.print(f"  skipped ({kind}): {count}", soft_wrap=True, markup=False)
        for record in report.skipped[:show_skipped]:
            console.print(Text.assemble(("  skipped ", "yellow"), terminal_safe(str(record))), soft_wrap=True)
        more = len(report.skipped) - show_skipped
        tail = f"{more} more; all" if more > 0 else "all"
        console.print(f"  ({tail} listed in {report.out / REPORT_NAME})", soft_wrap=True, markup=False)
    console.print(f"Benchmark written to {report.out}", soft_wrap=True, markup=False)
