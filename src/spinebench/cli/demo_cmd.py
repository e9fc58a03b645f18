"""`spinebench demo`: every stage of SpineBench on synthetic data, with a report at the end."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from spinebench.cli._errors import reports_errors
from spinebench.demo import run_demo
from spinebench.embeddings import DEFAULT_ENCODER, ENCODER_HELP


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


@reports_errors
def demo_command(
    out: Path = typer.Option(
        Path("spinebench-demo"), "--out", "-o", help="Folder for everything the demo makes."
    ),
    seed: int = typer.Option(0, help="Seed of every random choice."),
    scale: int = typer.Option(1, min=1, help="Multiply the size of the synthetic datasets."),
    encoder: str = typer.Option(DEFAULT_ENCODER, help=f"Image encoder: {ENCODER_HELP}."),
) -> None:
    """Run the whole pipeline on synthetic data: sources -> catalogue -> benchmark -> baselines -> report."""
    console = Console()
    result = run_demo(out, seed=seed, scale=scale, encoder=encoder, console=console)
    table = Table(title="Leaderboard (synthetic data: the numbers mean nothing medically)")
    for column in ("model", "SDD acc %", "SLL acc %", "overall %", "SSG acc %", "SSG kappa", "status"):
        table.add_column(column, justify="left" if column in ("model", "status") else "right")
    for model, scores in result.scores.items():
        tasks = scores["tasks"]
        table.add_row(
            model,
            _percent(tasks.get("SDD", {}).get("accuracy")),
            _percent(tasks.get("SLL", {}).get("accuracy")),
            _percent(scores["overall"]),
            _percent(tasks.get("SSG", {}).get("accuracy")),
            _kappa(tasks.get("SSG", {}).get("weighted_kappa")),
            scores["status"],
        )
    console.print(table)
    console.print(f"Report: {result.report}")
    console.print(f"Benchmark: {result.benchmark}   runs: {result.out / 'runs'}")


def _kappa(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
