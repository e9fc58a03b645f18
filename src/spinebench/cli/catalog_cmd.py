"""`spinebench catalog`: the four source datasets -> one standardised catalogue."""

from __future__ import annotations

import os
import secrets
from functools import partial
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from spinebench.catalog import REPORT_NAME, build_catalog
from spinebench.catalog._build import Reader
from spinebench.cli._errors import reports_errors
from spinebench.errors import SpineBenchError
from spinebench.imaging import ImagingOptions
from spinebench.sources.buu import read_buu
from spinebench.sources.csxa import CsxaColumns, read_csxa
from spinebench.sources.rsna_lumbar import read_rsna_lumbar
from spinebench.sources.vindr import read_vindr


def default_key_file() -> Path:
    # Outside the catalogue on purpose: a shared catalogue must not carry the key to its own pseudonyms.
    configured = os.environ.get("SPINEBENCH_KEY_FILE")
    return Path(configured) if configured else Path.home() / ".config" / "spinebench" / "pseudonym.key"


def load_key(key_file: Path | None) -> bytes:
    """The pseudonymisation key from `key_file`, else the user's default key file (created once)."""
    path = key_file or default_key_file()
    if key_file is None and not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        os.chmod(path, 0o600)
    try:
        key = path.read_bytes().strip()
    except OSError as error:
        raise SpineBenchError(f"{path}: cannot read the key file ({error.strerror})") from error
    if len(key) < 16:
        raise SpineBenchError(f"{path}: a pseudonymisation key needs at least 16 bytes")
    return key


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
    min_severity: str = typer.Option("Moderate", help="RSNA: least severity counted as diseased."),
    csxa_table: Path | None = typer.Option(None, help="CSXA: the metadata table (CSV or XLSX)."),
    csxa_id_column: str | None = typer.Option(None, help="CSXA: the table's image id column."),
    csxa_class_column: str | None = typer.Option(None, help="CSXA: the table's curvature class column."),
    workers: int | None = typer.Option(None, min=1, help="Processes converting images (default: all cores)."),
) -> None:
    """Build catalog.parquet + standardised images + build_report.json from any subset of the sources."""
    readers: dict[str, tuple[Reader, Path]] = {}
    if vindr:
        readers["vindr"] = (read_vindr, vindr)
    if rsna:
        readers["rsna"] = (partial(read_rsna_lumbar, min_severity=min_severity), rsna)
    if csxa:
        columns = CsxaColumns(id=csxa_id_column, label=csxa_class_column)
        readers["csxa"] = (partial(read_csxa, table=csxa_table, columns=columns), csxa)
    if buu:
        readers["buu"] = (read_buu, buu)
    if not readers:
        raise SpineBenchError("give at least one source: --vindr, --rsna, --csxa or --buu")
    report = build_catalog(
        readers,
        out,
        key=load_key(key_file),
        imaging=ImagingOptions(max_side=max_side),
        workers=workers,
        progress=True,
    )
    console = Console()
    table = Table(title=f"Catalogue {out}")
    for column in ("source", "images", "diseases"):
        table.add_column(column)
    for source, count in report.by_source.items():
        diseases = ", ".join(f"{name} {n}" for name, n in report.by_disease[source].items())
        table.add_row(source, str(count), diseases)
    console.print(table)
    console.print(
        f"{report.images} images ({report.converted} converted, {report.reused} reused); "
        f"{len(report.skipped)} records skipped, each with its reason in {out / REPORT_NAME}"
    )
    for skipped in report.skipped[:10]:
        console.print(f"  skipped {skipped}", highlight=False, markup=False)
