"""`spinebench build`: a catalogue (or the source folders, catalogued first) -> a benchmark folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from spinebench.benchmark import refuse_existing_benchmark
from spinebench.catalog import SourceFolders, build_catalog, load_key
from spinebench.cli._errors import reports_errors
from spinebench.cli.catalog_cmd import print_catalog_report
from spinebench.embeddings import DEFAULT_ENCODER, ENCODER_HELP, make_encoder
from spinebench.errors import SpineBenchError
from spinebench.imaging import DEFAULT_MAX_PIXELS, ImagingOptions
from spinebench.questions import (
    BUILD_REPORT_FILE,
    CARD_FILE,
    DEFAULT_AGGREGATION,
    DEFAULT_LIBRARY_SIZE,
    DEFAULT_SUB_SDD,
    DEFAULT_SUB_SLL,
    DEFAULT_SUB_SSG,
    Aggregation,
    BuildSettings,
    build_benchmark,
    parse_tasks,
)
from spinebench.sources import CsxaColumns

CATALOG_SUBDIR = "catalog"


@reports_errors
def build_command(
    out: Path = typer.Option(..., "--out", "-o", metavar="BENCH", help="The benchmark folder to create."),
    catalog: Path | None = typer.Option(
        None, metavar="DIR", help="A catalogue made by `spinebench catalog` (or give the source folders)."
    ),
    vindr: Path | None = typer.Option(None, help="VinDr-SpineXR folder (catalogued into BENCH/catalog)."),
    rsna: Path | None = typer.Option(None, help="RSNA 2024 lumbar folder (catalogued into BENCH/catalog)."),
    csxa: Path | None = typer.Option(None, help="CSXA folder (catalogued into BENCH/catalog)."),
    buu: Path | None = typer.Option(None, help="BUU-LSPINE folder (catalogued into BENCH/catalog)."),
    key_file: Path | None = typer.Option(
        None, help="Sources: pseudonymisation key (see `spinebench catalog`)."
    ),
    max_side: int = typer.Option(1024, min=64, help="Sources: longest side of a standardised image."),
    max_pixels: int = typer.Option(
        DEFAULT_MAX_PIXELS, min=1, help="A DICOM declaring more pixels (rows x columns x frames) is skipped."
    ),
    min_severity: str = typer.Option("Moderate", help="Sources: RSNA least severity counted as diseased."),
    csxa_table: Path | None = typer.Option(None, help="Sources: the CSXA metadata table (CSV or XLSX)."),
    csxa_id_column: str | None = typer.Option(None, help="Sources: the CSXA table's image id column."),
    csxa_class_column: str | None = typer.Option(None, help="Sources: the CSXA table's class column."),
    workers: int | None = typer.Option(None, min=1, help="Sources: processes converting images."),
    encoder: str = typer.Option(DEFAULT_ENCODER, help=f"Image encoder: {ENCODER_HELP}."),
    seed: int = typer.Option(0, help="Seed of every random choice (library, wording, option order, subset)."),
    library_size: int = typer.Option(
        DEFAULT_LIBRARY_SIZE, min=1, help="Reference library images per disease (the paper: 200)."
    ),
    aggregation: str = typer.Option(
        DEFAULT_AGGREGATION, help="Per-disease similarity: max, mean or topk:K (mean of the K closest)."
    ),
    sub_sdd: int = typer.Option(DEFAULT_SUB_SDD, min=0, help="SpineBench-Sub diagnosis questions."),
    sub_sll: int = typer.Option(DEFAULT_SUB_SLL, min=0, help="SpineBench-Sub localization questions."),
    tasks: str = typer.Option(
        "SDD,SLL",
        help="Tasks to build: the paper's SDD,SLL (protocol spinebench-paper-v1), or SDD,SLL,SSG to add "
        "severity grading from RSNA 2024 under a protocol of its own.",
    ),
    mark_levels: bool = typer.Option(
        False, "--mark-levels/--no-mark-levels", help="SSG: circle the graded level on the image."
    ),
    sub_ssg: int = typer.Option(DEFAULT_SUB_SSG, min=0, help="SpineBench-Sub severity-grading questions."),
    cache: Path | None = typer.Option(
        None, metavar="DIR", help="Embedding cache (default: <catalogue>/embeddings-cache)."
    ),
    device: str = typer.Option("cpu", help="Encoder device: cpu, cuda, cuda:1, mps."),
    batch_size: int = typer.Option(32, min=1, help="Images embedded together."),
    name: str = typer.Option("spinebench", help="Name of the benchmark (in the manifest and card)."),
    synthetic: bool | None = typer.Option(
        None,
        "--synthetic/--not-synthetic",
        help="Mark the card as built from synthetic phantoms (detected when building from source folders).",
    ),
) -> None:
    """Build the benchmark: hard-negative SDD questions, SLL questions (and SSG with --tasks SDD,SLL,SSG),
    SpineBench-Sub, library and card."""
    folders = SourceFolders(
        vindr=vindr,
        rsna=rsna,
        csxa=csxa,
        buu=buu,
        min_severity=min_severity,
        csxa_table=csxa_table,
        csxa_columns=CsxaColumns(id=csxa_id_column, label=csxa_class_column),
    )
    if catalog is not None and folders.given():
        raise SpineBenchError(
            "give either --catalog or source folders (--vindr/--rsna/--csxa/--buu), not both"
        )
    # Settings are checked before the (long) cataloguing; making an encoder loads nothing yet.
    Aggregation.parse(aggregation)
    chosen_tasks = parse_tasks(tasks)
    make_encoder(encoder, device=device, batch_size=batch_size)
    # So is the output: cataloguing would first rewrite BENCH/catalog of an existing benchmark.
    refuse_existing_benchmark(out)
    if catalog is None:
        if not folders.given():
            raise SpineBenchError(
                "give --catalog DIR or at least one source: --vindr, --rsna, --csxa or --buu"
            )
        catalog = out / CATALOG_SUBDIR
        catalog_report = build_catalog(
            folders.readers(),
            catalog,
            key=load_key(key_file),
            imaging=ImagingOptions(max_side=max_side, max_pixels=max_pixels),
            workers=workers,
            progress=True,
        )
        print_catalog_report(catalog_report, catalog)
        if synthetic is None:
            synthetic = folders.synthetic()
    elif not catalog.is_dir():
        raise SpineBenchError(f"{catalog}: no such catalogue folder")
    settings = BuildSettings(
        seed=seed,
        encoder=encoder,
        library_size=library_size,
        aggregation=aggregation,
        sub_sdd=sub_sdd,
        sub_sll=sub_sll,
        name=name,
        cache_dir=cache,
        device=device,
        batch_size=batch_size,
        synthetic=synthetic,
        tasks=chosen_tasks,
        mark_levels=mark_levels,
        sub_ssg=sub_ssg,
    )
    report = build_benchmark(catalog, out, settings, progress=True)
    console = Console()
    table = Table(title=Text(f"Benchmark {out}"))  # Text: a "[...]" in the path is not console markup
    for column in ("task", "questions", "SpineBench-Sub", "requested"):
        table.add_column(column)
    for selection in report.subsets:
        table.add_row(
            selection.task,
            str(report.questions[selection.task]),
            str(selection.selected),
            str(selection.requested) + (" (short)" if selection.short else ""),
        )
    console.print(table)
    hardness = report.hardness
    if hardness.questions:
        console.print(
            f"Distractor hardness ({settings.aggregation}): chosen {hardness.chosen:.4f} vs random "
            f"{hardness.random:.4f} ({hardness.difference:+.4f}) over {hardness.questions} SDD questions"
        )
    if synthetic:
        console.print("[bold yellow]Built from SYNTHETIC phantoms: its scores mean nothing medically.[/]")
    console.print(
        f"{len(report.skipped)} questions or images skipped (listed in {out / BUILD_REPORT_FILE}); "
        f"dataset card: {out / CARD_FILE}",
        markup=False,
        soft_wrap=True,
    )
