"""`spinebench audit`: how much of a run's score needs the image, from its image-control runs."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from spinebench.cli._errors import reports_errors
from spinebench.display import terminal_safe
from spinebench.report import audit_runs, reliance_tables, write_report_file
from spinebench.stats import BootstrapSettings


@reports_errors
def audit_command(
    run: Path = typer.Argument(..., metavar="RUN", help="The run with the real images."),
    controls: list[Path] = typer.Argument(
        ...,
        metavar="CONTROL_RUN...",
        help="Its --image-control runs; baseline runs (knn, prior, random) are shown as references.",
    ),
    bench: Path | None = typer.Option(
        None, help="Benchmark directory of the runs, when the path recorded in run.json has moved."
    ),
    details: bool = typer.Option(True, help="Also show reliance per disease."),
    resamples: int = typer.Option(1000, min=1, help="Bootstrap resamples for the 95% intervals."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the audit as JSON to this file."),
) -> None:
    """Image reliance: accuracy with the real images minus accuracy under each control, with intervals."""
    audit = audit_runs(
        run, controls, bench=bench, bootstrap=BootstrapSettings(resamples=resamples, seed=seed)
    )
    console = Console()
    for table in reliance_tables(audit, details=details):
        console.print(table)
    for pairing in audit.controls:
        for warning in pairing.warnings:
            console.print(
                Text(terminal_safe(f"warning: {pairing.path} {warning}"), style="yellow"), soft_wrap=True
            )
    for flag in audit.flags():
        console.print(Text(terminal_safe(f"FLAG: {flag}"), style="bold red"), soft_wrap=True)
    if json_out is not None:
        write_report_file(json_out, json.dumps(audit.to_json(), indent=1, ensure_ascii=False) + "\n")
        console.print(Text(terminal_safe(f"Audit written to {json_out}")), soft_wrap=True)
