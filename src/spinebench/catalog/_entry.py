"""One row of `catalog.parquet`: a standardised image with its normalised labels and pseudonyms."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from spinebench.sources import Finding
from spinebench.taxonomy import HEALTHY


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """`image_id` is the sha256 of the standardised PNG; `image` its path relative to the catalogue folder.

    `record`, `patient` and `study` are keyed hashes of the dataset's identifiers (never the identifiers).
    No findings means Healthy; `diseases` lists the finding names, or ("Healthy",).
    """

    image_id: str
    image: str
    source: str
    modality: str
    view: str
    findings: tuple[Finding, ...]
    record: str
    patient: str | None
    study: str | None
    width: int
    height: int

    @property
    def diseases(self) -> tuple[str, ...]:
        return tuple(sorted({f.disease for f in self.findings})) or (HEALTHY,)


_FINDING = pa.struct(
    [
        pa.field("disease", pa.string(), nullable=False),
        pa.field("levels", pa.list_(pa.string()), nullable=False),
        pa.field("severity", pa.string()),
    ]
)
CATALOG_SCHEMA = pa.schema(
    [
        pa.field("image_id", pa.string(), nullable=False),
        pa.field("image", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("modality", pa.string(), nullable=False),
        pa.field("view", pa.string(), nullable=False),
        pa.field("diseases", pa.list_(pa.string()), nullable=False),
        pa.field("findings", pa.list_(_FINDING), nullable=False),
        pa.field("record", pa.string(), nullable=False),
        pa.field("patient", pa.string()),
        pa.field("study", pa.string()),
        pa.field("width", pa.int32(), nullable=False),
        pa.field("height", pa.int32(), nullable=False),
    ]
)


def entries_to_table(entries: list[CatalogEntry]) -> pa.Table:
    rows = {
        "image_id": [e.image_id for e in entries],
        "image": [e.image for e in entries],
        "source": [e.source for e in entries],
        "modality": [e.modality for e in entries],
        "view": [e.view for e in entries],
        "diseases": [list(e.diseases) for e in entries],
        "findings": [
            [{"disease": f.disease, "levels": list(f.levels), "severity": f.severity} for f in e.findings]
            for e in entries
        ],
        "record": [e.record for e in entries],
        "patient": [e.patient for e in entries],
        "study": [e.study for e in entries],
        "width": [e.width for e in entries],
        "height": [e.height for e in entries],
    }
    return pa.Table.from_pydict(rows, schema=CATALOG_SCHEMA)


def entries_from_table(table: pa.Table) -> list[CatalogEntry]:
    rows = table.to_pylist()
    return [
        CatalogEntry(
            image_id=row["image_id"],
            image=row["image"],
            source=row["source"],
            modality=row["modality"],
            view=row["view"],
            findings=tuple(Finding(f["disease"], tuple(f["levels"]), f["severity"]) for f in row["findings"]),
            record=row["record"],
            patient=row["patient"],
            study=row["study"],
            width=row["width"],
            height=row["height"],
        )
        for row in rows
    ]
