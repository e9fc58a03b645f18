"""One row of `catalog.parquet`: a standardised image with its normalised labels and pseudonyms."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from spinebench.sources import Finding, Grade
from spinebench.taxonomy import HEALTHY


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """`image_id` is the sha256 of the standardised PNG; `image` its path relative to the catalogue folder.

    `record`, `patient` and `study` are keyed hashes of the dataset's identifiers (never the identifiers).
    No findings means Healthy; `diseases` lists the finding names, or ("Healthy",). `grades` are the
    severities marked on the image, their points scaled to the standardised image; a `graded_only` entry
    serves severity grading alone (its findings are not known to be complete: see `SourceImage`).
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
    grades: tuple[Grade, ...] = ()
    graded_only: bool = False

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
_GRADE = pa.struct(
    [
        pa.field("condition", pa.string(), nullable=False),
        pa.field("level", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("x", pa.float64()),
        pa.field("y", pa.float64()),
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
        pa.field("grades", pa.list_(_GRADE), nullable=False),
        pa.field("graded_only", pa.bool_(), nullable=False),
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
        "grades": [
            [
                {"condition": g.condition, "level": g.level, "severity": g.severity, "x": g.x, "y": g.y}
                for g in e.grades
            ]
            for e in entries
        ],
        "graded_only": [e.graded_only for e in entries],
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
            # Catalogues written before severity grading have neither column.
            grades=tuple(
                Grade(g["condition"], g["level"], g["severity"], g["x"], g["y"])
                for g in row.get("grades") or ()
            ),
            graded_only=bool(row.get("graded_only", False)),
        )
        for row in rows
    ]
