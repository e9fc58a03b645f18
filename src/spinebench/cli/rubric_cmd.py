"""`spinebench rubric`: an LLM judge rates a run's reasoning on the four review axes (cached)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from spinebench.cli._errors import reports_errors
from spinebench.models import SPEC_HELP, ProviderOptions, make_provider
from spinebench.review import open_run_benchmark, rate_run


@reports_errors
def rubric_command(
    run: Path = typer.Argument(..., help="Run directory whose reasoning traces are rated."),
    judge: str = typer.Option(
        ..., "--judge", help=f"Model spec of the judge, e.g. openai:<model> ({SPEC_HELP})."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="CSV to write (default RUN/rubric.csv)."),
    bench: Path | None = typer.Option(None, help="Benchmark of the run, when run.json's path has moved."),
    base_url: str | None = typer.Option(None, help="OpenAI-compatible endpoint of the judge."),
    api_key_env: str = typer.Option("OPENAI_API_KEY", help="Environment variable holding the judge's key."),
    traces_per_task: int = typer.Option(10, min=1, help="Traces rated per task (as in the review app)."),
    seed: int = typer.Option(0, help="Seed picking the traces; the review app's seed gives the same traces."),
    concurrency: int = typer.Option(4, min=1, help="Judge requests in flight at once."),
) -> None:
    """Rate a run's traces with the rubric; give the CSV to `spinebench report --ratings`."""
    benchmark = open_run_benchmark(run, bench)
    provider = make_provider(judge, ProviderOptions(base_url=base_url, api_key_env=api_key_env))
    result = rate_run(
        run, benchmark, provider, out=out, traces_per_task=traces_per_task, seed=seed, concurrency=concurrency
    )
    Console().print(
        f"{result.rated} of {result.traces} traces scored on every axis ({result.calls} judge call(s), "
        f"the rest cached): {result.csv}",
        markup=False,
        soft_wrap=True,
    )
