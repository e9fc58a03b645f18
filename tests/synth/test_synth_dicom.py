"""write_dicom: valid Part-10 files, exact pixels, realistic patient tags, byte-identical reruns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from numpy.typing import NDArray
from pydicom.uid import (
    ComputedRadiographyImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    MRImageStorage,
    RLELossless,
    SecondaryCaptureImageStorage,
)

from spinebench.synth.dicom import DicomWriteError, write_dicom

IDS: dict[str, Any] = {
    "patient_id": "VD-004512",
    "patient_name": "Nguyen^Thi^Lan",
    "study_uid": "1.2.826.0.1.3680043.10.1",
    "series_uid": "1.2.826.0.1.3680043.10.1.1",
    "sop_uid": "1.2.826.0.1.3680043.10.1.1.1",
}


def ramp(rows: int = 40, cols: int = 36, top: int = 4095) -> NDArray[np.uint16]:
    y, x = np.mgrid[0:rows, 0:cols]
    return ((x * 7 + y * 13) % (top + 1)).astype(np.uint16)


def test_file_is_valid_part10_with_realistic_patient_and_pixel_tags(tmp_path: Path) -> None:
    path = tmp_path / "image.dicom"
    write_dicom(path, ramp(), window=(2000.0, 3000.0), instance_number=7, **IDS)
    data = path.read_bytes()
    assert data[:128] == b"\0" * 128 and data[128:132] == b"DICM"
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.SOPClassUID == ds.file_meta.MediaStorageSOPClassUID == DigitalXRayImageStorageForPresentation
    assert ds.SOPInstanceUID == ds.file_meta.MediaStorageSOPInstanceUID == IDS["sop_uid"]
    assert (ds.StudyInstanceUID, ds.SeriesInstanceUID) == (IDS["study_uid"], IDS["series_uid"])
    assert (str(ds.PatientName), ds.PatientID) == (IDS["patient_name"], IDS["patient_id"])
    assert len(ds.PatientBirthDate) == 8 and len(ds.StudyDate) == 8 and ds.PatientBirthDate < ds.StudyDate
    assert ds.Modality == "DX" and ds.InstanceNumber == 7
    assert (ds.Rows, ds.Columns, ds.BitsAllocated, ds.BitsStored, ds.HighBit) == (40, 36, 16, 12, 11)
    assert ds.PhotometricInterpretation == "MONOCHROME2" and ds.PixelRepresentation == 0
    assert (float(ds.WindowCenter), float(ds.WindowWidth)) == (2000.0, 3000.0)
    assert "SYNTHETIC" in ds.ImageComments
    assert np.array_equal(ds.pixel_array, ramp())


@pytest.mark.parametrize(
    ("modality", "sop_class"),
    [
        ("DX", DigitalXRayImageStorageForPresentation),
        ("CR", ComputedRadiographyImageStorage),
        ("MR", MRImageStorage),
        ("OT", SecondaryCaptureImageStorage),
    ],
)
def test_sop_class_follows_modality(tmp_path: Path, modality: str, sop_class: str) -> None:
    path = tmp_path / "m.dcm"
    write_dicom(path, ramp(), modality=modality, **IDS)
    assert pydicom.dcmread(path).SOPClassUID == sop_class


@pytest.mark.parametrize("compression", [None, "rle", "jpeg2000", "jpeg-baseline"])
def test_same_arguments_give_the_same_bytes(tmp_path: Path, compression: Any) -> None:
    first, second = tmp_path / "a.dcm", tmp_path / "b.dcm"
    for path in (first, second):
        write_dicom(path, ramp(), photometric="MONOCHROME1", compression=compression, **IDS)
    assert first.read_bytes() == second.read_bytes()


def test_different_patients_get_different_derived_dates(tmp_path: Path) -> None:
    dates = set()
    for index in range(5):
        path = tmp_path / f"{index}.dcm"
        write_dicom(path, ramp(), **{**IDS, "patient_id": f"P{index:04d}"})
        dates.add(pydicom.dcmread(path).PatientBirthDate)
    assert len(dates) >= 4


@pytest.mark.parametrize(("compression", "syntax"), [("rle", RLELossless), ("jpeg2000", JPEG2000Lossless)])
def test_lossless_compression_round_trips_exactly(tmp_path: Path, compression: Any, syntax: str) -> None:
    path = tmp_path / "c.dcm"
    write_dicom(path, ramp(), modality="MR", compression=compression, **IDS)
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == syntax
    assert ds["PixelData"].is_undefined_length  # encapsulated
    assert ds.SOPInstanceUID == IDS["sop_uid"]  # compression must not mint a new UID
    assert np.array_equal(ds.pixel_array, ramp())


def test_jpeg_baseline_of_16_bit_pixels_is_8_bit_and_keeps_the_window_meaning(tmp_path: Path) -> None:
    path = tmp_path / "j.dicom"
    write_dicom(path, ramp(), compression="jpeg-baseline", window=(2048.0, 1024.0), **IDS)
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == JPEGBaseline8Bit
    assert (ds.BitsAllocated, ds.BitsStored, ds.LossyImageCompression) == (8, 8, "01")
    assert (float(ds.WindowCenter), float(ds.WindowWidth)) == (128.0, 64.0)
    approx = np.rint(ramp() / 16.0)
    assert np.abs(ds.pixel_array.astype(float) - approx).mean() < 2.0


def test_jpeg_baseline_scales_the_rescale_slope_instead_when_given(tmp_path: Path) -> None:
    path = tmp_path / "j.dcm"
    write_dicom(path, ramp(), compression="jpeg-baseline", rescale=(0.5, -10.0), window=(500.0, 800.0), **IDS)
    ds = pydicom.dcmread(path)
    assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (8.0, -10.0)
    assert (float(ds.WindowCenter), float(ds.WindowWidth)) == (500.0, 800.0)


def test_uint8_and_signed_pixels_set_the_pixel_module(tmp_path: Path) -> None:
    eight = tmp_path / "u8.dcm"
    write_dicom(eight, (ramp() // 16).astype(np.uint8), **IDS)
    ds = pydicom.dcmread(eight)
    assert (ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation) == (8, 8, 0)
    signed = tmp_path / "s16.dcm"
    values = (ramp().astype(np.int16) - 2048).astype(np.int16)
    write_dicom(signed, values, modality="CT", rescale=(1.0, -1024.0), **IDS)
    ds = pydicom.dcmread(signed)
    assert (ds.BitsAllocated, ds.BitsStored, ds.PixelRepresentation) == (16, 12, 1)
    assert np.array_equal(ds.pixel_array, values)
    assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (1.0, -1024.0)


def test_multi_frame_pixels_write_number_of_frames(tmp_path: Path) -> None:
    frames = np.stack([ramp(), ramp()[::-1].copy(), 4095 - ramp()])
    for compression in (None, "rle"):
        path = tmp_path / f"mf-{compression}.dcm"
        write_dicom(path, frames, modality="MR", compression=compression, **IDS)  # type: ignore[arg-type]
        ds = pydicom.dcmread(path)
        assert ds.NumberOfFrames == 3
        assert np.array_equal(ds.pixel_array, frames)


def test_monochrome1_values_are_stored_as_given(tmp_path: Path) -> None:
    path = tmp_path / "m1.dicom"
    write_dicom(path, 4095 - ramp(), photometric="MONOCHROME1", **IDS)
    ds = pydicom.dcmread(path)
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    assert np.array_equal(ds.pixel_array, 4095 - ramp())


@pytest.mark.parametrize(
    ("pixels", "kwargs", "message"),
    [
        (np.zeros((4, 4), np.float32), {}, "uint8, uint16 or int16"),
        (np.zeros(8, np.uint16), {}, "shape"),
        (np.full((4, 4), 5000, np.uint16), {}, "do not fit in 12 stored bits"),
        (np.zeros((4, 4), np.uint16), {"bits_stored": 17}, "bits_stored"),
        (np.zeros((4, 4), np.int16), {"compression": "jpeg-baseline"}, "unsigned"),
        (np.zeros((64, 16), np.uint16), {"compression": "jpeg2000"}, "at least 32 rows and columns"),
    ],
)
def test_bad_arguments_are_rejected(
    tmp_path: Path, pixels: NDArray[Any], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        write_dicom(tmp_path / "bad.dcm", pixels, **kwargs, **IDS)
    assert not (tmp_path / "bad.dcm").exists()


def test_missing_jpeg2000_encoder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = pydicom.pixels.get_encoder(JPEG2000Lossless)
    monkeypatch.setattr(type(encoder), "is_available", property(lambda self: False))
    with pytest.raises(DicomWriteError, match="cannot write jpeg2000"):
        write_dicom(tmp_path / "j2k.dcm", ramp(), compression="jpeg2000", **IDS)
