"""A small synthetic CSXA in its native layout: phantom lateral cervical X-rays (PNG), LabelMe keypoint JSONs
and a metadata table (CSV, or XLSX when asked), with one unknown class and one row whose image is missing.

    OUT/README.txt                 says SYNTHETIC
    OUT/metadata.csv | .xlsx       Image, Gender, Age, Group, Pixel equivalent, Curvature, C2-C7 Cobb angle
    OUT/images/<id>.png + .json

Same seed, same bytes: images carry no metadata chunks, the workbook no timestamps.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from spinebench.errors import SpineBenchError
from spinebench.synth._files import prepare_synthetic_folder
from spinebench.synth.phantoms import PhantomSpec, render_phantom

TABLE_STEM: Final = "metadata"
HEADER: Final = (
    "Image",
    "Gender",
    "Age",
    "Group",
    "Pixel equivalent (mm/pixel)",
    "Curvature",
    "C2-C7 Cobb angle",
)
# Written class -> disease drawn, and the range of the C2-C7 Cobb angle (degrees, lordosis positive).
CLASSES: Final[dict[str, tuple[str, tuple[float, float]]]] = {
    "Lordosis": ("Cervical lordosis", (12.0, 35.0)),
    "Straight": ("Straight cervical vertebrae", (-4.0, 4.0)),
    "Sigmoid": ("Sigmoid cervical vertebrae", (-3.0, 8.0)),
    "Kyphosis": ("Cervical kyphosis", (-25.0, -6.0)),
}
UNKNOWN_CLASS: Final = "Scoliosis"
README: Final = (
    "SYNTHETIC DATA - not the Cervical Spine X-ray Atlas.\n"
    "Procedural phantom images written by spinebench (write_synthetic_csxa, seed={seed}) in the CSXA\n"
    "layout, for tests and demos. No person is depicted; no value here is clinical.\n"
)
_VERTEBRAE: Final = ("C2", "C3", "C4", "C5", "C6", "C7", "T1")  # the phantom's seven bodies, top to bottom
_FIXED_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class SyntheticCsxaImage:
    """One table row of the synthetic CSXA: the class as written, the disease drawn (None: unknown class)."""

    image_id: str
    label: str
    disease: str | None
    has_image: bool
    sex: str
    age: int
    group: str
    pixel_mm: float
    cobb: float
    seed: int


def plan_synthetic_csxa(*, seed: int = 0, images: int = 16) -> tuple[SyntheticCsxaImage, ...]:
    """The rows `write_synthetic_csxa` writes: `images` labelled images (all four classes), then one image
    of an unknown class and one row whose image is missing."""
    if images < len(CLASSES):
        raise ValueError(
            f"a synthetic CSXA needs at least {len(CLASSES)} images (one per class), not {images}"
        )
    rng = np.random.default_rng(seed)
    labels = [list(CLASSES)[index % len(CLASSES)] for index in range(images)]
    order = rng.permutation(images)
    written = [labels[int(index)] for index in order] + [UNKNOWN_CLASS, "Lordosis"]
    rows = []
    for index, label in enumerate(written):
        disease, (low, high) = CLASSES.get(label, (None, (-10.0, 10.0)))
        rows.append(
            SyntheticCsxaImage(
                image_id=f"{index + 1:04d}",
                label=label,
                disease=disease,
                has_image=index != len(written) - 1,
                sex=str(rng.choice(["F", "M"])),
                age=int(rng.integers(18, 80)),
                group=str(rng.choice(["Asymptomatic", "Symptomatic"])),
                pixel_mm=round(float(rng.uniform(0.1, 0.15)), 4),
                cobb=round(float(rng.uniform(low, high)), 1),
                seed=int(rng.integers(2**31)),
            )
        )
    return tuple(rows)


def write_synthetic_csxa(
    out: Path, *, seed: int = 0, images: int = 16, xlsx: bool = False, size: int = 160
) -> Path:
    """Write a synthetic CSXA into `out` (new, empty, or a previous synthetic folder) and return `out`.

    `read_csxa(out)` then yields `images` images and skips two rows: the unknown class "Scoliosis" and the
    last row, whose image is missing. `xlsx=True` writes metadata.xlsx (needs openpyxl) instead of CSV.
    """
    plan = plan_synthetic_csxa(seed=seed, images=images)
    prepare_synthetic_folder(out, README.format(seed=seed))
    image_folder = out / "images"
    image_folder.mkdir()
    for row in plan:
        if row.has_image:
            _write_image(image_folder, row, size)
    table: list[list[str | int | float]] = [list(HEADER), *(list(_table_cells(row)) for row in plan)]
    if xlsx:
        (out / f"{TABLE_STEM}.xlsx").write_bytes(_xlsx_bytes(table))
    else:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(table)
        # Excel's "CSV UTF-8" has a byte-order mark; readers must cope with it.
        (out / f"{TABLE_STEM}.csv").write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return out


def _table_cells(row: SyntheticCsxaImage) -> tuple[str | int | float, ...]:
    return (row.image_id, row.sex, row.age, row.group, row.pixel_mm, row.label, row.cobb)


def _write_image(folder: Path, row: SyntheticCsxaImage, size: int) -> None:
    drawn = row.disease or "Straight cervical vertebrae"  # an unknown class still needs some picture
    gray = render_phantom(PhantomSpec(drawn, size=size, seed=row.seed)).convert("L")
    gray.save(folder / f"{row.image_id}.png", format="PNG", compress_level=6)  # PIL writes no tIME chunk
    shapes: list[dict[str, object]] = [
        {
            "label": label,
            "points": [[x, y]],
            "group_id": None,
            "description": "",
            "shape_type": "point",
            "flags": {},
        }
        for label, x, y in _keypoints(np.asarray(gray))
    ]
    labelme: dict[str, object] = {
        "version": "5.2.1",
        "flags": {},
        "shapes": shapes,
        "imagePath": f"{row.image_id}.png",
        "imageData": None,
        "imageHeight": size,
        "imageWidth": size,
    }
    (folder / f"{row.image_id}.json").write_text(json.dumps(labelme, indent=2) + "\n", encoding="utf-8")


def _keypoints(gray: np.ndarray) -> list[tuple[str, float, float]]:
    """23 corner points of the drawn vertebral bodies (anterior = right): C2 lower, C3-C7 all four, T1 upper
    anterior. Heights follow the phantom's layout; each body's left and right sides are found in the pixels,
    since the phantom shifts the column by a random amount."""
    size = gray.shape[0]
    top, step = 0.12 * size, 0.78 * size / len(_VERTEBRAE)
    half_h = 0.38 * step
    points: list[tuple[str, float, float]] = []
    for index, name in enumerate(_VERTEBRAE):
        cy = top + (index + 0.5) * step
        band = gray[int(cy - half_h / 2) : int(cy + half_h / 2) + 1].mean(axis=0)
        bright = np.flatnonzero(band > 110)  # bodies are drawn at 170-200 on a background of 30
        left, right = (float(bright[0]), float(bright[-1])) if bright.size else (size / 2, size / 2)
        corners = {
            "UA": (right, cy - half_h),
            "UP": (left, cy - half_h),
            "LA": (right, cy + half_h),
            "LP": (left, cy + half_h),
        }
        keep = ("LA", "LP") if name == "C2" else ("UA",) if name == "T1" else tuple(corners)
        points.extend(
            (f"{name}-{corner}", round(corners[corner][0], 1), round(corners[corner][1], 1))
            for corner in keep
        )
    return points


def _xlsx_bytes(table: list[list[str | int | float]]) -> bytes:
    try:
        openpyxl = importlib.import_module("openpyxl")
    except ModuleNotFoundError as error:
        raise SpineBenchError("writing an .xlsx table needs openpyxl (pip install openpyxl)") from error
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "CSXA"
    for row in table:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _without_timestamps(buffer.getvalue())


def _without_timestamps(data: bytes) -> bytes:
    """The workbook with fixed zip entry times and document dates: openpyxl stamps both with the clock."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2000-01-01T00:00:00Z", content)
            target.writestr(zipfile.ZipInfo(info.filename, _FIXED_ZIP_TIME), content, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()
