"""`spinebench export`: a benchmark -> what a harness reads (VLMEvalKit, lmms-eval, inspect_ai, HF)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from spinebench.benchmark import Benchmark
from spinebench.cli._errors import reports_errors
from spinebench.export import ExportResult, export_benchmark


class FormatChoice(StrEnum):
    vlmevalkit = "vlmevalkit"
    lmms_eval = "lmms-eval"
    inspect = "inspect"
    hf = "hf"


def next_step(result: ExportResult) -> str:
    """How to run what was written, one line per format."""
    main = result.main
    if result.format == "vlmevalkit":
        return (
            f"Copy {main.name} into $LMUData and run VLMEvalKit with --data {main.stem} "
            '(its stock MCQ scores hold for category "SDD" only; see docs/exports.md for SLL).'
        )
    if result.format == "lmms-eval":
        return f"Run: lmms-eval --include_path {main} --tasks spinebench --model ..."
    if result.format == "inspect":
        return f"Run: inspect eval {main / 'task.py'}@spinebench_sdd --model ...  (and @spinebench_sll)"
    return f'Load: datasets.load_dataset("parquet", data_files="{main}/*.parquet", split="train")'


@reports_errors
def export_command(
    bench: Path = typer.Argument(..., metavar="BENCH", help="Benchmark directory to export."),
    format: FormatChoice = typer.Option(..., "--format", "-f", help="Harness to export for."),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Folder to write; must be new or empty unless --force."
    ),
    subset: str | None = typer.Option(
        None, help="Export only a flagged subset, e.g. 'sub' (SpineBench-Sub)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Write into a non-empty folder, replacing this format's earlier export there."
    ),
    shard_rows: int = typer.Option(5000, min=1, help="hf: most questions per parquet shard."),
) -> None:
    """Export a benchmark for VLMEvalKit (TSV), lmms-eval (task folder), inspect_ai (task) or Hugging Face."""
    benchmark = Benchmark.open(bench)
    result = export_benchmark(
        benchmark, format.value, out, subset=subset, force=force, shard_rows=shard_rows, progress=True
    )
    console = Console()
    console.print(
        f"Exported {result.questions} questions ({result.images} images) for {result.format} "
        f"to {result.main} ({result.bytes / 1e6:.1f} MB)",
        markup=False,
        soft_wrap=True,
    )
    console.print(next_step(result), markup=False, soft_wrap=True)
