"""The `spinebench` command. Each subcommand lives in its own module and only parses options."""

from __future__ import annotations

import typer

from spinebench import __version__
from spinebench.cli.audit_cmd import audit_command
from spinebench.cli.build_cmd import build_command
from spinebench.cli.catalog_cmd import catalog_command
from spinebench.cli.demo_cmd import demo_command
from spinebench.cli.eval_cmd import eval_command
from spinebench.cli.export_cmd import export_command
from spinebench.cli.import_release_cmd import import_release_command
from spinebench.cli.leaderboard_cmd import leaderboard_command
from spinebench.cli.report_cmd import report_command
from spinebench.cli.review_cmd import review_app
from spinebench.cli.rubric_cmd import rubric_command
from spinebench.cli.synth_cmd import synth_command

app = typer.Typer(
    name="spinebench",
    help="Build and run SpineBench: spine imaging multiple-choice questions for vision-language models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("demo")(demo_command)
# In pipeline order: sources -> catalog -> (questions -> benchmark) -> run -> report.
app.command("synth")(synth_command)
app.command("catalog")(catalog_command)
app.command("build")(build_command)
app.command("import-release")(import_release_command)
app.command("eval")(eval_command)
app.command("report")(report_command)
app.command("audit")(audit_command)
app.command("leaderboard")(leaderboard_command)
app.command("export")(export_command)
# Clinicians in the loop: human answers and ratings, and the LLM rubric.
app.add_typer(review_app, name="review")
app.command("rubric")(rubric_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"spinebench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Build and run SpineBench."""


def main() -> None:
    app()
