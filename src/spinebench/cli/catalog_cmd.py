"""`spinebench catalog`: the four source datasets -> one standardised catalogue."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from spinebench.catalog import REPORT_NAME, CatalogReport, build_catalog, load_key
from spinebench.cli._errors import reports_errors
from spinebench.cli._source_options import (
    DEFAULT_MAX_SIDE,
    DEFAULT_MIN_SEVERITY,
    Buu,
    Csxa,
    CsxaClassColumn,
    CsxaIdColumn,
    CsxaTable,
    KeyFile,
    MaxPixels,
    MaxSide,
    MinSeverity,
    Rsna,
    Vindr,
    Workers,
    imaging_options,
    source_folders,
)
from spinebench.display import terminal_safe
from spinebench.imaging import DEFAULT_MAX_PIXELS


@reports_errors
def catalog_command(
    out: Path = typer.Option(..., "--out", "-o", help="Catalogue folder (catalog.parquet, images/, report)."),
    vindr: Vindr = None,
    rsna: Rsna = None,
    csxa: Csxa = None,
    buu: Buu = None,
    key_file: KeyFile = None,
    max_side: MaxSide = DEFAULT_MAX_SIDE,
    max_pixels: MaxPixels = DEFAULT_MAX_PIXELS,
    min_severity: MinSeverity = DEFAULT_MIN_SEVERITY,
    csxa_table: CsxaTable = None,
    csxa_id_column: CsxaIdColumn = None,
    csxa_class_column: CsxaClassColumn = None,
    workers: Workers = None,
) -> None:
    """Build catalog.parquet + standardised images + build_report.json from any subset of the sources."""
    folders = source_folders(
        vindr=vindr,
        rsna=rsna,
        csxa=csxa,
        buu=buu,
        min_severity=min_severity,
        csxa_table=csxa_table,
        csxa_id_column=csxa_id_column,
        csxa_class_column=csxa_class_column,
    )
    report = build_catalog(
        folders.readers(),
        out,
        key=load_key(key_file),
        imaging=imaging_options(max_side, max_pixels),
        workers=workers,
        progress=True,
        synthetic=folders.synthetic(),
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
