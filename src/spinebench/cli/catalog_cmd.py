"""`spinebench catalog`: the four source datasets -> one standardised catalogue."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from spinebench.catalog import REPORT_NAME, CatalogReport, SourceFolders, build_catalog, load_key
from spinebench.cli._errors import reports_errors
from spinebench.display import terminal_safe
from spinebench.imaging import DEFAULT_MAX_PIXELS, ImagingOptions
from spinebench.sources import CsxaColumns


@reports_errors
def catalog_command(
    out: Path = typer.Option(..., "--out", "-o", help="Catalogue folder (catalog.parquet, images/, report)."),
    vindr: Path | None = typer.Option(None, help="VinDr-SpineXR folder (annotations/, train_images/...)."),
    rsna: Path | None = typer.Option(None, help="RSNA 2024 lumbar folder (train.csv, train_images/...)."),
    csxa: Path | None = typer.Option(None, help="CSXA folder (PNGs, LabelMe JSONs, metadata table)."),
    buu: Path | None = typer.Option(None, help="BUU-LSPINE folder (AP/, LA/)."),
    key_file: Path | None = typer.Option(
        None,
        help="Secret key for pseudonymising patient/study ids (default: $SPINEBENCH_KEY_FILE or "
        "~/.config/spinebench/pseudonym.key, created once). Keep it to rebuild the same pseudonyms.",
    ),
    max_side: int = typer.Option(1024, min=64, help="Longest side of a standardised image, in pixels."),
    max_pixels: int = typer.Option(
        DEFAULT_MAX_PIXELS, min=1, help="A DICOM declaring more pixels (rows x columns x frames) is skipped."
    ),
    min_severity: str = typer.Option("Moderate", help="RSNA: least severity counted as diseased."),
    csxa_table: Path | None = typer.Option(None, help="CSXA: the metadata table (CSV or XLSX)."),
    csxa_id_column: str | None = typer.Option(None, help="CSXA: the table's image id column."),
    csxa_class_column: str | None = typer.Option(None, help="CSXA: the table's curvature class column."),
    workers: int | None = typer.Option(None, min=1, help="Processes converting images (default: all cores)."),
) -> None:
    """Build catalog.parquet + standardised images + build_report.json from any subset of the sources."""
    folders = SourceFolders(
        vindr=vindr,
        rsna=rsna,
        csxa=csxa,
        buu=buu,
        min_severity=min_severity,
        csxa_table=csxa_table,
        csxa_columns=CsxaColumns(id=csxa_id_column, label=csxa_class_column),
    )
    report = build_catalog(
        folders.readers(),
        out,
        key=load_key(key_file),
        imaging=ImagingOptions(max_side=max_side, max_pixels=max_pixels),
        workers=workers,
        progress=True,
    )
    print_catalog_report(report, out)


def print_catalog_report(report: CatalogReport, out: Path) -> None:
    console = Console()
    # A path is user text: never console markup, so a "[...]" in it is neither eaten nor fatal.
    table = Table(title=Text(f"Catalogue {out}"))
    for column in ("source", "images", "diseases"):
        table.add_column(column)
    for source, count in report.by_source.items():
        diseases = ", ".join(f"{name} {n}" for name, n in report.by_disease[source].items())
        table.add_row(source, str(count), diseases)
    console.print(table)
    console.print(
        f"{report.images} images ({report.converted} converted, {report.reused} reused); "
        f"{len(report.skipped)} records skipped, each with its reason in {out / REPORT_NAME}",
        markup=False,
        highlight=False,
    )
    for skipped in report.skipped[:10]:
        # A skip names a file of the dataset: no control character in its name reaches the terminal.
        console.print(terminal_safe(f"  skipped {skipped}"), highlight=False, markup=False)
