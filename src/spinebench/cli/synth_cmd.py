"""`spinebench synth`: small fake copies of the four source datasets, in their native layouts."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from spinebench.cli._errors import reports_errors
from spinebench.synth import write_synthetic_sources


@reports_errors
def synth_command(
    out: Path = typer.Argument(
        ..., help="Folder to write vindr-spinexr/, rsna-2024-lumbar/, csxa/, buu-lspine/."
    ),
    seed: int = typer.Option(0, help="Seed of every random choice (same seed, same bytes)."),
    scale: int = typer.Option(1, min=1, help="Multiply the number of images of each dataset."),
) -> None:
    """Write SYNTHETIC phantom datasets in the VinDr, RSNA, CSXA and BUU layouts (for tests and the demo)."""
    folders = write_synthetic_sources(out, seed=seed, scale=scale)
    console = Console()
    for name, folder in folders.items():
        console.print(f"{name:>6}: {folder}", markup=False)  # a path may hold brackets
