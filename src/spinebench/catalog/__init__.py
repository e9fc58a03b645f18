"""The catalogue: one row per standardised image with normalised labels, built from the source datasets."""

from spinebench.catalog._build import (
    CATALOG_NAME,
    REPORT_NAME,
    CatalogError,
    CatalogReport,
    ConversionExecutor,
    Reader,
    StandardisedPNG,
    build_catalog,
    catalog_synthetic,
    count_diseases,
    decoder_versions,
    read_catalog,
    standardised_png,
    standardised_png_or_reason,
)
from spinebench.catalog._entry import CatalogEntry
from spinebench.catalog._sources import SourceFolders, default_key_file, load_key

__all__ = [
    "CATALOG_NAME",
    "REPORT_NAME",
    "CatalogEntry",
    "CatalogError",
    "CatalogReport",
    "ConversionExecutor",
    "Reader",
    "SourceFolders",
    "StandardisedPNG",
    "build_catalog",
    "catalog_synthetic",
    "count_diseases",
    "decoder_versions",
    "default_key_file",
    "load_key",
    "read_catalog",
    "standardised_png",
    "standardised_png_or_reason",
]
