"""Procedural phantom spine images whose look depends on the finding.

They are not anatomy; they only make visual similarity meaningful: cervical curvature classes differ by the
curve of the column, lumbar X-ray findings by one altered vertebra or disc, MRI-like findings by a narrowed
bright canal. Every random choice comes from the seed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from spinebench.taxonomy import HEALTHY, LEVELS

_MRI_FINDINGS = {"Foraminal stenosis", "Subarticular stenosis", "Spinal canal stenosis"}
_CERVICAL_CURVES: dict[str, Callable[[float], float]] = {
    "Cervical lordosis": lambda t: 0.18 * math.sin(math.pi * t),
    "Straight cervical vertebrae": lambda t: 0.0,
    "Cervical kyphosis": lambda t: -0.16 * math.sin(math.pi * t),
    "Sigmoid cervical vertebrae": lambda t: 0.14 * math.sin(2 * math.pi * t),
}


@dataclass(frozen=True, slots=True)
class PhantomSpec:
    """What to draw: a finding (a disease name or Healthy), the affected lumbar levels, size and seed.

    `modality` "mri" draws an MRI-like slice for any finding (a healthy one included); by default the
    finding decides (the three stenoses are MRI findings, everything else X-ray).
    """

    finding: str
    levels: tuple[str, ...] = ()
    size: int = 160
    seed: int = 0
    modality: str | None = None


def render_phantom(spec: PhantomSpec) -> Image.Image:
    """An RGB phantom image for the finding."""
    rng = np.random.default_rng(spec.seed)
    if spec.finding in _CERVICAL_CURVES:
        gray = _cervical(spec, rng)
    elif spec.finding in _MRI_FINDINGS or spec.modality == "mri":
        gray = _lumbar_mri(spec, rng)
    else:
        gray = _lumbar_xray(spec, rng)
    noise = rng.normal(0.0, 6.0, size=(spec.size, spec.size))
    pixels = np.clip(np.asarray(gray, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, mode="L").convert("RGB")


def _affected(spec: PhantomSpec, rng: np.random.Generator) -> set[int]:
    if spec.levels:
        return {LEVELS.index(level) for level in spec.levels}
    if spec.finding == HEALTHY:
        return set()
    return {int(rng.integers(2, len(LEVELS)))}


def _cervical(spec: PhantomSpec, rng: np.random.Generator) -> Image.Image:
    size = spec.size
    image = Image.new("L", (size, size), 30)
    draw = ImageDraw.Draw(image)
    curve = _CERVICAL_CURVES[spec.finding]
    count, top, bottom = 7, 0.12 * size, 0.9 * size
    step = (bottom - top) / count
    jitter = rng.uniform(-0.03, 0.03) * size
    for index in range(count):
        t = (index + 0.5) / count
        cx = size * 0.45 + curve(t) * size + jitter
        cy = top + (index + 0.5) * step
        half_w, half_h = 0.11 * size, 0.38 * step
        draw.rectangle((cx - half_w, cy - half_h, cx + half_w, cy + half_h), fill=int(rng.integers(170, 200)))
    return image.filter(ImageFilter.GaussianBlur(1.2))


def _lumbar_xray(spec: PhantomSpec, rng: np.random.Generator) -> Image.Image:
    size = spec.size
    image = Image.new("L", (size, size), 25)
    draw = ImageDraw.Draw(image)
    affected = _affected(spec, rng)
    count, top = 6, 0.08 * size  # L1..L5 and the sacrum
    step = 0.84 * size / count
    shift = 0.0
    for index in range(count):
        cx, cy = size * 0.5, top + (index + 0.5) * step
        half_w, half_h = 0.16 * size, 0.34 * step
        level_above = index - 1  # the disc between vertebra index-1 and index
        if spec.finding == "Spondylolisthesis" and level_above in affected:
            shift += 0.08 * size
        if spec.finding == "Disc space narrowing" and level_above in affected:
            cy -= 0.1 * step
        if spec.finding == "Vertebral collapse" and index - 1 in affected:
            half_h *= 0.5
        cx += shift
        shade = int(rng.integers(175, 205))
        draw.rectangle((cx - half_w, cy - half_h, cx + half_w, cy + half_h), fill=shade)
        if spec.finding == "Osteophytes" and index - 1 in affected:
            for sign in (-1, 1):
                x = cx + sign * half_w
                draw.polygon(
                    [(x, cy + half_h), (x + sign * 0.07 * size, cy + half_h + 2), (x, cy + half_h - 5)],
                    fill=shade,
                )
    return image.filter(ImageFilter.GaussianBlur(1.0))


def _lumbar_mri(spec: PhantomSpec, rng: np.random.Generator) -> Image.Image:
    size = spec.size
    image = Image.new("L", (size, size), 12)
    draw = ImageDraw.Draw(image)
    affected = _affected(spec, rng)
    step = 0.84 * size / 6
    canal_x = size * 0.62
    for index in range(6):
        cy = 0.08 * size + (index + 0.5) * step
        draw.rectangle(
            (size * 0.28, cy - 0.33 * step, size * 0.52, cy + 0.33 * step), fill=int(rng.integers(90, 120))
        )
    for index in range(5):
        disc_y = 0.08 * size + (index + 1) * step
        width = 0.07 * size
        if index in affected:
            width *= {"Spinal canal stenosis": 0.3, "Subarticular stenosis": 0.55}.get(spec.finding, 1.0)
        draw.rectangle(
            (canal_x - width / 2, disc_y - step / 2, canal_x + width / 2, disc_y + step / 2), fill=220
        )
        foramen = 0.05 * size * (0.35 if spec.finding == "Foraminal stenosis" and index in affected else 1.0)
        draw.ellipse(
            (size * 0.78 - foramen, disc_y - foramen, size * 0.78 + foramen, disc_y + foramen), fill=200
        )
    return image.filter(ImageFilter.GaussianBlur(0.8))
