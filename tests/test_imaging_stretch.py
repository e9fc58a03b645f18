"""The percentile stretch of integer images counts levels instead of sorting the pixels, and gives the same
floats as np.percentile of the pixels' values (the stored bytes must not change)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spinebench.imaging import (
    ImagingOptions,
    _level_bounds,
    _level_counts,
    _sample_bounds,
    standardise,
)
from spinebench.synth.dicom import write_dicom

PERCENTILES = [(0.5, 99.5), (0.0, 100.0), (2.0, 98.0), (10.0, 90.0), (1.0 / 3.0, 50.0), (25.0, 75.0)]


def _case(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Stored levels and the float value of each level: sparse tails, repeated and negative values."""
    rng = np.random.default_rng(seed)
    low = int(rng.integers(-2000, 2000))
    size = int(rng.integers(1, 400))
    count = int(rng.integers(1, 3000))
    levels = low + rng.integers(0, size, count) ** int(rng.integers(1, 3)) // max(
        1, size ** int(rng.integers(0, 2))
    )
    levels = np.clip(levels, low, low + size - 1)
    slope = float(rng.choice([1.0, -0.37, 2.5, 1e-3]))
    values = slope * np.arange(low, low + size, dtype=np.float64) + float(rng.normal(0, 100))
    if seed % 7 == 0:
        values = np.round(values / 10.0) * 10.0  # levels sharing one value
    elif seed % 3 == 0:
        values = rng.normal(0.0, 1e3, size) * rng.uniform(0.1, 10.0, size)  # any table (a modality LUT)
    return levels.astype(np.int64), values, low


@pytest.mark.parametrize("seed", range(300))
def test_level_counts_give_numpys_percentiles(seed: int) -> None:
    levels, values, low = _case(seed)
    counts = _level_counts(levels, low, values.size)
    assert int(counts.sum()) == levels.size
    for percentiles in PERCENTILES:
        expected = _sample_bounds(values[levels - low], percentiles)
        assert _level_bounds(values, counts, percentiles) == expected


@pytest.mark.parametrize("percentiles", PERCENTILES)
def test_stretch_of_a_dicom_is_numpys_percentile_stretch(
    percentiles: tuple[float, float], tmp_path: Path
) -> None:
    rng = np.random.default_rng(1)
    pixels = (rng.gamma(2.0, 300.0, (120, 90)) + 100).clip(0, 4095).astype(np.uint16)
    path = tmp_path / "a.dcm"
    ids = {
        "patient_id": "P",
        "patient_name": "D^J",
        "study_uid": "1.2",
        "series_uid": "1.2.1",
        "sop_uid": "1.2.1.1",
    }
    write_dicom(path, pixels, rescale=(0.7, -50.0), **ids)  # type: ignore[arg-type]
    grey = np.asarray(standardise(path, options=ImagingOptions(fallback_percentiles=percentiles)))[:, :, 0]
    values = 0.7 * pixels.astype(np.float64) - 50.0
    low, high = (float(v) for v in np.percentile(values, percentiles))
    expected = np.rint(np.clip((values - low) / (high - low), 0.0, 1.0) * 255.0).astype(np.uint8)
    assert np.array_equal(grey, expected)
