"""`spinebench build`: a catalogue (or the source folders, catalogued first) -> a benchmark folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from spinebench.catalog import ConversionExecutor, load_key
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
from spinebench.cli.catalog_cmd import print_catalog_report
from spinebench.embeddings import DEFAULT_ENCODER, ENCODER_HELP, CatalogEncoding
from spinebench.errors import SpineBenchError
from spinebench.imaging import DEFAULT_MAX_PIXELS
from spinebench.questions import (
    BUILD_REPORT_FILE,
    CARD_FILE,
    DEFAULT_AGGREGATION,
    DEFAULT_LIBRARY_SIZE,
    DEFAULT_SUB_SDD,
    DEFAULT_SUB_SLL,
    DEFAULT_SUB_SSG,
    BuildReport,
    BuildSettings,
    build_benchmark,
    build_from_sources,
    parse_tasks,
)


@reports_errors
def build_command(
    out: Path = typer.Option(..., "--out", "-o", metavar="BENCH", help="The benchmark folder to create."),
    catalog: Path | None = typer.Option(
        None, metavar="DIR", help="A catalogue made by `spinebench catalog` (or give the source folders)."
    ),
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
    catalog_out: Path | None = typer.Option(
        None, metavar="DIR", help="Sources: where the catalogue goes (default: BENCH.catalog, beside BENCH)."
    ),
    encoder: str = typer.Option(DEFAULT_ENCODER, help=f"Image encoder: {ENCODER_HELP}."),
    embeddings: Path | None = typer.Option(
        None,
        metavar="FILE",
        help="Use the vectors of an earlier build's BENCH.embeddings.npz instead of an encoder "
        "(rebuilds it byte-identically, no encoder needed).",
    ),
    seed: int = typer.Option(0, help="Seed of every random choice (library, wording, option order, subset)."),
    library_size: int = typer.Option(
        DEFAULT_LIBRARY_SIZE, min=1, help="Reference library images per disease (the paper: 200)."
    ),
    aggregation: str = typer.Option(
        DEFAULT_AGGREGATION,
        help="Per-disease similarity: max (the paper's), mean or topk:K (mean of the K closest); any but "
        "max names the protocol a variant.",
    ),
    exclude_same_patient: bool = typer.Option(
        False,
        "--exclude-same-patient",
        help="Leave every image of the query's own patient (else study) out of the library vote, not only "
        "the image itself (a protocol variant; the card counts the questions it changes).",
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
        help="Mark the card as built from synthetic phantoms (default: as the sources or catalogue record).",
    ),
    ray: str | None = typer.Option(
        None,
        help="Decode and embed on a Ray cluster: local (start one here), auto, or its ADDRESS (needs "
        "spinebench[ray]; sources and catalogue readable at the same paths on every node).",
    ),
    ray_actors: int | None = typer.Option(
        None, min=1, help="--ray: encoder actors (default: per CPU pair or GPU)."
    ),
) -> None:
    """Build the benchmark: hard-negative SDD questions, SLL questions (and SSG with --tasks SDD,SLL,SSG),
    SpineBench-Sub, library and card."""
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
    if catalog is not None and folders.given():
        raise SpineBenchError(
            "give either --catalog or source folders (--vindr/--rsna/--csxa/--buu), not both"
        )
    settings = BuildSettings(
        seed=seed,
        encoder=encoder,
        library_size=library_size,
        aggregation=aggregation,
        exclude_same_patient=exclude_same_patient,
        sub_sdd=sub_sdd,
        sub_sll=sub_sll,
        name=name,
        cache_dir=cache,
        device=device,
        batch_size=batch_size,
        embeddings=embeddings,
        synthetic=synthetic,
        tasks=parse_tasks(tasks),  # an unknown or missing task is named before any cataloguing
        mark_levels=mark_levels,
        sub_ssg=sub_ssg,
    )
    if catalog is None:
        if not folders.given():
            raise SpineBenchError(
                "give --catalog DIR or at least one source: --vindr, --rsna, --csxa or --buu"
            )
        report = build_from_sources(
            folders,
            out,
            settings,
            key=load_key(key_file),
            imaging=imaging_options(max_side, max_pixels),
            workers=workers,
            catalog_dir=catalog_out,
            progress=True,
            on_catalog=lambda built, where: print_catalog_report(built, where),
            conversions=_ray_conversions(ray),
            remote_encoding=_ray_encoding(ray, settings, ray_actors),
        ).benchmark
    elif not catalog.is_dir():
        raise SpineBenchError(f"{catalog}: no such catalogue folder")
    else:
        report = build_benchmark(
            catalog, out, settings, progress=True, remote_encoding=_ray_encoding(ray, settings, ray_actors)
        )
    _print_build(report, out)


def _ray_conversions(address: str | None) -> ConversionExecutor | None:
    if address is None:
        return None
    from spinebench.cluster import RayConversions, connect

    connect(address)  # a missing Ray or an unreachable cluster is said before anything is catalogued
    return RayConversions(address)


def _ray_encoding(address: str | None, settings: BuildSettings, actors: int | None) -> CatalogEncoding | None:
    if address is None or settings.embeddings is not None:
        return None
    from spinebench.cluster import RayEncoding

    return RayEncoding(
        address, settings.encoder, device=settings.device, batch_size=settings.batch_size, actors=actors
    )


def _print_build(report: BuildReport, out: Path) -> None:
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
            f"Distractor hardness: chosen {hardness.chosen:.4f} vs random {hardness.random:.4f} "
            f"({hardness.difference:+.4f}) over {hardness.questions} SDD questions; protocol "
            f"{report.protocol}",
            markup=False,
        )
    if report.synthetic:
        console.print("[bold yellow]Built from SYNTHETIC phantoms: its scores mean nothing medically.[/]")
    console.print(
        f"{len(report.skipped)} questions or images skipped (listed in {out / BUILD_REPORT_FILE}); "
        f"dataset card: {out / CARD_FILE}; embeddings (to rebuild without an encoder): {report.embeddings}",
        markup=False,
        soft_wrap=True,
    )
