"""`spinebench review serve|invite|export`: the clinician review app and what comes out of it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from spinebench.benchmark import SAMPLE_PATH, Benchmark
from spinebench.cli._errors import reports_errors
from spinebench.errors import SpineBenchError
from spinebench.review import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    ReviewDatabase,
    ReviewSettings,
    check_exposure,
    create_invite,
    export_reviews,
    prepare_review,
    serve_review,
)

review_app = typer.Typer(
    help="Clinician review: human answers (a human baseline run) and blind ratings of model reasoning.",
    no_args_is_help=True,
)
_DB = typer.Option(Path("review.sqlite"), "--db", help="The review database (SQLite).")
_INSTALL = "pip install 'spinebench[review]'"


@review_app.command("serve")
@reports_errors
def serve_command(
    bench: Path | None = typer.Argument(
        None, help="Benchmark directory. Without it, the small synthetic sample bundled with SpineBench."
    ),
    runs: list[Path] = typer.Option(
        [], "--runs", help="Run directories whose reasoning is rated (repeatable)."
    ),
    db: Path = _DB,
    host: str = typer.Option(
        DEFAULT_HOST, help="Interface to listen on; anything but loopback needs invites."
    ),
    port: int = typer.Option(DEFAULT_PORT, min=1, max=65535, help="Port to listen on."),
    allowed_host: list[str] = typer.Option(
        [], "--allowed-host", help="Another host name reviewers reach this server by (Host header check)."
    ),
    per_stratum: int = typer.Option(5, min=1, help="Questions per task and disease in the shared item set."),
    traces_per_task: int = typer.Option(10, min=1, help="Traces rated per run and task."),
    seed: int = typer.Option(0, help="Seed of the item set, the traces and each reviewer's order."),
    subset: str | None = typer.Option(None, help="Draw the item set from a flagged subset, e.g. 'sub'."),
) -> None:
    """Serve the review app (fixes the item set in --db on first use)."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise SpineBenchError(f"the review app needs Starlette and uvicorn: {_INSTALL}") from error
    settings = ReviewSettings(per_stratum, traces_per_task, seed, host, port, tuple(allowed_host), subset)
    warning = check_exposure(db, settings)
    if warning:
        Console(stderr=True).print(Text("warning: " + warning, style="bold yellow"))
    benchmark = Benchmark.open(bench or SAMPLE_PATH)
    state = prepare_review(db, benchmark, runs, settings)
    Console().print(
        f"Reviewing {benchmark.name}: {len(state.items)} questions, {len(state.traces)} traces; "
        f"http://{host}:{port}/ (invite reviewers with `spinebench review invite NAME --db {db}`)",
        markup=False,
        soft_wrap=True,
    )
    serve_review(state, settings)


@review_app.command("invite")
@reports_errors
def invite_command(
    name: str = typer.Argument(..., help="The reviewer's name (shown to them; pseudonymised in reports)."),
    db: Path = _DB,
    url: str = typer.Option(
        f"http://{DEFAULT_HOST}:{DEFAULT_PORT}",
        help="The address reviewers open (the server's host and port).",
    ),
) -> None:
    """Print a one-time invite link for a reviewer (no passwords; the link works once)."""
    token = create_invite(ReviewDatabase.open(db), name)
    typer.echo(f"{url.rstrip('/')}/invite/{token}")


@review_app.command("export")
@reports_errors
def export_command(
    bench: Path | None = typer.Argument(
        None, help="Benchmark the review was served on (default: the sample)."
    ),
    db: Path = _DB,
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the human runs and ratings.csv."),
    real_names: bool = typer.Option(
        False, help="Use reviewers' real names even without their consent (for private use only)."
    ),
) -> None:
    """Write each reviewer's answers as a run directory (model human:<name>) and the ratings as CSV."""
    result = export_reviews(db, Benchmark.open(bench or SAMPLE_PATH), out, real_names=real_names)
    console = Console()
    if not result.runs and result.ratings is None:
        console.print(
            f"Nothing to export: {result.reviewers} reviewer(s) invited, no answers and no ratings yet.",
            markup=False,
        )
        return
    for model, path in result.runs.items():
        console.print(f"{model}: {path}", markup=False, soft_wrap=True)
    if not result.runs:
        console.print("No answers yet: no human run written.", markup=False)
    if result.ratings is None:
        console.print("No ratings yet: no ratings.csv written.", markup=False)
    else:
        console.print(f"{result.ratings_rows} rating(s): {result.ratings}", markup=False, soft_wrap=True)
