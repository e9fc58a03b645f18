"""The source-folder options, declared once for `spinebench catalog` and `spinebench build`.

Each alias carries its type, default and help; a command lists the parameters by these names and passes them
to `source_folders` / `imaging_options`, so the two commands cannot drift apart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from spinebench.catalog import SourceFolders
from spinebench.imaging import ImagingOptions
from spinebench.sources import CsxaColumns

Vindr = Annotated[Path | None, typer.Option(help="VinDr-SpineXR folder (annotations/, train_images/...).")]
Rsna = Annotated[Path | None, typer.Option(help="RSNA 2024 lumbar folder (train.csv, train_images/...).")]
Csxa = Annotated[Path | None, typer.Option(help="CSXA folder (PNGs, LabelMe JSONs, metadata table).")]
Buu = Annotated[Path | None, typer.Option(help="BUU-LSPINE folder (AP/, LA/).")]
KeyFile = Annotated[
    Path | None,
    typer.Option(
        help="Secret key for pseudonymising patient/study ids (default: $SPINEBENCH_KEY_FILE or "
        "~/.config/spinebench/pseudonym.key, created once). Keep it to rebuild the same pseudonyms."
    ),
]
MaxSide = Annotated[int, typer.Option(min=64, help="Longest side of a standardised image, in pixels.")]
MaxPixels = Annotated[
    int, typer.Option(min=1, help="A DICOM declaring more pixels (rows x columns x frames) is skipped.")
]
MinSeverity = Annotated[str, typer.Option(help="RSNA: least severity counted as diseased.")]
CsxaTable = Annotated[Path | None, typer.Option(help="CSXA: the metadata table (CSV or XLSX).")]
CsxaIdColumn = Annotated[str | None, typer.Option(help="CSXA: the table's image id column.")]
CsxaClassColumn = Annotated[str | None, typer.Option(help="CSXA: the table's curvature class column.")]
Workers = Annotated[int | None, typer.Option(min=1, help="Processes converting images (default: all cores).")]
DEFAULT_MAX_SIDE = 1024
DEFAULT_MIN_SEVERITY = "Moderate"


def source_folders(
    *,
    vindr: Path | None,
    rsna: Path | None,
    csxa: Path | None,
    buu: Path | None,
    min_severity: str,
    csxa_table: Path | None,
    csxa_id_column: str | None,
    csxa_class_column: str | None,
) -> SourceFolders:
    return SourceFolders(
        vindr=vindr,
        rsna=rsna,
        csxa=csxa,
        buu=buu,
        min_severity=min_severity,
        csxa_table=csxa_table,
        csxa_columns=CsxaColumns(id=csxa_id_column, label=csxa_class_column),
    )


def imaging_options(max_side: int, max_pixels: int) -> ImagingOptions:
    return ImagingOptions(max_side=max_side, max_pixels=max_pixels)
