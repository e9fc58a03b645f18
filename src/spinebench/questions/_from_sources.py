"""Source folders -> catalogue -> benchmark, in one call: what `spinebench build --vindr ...`, the demo and a
distributed build run.

The catalogue (with its build report, which names source files) goes beside the benchmark, by default in
`<BENCH>.catalog/`, never inside the folder users share. Settings and the output folder are checked before
the (long) cataloguing, and whether the sources are synthetic phantoms travels through the catalogue to the
card.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from spinebench.benchmark import refuse_existing_benchmark
from spinebench.catalog import CatalogReport, ConversionExecutor, SourceFolders, build_catalog
from spinebench.embeddings import CatalogEncoding
from spinebench.imaging import ImagingOptions
from spinebench.questions._build import (
    BuildError,
    BuildReport,
    BuildSettings,
    build_benchmark,
    check_settings,
)

CATALOG_SUFFIX: Final = ".catalog"


@dataclass(frozen=True, slots=True)
class SourcesBuild:
    catalog_dir: Path
    catalog: CatalogReport
    benchmark: BuildReport


def default_catalog_dir(out: Path) -> Path:
    """`<BENCH>.catalog`, beside the benchmark folder."""
    return out.with_name(out.name + CATALOG_SUFFIX)


def build_from_sources(
    folders: SourceFolders,
    out: Path,
    settings: BuildSettings | None = None,
    *,
    key: bytes,
    imaging: ImagingOptions | None = None,
    workers: int | None = None,
    catalog_dir: Path | None = None,
    progress: bool = False,
    on_catalog: Callable[[CatalogReport, Path], None] | None = None,
    conversions: ConversionExecutor | None = None,
    remote_encoding: CatalogEncoding | None = None,
) -> SourcesBuild:
    """Catalogues `folders` into `catalog_dir` (default `<out>.catalog`), then builds the benchmark `out`.

    `on_catalog` is called between the two stages (the CLI prints the catalogue's summary there).
    `settings.synthetic` None: detected from the folders (`spinebench synth` marks its own).
    `conversions` and `remote_encoding` run the decoding and the embedding elsewhere (a Ray cluster); the
    outputs are written here and are the same as a local build's.
    """
    settings = settings or BuildSettings()
    readers = folders.readers()  # no source given: a clear error before anything is made
    check_settings(settings)
    refuse_existing_benchmark(out)
    catalog_dir = catalog_dir or default_catalog_dir(out)
    if catalog_dir.resolve().is_relative_to(out.resolve()):
        raise BuildError(
            f"{catalog_dir}: the catalogue cannot go inside the benchmark folder {out} (its build report "
            "names source files); put it beside it"
        )
    synthetic = settings.synthetic if settings.synthetic is not None else folders.synthetic()
    catalog = build_catalog(
        readers,
        catalog_dir,
        key=key,
        imaging=imaging,
        workers=workers,
        progress=progress,
        synthetic=synthetic,
        executor=conversions,
    )
    if on_catalog is not None:
        on_catalog(catalog, catalog_dir)
    built = build_benchmark(
        catalog_dir,
        out,
        dataclasses.replace(settings, synthetic=synthetic),
        progress=progress,
        remote_encoding=remote_encoding,
    )
    return SourcesBuild(catalog_dir, catalog, built)
