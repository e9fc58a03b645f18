"""A small synthetic BUU-LSPINE in its native layout: phantom lumbar X-rays (JPEG) in AP/ and LA/, each with a
headerless edge CSV (x1, y1, x2, y2, label), half the patients with spondylolisthesis at known levels, and one
CSV with a wrong row count.

    OUT/README.txt                     says SYNTHETIC
    OUT/AP/<id>-<sex>-<age>Y0.jpg/.csv 10 rows: upper and lower edges of L1..L5
    OUT/LA/<id>-<sex>-<age>Y1.jpg/.csv 11 rows: the same and the upper edge of S1

Same seed, same bytes: JPEGs are saved with fixed settings and no EXIF.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from spinebench.synth._files import prepare_synthetic_folder
from spinebench.synth.phantoms import PhantomSpec, render_phantom
from spinebench.taxonomy import HEALTHY, LEVELS

DISEASE: Final = "Spondylolisthesis"
FOLDERS: Final[dict[str, tuple[int, int]]] = {"AP": (0, 10), "LA": (1, 11)}  # folder -> (view digit, rows)
# The release's slip classes: 1/2 lateral slip left/right (AP), 3/4 antero-/retrolisthesis (LA).
SLIP_LABELS: Final[dict[str, tuple[int, int]]] = {"AP": (1, 2), "LA": (3, 4)}
README: Final = (
    "SYNTHETIC DATA - not BUU-LSPINE.\n"
    "Procedural phantom images written by spinebench (write_synthetic_buu, seed={seed}) in the BUU-LSPINE\n"
    "layout, for tests and demos. No person is depicted; no value here is clinical.\n"
)


@dataclass(frozen=True, slots=True)
class SyntheticBuuPatient:
    """One synthetic patient: an AP and an LA image showing the same slipped levels (none: Healthy)."""

    patient: str
    sex: str
    age: int
    levels: tuple[str, ...]
    seed: int

    def stem(self, folder: str) -> str:
        return f"{self.patient}-{self.sex}-{self.age:03d}Y{FOLDERS[folder][0]}"


def plan_synthetic_buu(*, seed: int = 0, patients: int = 8) -> tuple[SyntheticBuuPatient, ...]:
    """The patients `write_synthetic_buu` writes: even positions slipped (the first at two levels), odd
    positions Healthy."""
    if patients < 2:
        raise ValueError(
            f"a synthetic BUU-LSPINE needs at least 2 patients (slipped and healthy), not {patients}"
        )
    rng = np.random.default_rng(seed)
    numbers = sorted(int(n) for n in rng.choice(np.arange(1, 4000), size=patients, replace=False))
    plan = []
    for index, number in enumerate(numbers):
        levels: tuple[str, ...] = ()
        if index % 2 == 0:
            # Slips are commonest low in the lumbar spine.
            picked = rng.choice(
                len(LEVELS), size=2 if index == 0 else 1, replace=False, p=[0.1, 0.1, 0.2, 0.3, 0.3]
            )
            levels = tuple(LEVELS[i] for i in sorted(int(i) for i in picked))
        sex = str(rng.choice(["F", "M"]))
        plan.append(
            SyntheticBuuPatient(
                f"{number:04d}", sex, int(rng.integers(18, 86)), levels, int(rng.integers(2**31))
            )
        )
    return tuple(plan)


def write_synthetic_buu(out: Path, *, seed: int = 0, patients: int = 8, size: int = 160) -> Path:
    """Write a synthetic BUU-LSPINE into `out` (new, empty, or a previous synthetic folder) and return `out`.

    `read_buu(out)` then yields 2 * `patients` - 1 images and one skip: the last patient's LA CSV lacks its S1
    row (10 rows instead of 11).
    """
    plan = plan_synthetic_buu(seed=seed, patients=patients)
    prepare_synthetic_folder(out, README.format(seed=seed))
    rng = np.random.default_rng([seed, 1])  # slip directions; separate from the plan's stream
    for folder, (digit, row_count) in FOLDERS.items():
        directory = out / folder
        directory.mkdir()
        for patient in plan:
            finding = DISEASE if patient.levels else HEALTHY
            spec = PhantomSpec(finding, patient.levels, size, seed=patient.seed + digit)
            stem = patient.stem(folder)
            # Grayscale baseline JPEG, fixed quality, no EXIF: identical bytes for identical pixels.
            render_phantom(spec).convert("L").save(directory / f"{stem}.jpg", format="JPEG", quality=90)
            label = int(rng.choice(SLIP_LABELS[folder]))
            rows = _edge_rows(patient.levels, size, row_count, label)
            if folder == "LA" and patient is plan[-1]:
                rows = rows[:-1]  # the deliberately broken record
            text = "".join(",".join(row) + "\n" for row in rows)
            (directory / f"{stem}.csv").write_text(text, encoding="utf-8")
    return out


def edge_lines(levels: tuple[str, ...], size: int) -> list[tuple[float, float, float, float]]:
    """Upper and lower edge (x1, y1, x2, y2) of L1..L5 and the sacrum as the phantom draws them.

    Mirrors the layout of phantoms._lumbar_xray: six bodies, each one below a slipped level shifted right.
    A test checks these lines lie on the drawn bodies, so a change to the phantom fails loudly.
    """
    affected = {LEVELS.index(level) for level in levels}
    top, step = 0.08 * size, 0.84 * size / 6
    half_w, half_h = 0.16 * size, 0.34 * step
    shift, lines = 0.0, []
    for index in range(6):
        if index - 1 in affected:
            shift += 0.08 * size
        cx, cy = size * 0.5 + shift, top + (index + 0.5) * step
        lines.append((cx - half_w, cy - half_h, cx + half_w, cy - half_h))
        lines.append((cx - half_w, cy + half_h, cx + half_w, cy + half_h))
    return lines


def _edge_rows(levels: tuple[str, ...], size: int, count: int, label: int) -> list[list[str]]:
    # A slip at Lk/Lk+1 is flagged on both edges of Lk (rows 2k-2, 2k-1): the mapping sources.buu reads back.
    flagged = {row for level in levels for row in (2 * LEVELS.index(level), 2 * LEVELS.index(level) + 1)}
    lines = edge_lines(levels, size)[:count]
    return [
        [f"{value:.4f}" for value in line] + [str(label if row in flagged else 0)]
        for row, line in enumerate(lines)
    ]
