"""Decoding limits: a DICOM's declared size is checked before any pixel is decoded."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pydicom
import pytest

from spinebench.imaging import DEFAULT_MAX_PIXELS, ImageDecodeError, ImagingOptions, standardise
from spinebench.synth.dicom import write_dicom

IDS = {
    "patient_id": "PX1",
    "patient_name": "Roe^Rita",
    "study_uid": "1.2.826.0.1.9",
    "series_uid": "1.2.826.0.1.9.2",
    "sop_uid": "1.2.826.0.1.9.2.3",
}


def _dicom(path: Path, *, compression: str | None = None) -> Path:
    pixels = (np.arange(96 * 64, dtype=np.uint16).reshape(96, 64) * 7) % 4096
    write_dicom(path, pixels, compression=compression, **IDS)  # type: ignore[arg-type]
    return path


def test_a_dicom_declaring_a_huge_image_is_refused_before_decoding(tmp_path: Path) -> None:
    path = _dicom(tmp_path / "bomb.dcm", compression="rle")
    ds = pydicom.dcmread(path)
    ds.Rows, ds.Columns = 30000, 30000  # what a 28 MB decompression bomb declares
    ds.save_as(path)
    started = time.monotonic()
    with pytest.raises(
        ImageDecodeError, match=r"bomb\.dcm: too large to decode.*30000 x 30000.*--max-pixels"
    ):
        standardise(path)
    assert time.monotonic() - started < 5
    assert DEFAULT_MAX_PIXELS < 30000 * 30000


def test_the_pixel_cap_is_configurable(tmp_path: Path) -> None:
    path = _dicom(tmp_path / "small.dcm")
    assert standardise(path).size == (64, 96)
    with pytest.raises(ImageDecodeError, match="too large"):
        standardise(path, options=ImagingOptions(max_pixels=96 * 64 - 1))
    assert standardise(path, options=ImagingOptions(max_pixels=96 * 64)).size == (64, 96)
