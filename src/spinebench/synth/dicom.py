"""Synthetic Part-10 DICOM files for fake source datasets and decoding tests.

Files carry realistic patient tags (name, id, birth date, study date) so tests can show that none of them
leaks into outputs, and an ImageComments line marking them as synthetic. The same arguments give the same
bytes: dates are derived from the ids, UIDs are passed in, and no current time is written.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels.encoders.base import get_encoder
from pydicom.uid import (
    UID,
    ComputedRadiographyImageStorage,
    CTImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    MRImageStorage,
    RLELossless,
    SecondaryCaptureImageStorage,
)

from spinebench.errors import SpineBenchError

__all__ = ["Compression", "DicomWriteError", "Photometric", "write_dicom"]

Compression = Literal["jpeg-baseline", "jpeg2000", "rle"]
Photometric = Literal["MONOCHROME2", "MONOCHROME1"]

# A fixed implementation UID (2.25 = UUID-derived root): the file meta must not change with pydicom's version.
_IMPLEMENTATION_UID = "2.25.2092045601667658876896554139110118696"
_SOP_CLASSES = {
    "DX": DigitalXRayImageStorageForPresentation,
    "CR": ComputedRadiographyImageStorage,
    "MR": MRImageStorage,
    "CT": CTImageStorage,
}
_JPEG_QUALITY = 95


class DicomWriteError(SpineBenchError):
    """A synthetic DICOM file cannot be written as asked (an encoder plugin is missing)."""


def write_dicom(
    path: Path,
    pixels: NDArray[np.generic],
    *,
    modality: str = "DX",
    photometric: Photometric = "MONOCHROME2",
    compression: Compression | None = None,
    patient_id: str,
    patient_name: str,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    instance_number: int = 1,
    window: tuple[float, float] | None = None,
    rescale: tuple[float, float] | None = None,
    bits_stored: int = 12,
) -> None:
    """Write `pixels` ((rows, cols), or (frames, rows, cols) for a multi-frame file) as a DICOM file.

    `pixels` are the stored values, written as given: uint8 (8 stored bits), uint16 or int16 (`bits_stored`
    bits; values must fit). With MONOCHROME1 a viewer shows them inverted, so pass `max - image` to make a
    MONOCHROME1 file that looks like `image`. `window` = (center, width) and `rescale` = (slope, intercept)
    use DICOM's units (window in rescaled units). "jpeg-baseline" is lossy and 8-bit: unsigned 16-bit pixels
    are reduced to 8 bits, with the rescale slope (or else the window) scaled so both still select the same
    tissue. "jpeg2000" (lossless) needs pylibjpeg-openjpeg and 32+ pixels a side; "rle" uses pydicom's
    own encoder.
    """
    stored = np.asarray(pixels)
    low, high = _stored_range(stored, bits_stored, compression)
    if compression == "jpeg-baseline" and stored.dtype != np.uint8:
        factor = 2.0 ** max(0, high.bit_length() - 8)
        stored = np.clip(np.rint(stored / factor), 0, 255).astype(np.uint8)
        low, high = 0, 255
        if rescale is not None:
            rescale = (rescale[0] * factor, rescale[1])
        elif window is not None:
            window = (window[0] / factor, max(1.0, window[1] / factor))
    ds = _dataset(modality, patient_id, patient_name, study_uid, series_uid, sop_uid, instance_number)
    _set_pixel_module(ds, stored, photometric, low, high)
    if rescale is not None:
        ds.RescaleSlope = _ds(rescale[0])
        ds.RescaleIntercept = _ds(rescale[1])
        ds.RescaleType = "US"
    if window is not None:
        ds.WindowCenter = _ds(window[0])
        ds.WindowWidth = _ds(window[1])
    _encode(ds, stored, compression)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def _stored_range(
    frames: NDArray[np.generic], bits_stored: int, compression: Compression | None
) -> tuple[int, int]:
    if frames.ndim not in (2, 3) or 0 in frames.shape:
        raise ValueError(f"pixels must be (rows, cols) or (frames, rows, cols), got shape {frames.shape}")
    if frames.dtype == np.uint8:
        bits, signed = 8, False
    elif frames.dtype in (np.uint16, np.int16):
        bits, signed = bits_stored, frames.dtype == np.int16
        if not 2 <= bits_stored <= 16:
            raise ValueError(f"bits_stored must be between 2 and 16, got {bits_stored}")
    else:
        raise ValueError(f"pixels must be uint8, uint16 or int16, got {frames.dtype}")
    if compression == "jpeg2000" and min(frames.shape[-2:]) < 32:
        # OpenJPEG encodes with 6 resolution levels, which needs at least 2**5 pixels per side.
        raise ValueError(f"jpeg2000 needs at least 32 rows and columns, got {frames.shape[-2:]}")
    if compression == "jpeg-baseline" and signed:
        raise ValueError("jpeg-baseline stores unsigned 8-bit pixels: pass uint8 or uint16 pixels")
    low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    if int(frames.min()) < low or int(frames.max()) > high:
        raise ValueError(f"pixel values {frames.min()}..{frames.max()} do not fit in {bits} stored bits")
    return low, high


def _dataset(
    modality: str,
    patient_id: str,
    patient_name: str,
    study_uid: str,
    series_uid: str,
    sop_uid: str,
    instance_number: int,
) -> Dataset:
    sop_class = _SOP_CLASSES.get(modality.upper(), SecondaryCaptureImageStorage)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = UID(sop_uid)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = UID(_IMPLEMENTATION_UID)
    ds.file_meta.ImplementationVersionName = "SPINEBENCH_SYN"
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = UID(sop_uid)
    ds.StudyDate = _date(study_uid, first_year=2012, years=10)
    ds.StudyTime = "093000"
    ds.AccessionNumber = _digits(study_uid, 8)
    ds.Modality = modality.upper()
    ds.Manufacturer = "SpineBench synthetic"
    ds.ReferringPhysicianName = ""
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = _date(patient_id, first_year=1940, years=60)
    ds.PatientSex = "F" if int(_digits(patient_id, 1)) % 2 else "M"
    ds.BodyPartExamined = "SPINE"
    ds.StudyInstanceUID = UID(study_uid)
    ds.SeriesInstanceUID = UID(series_uid)
    ds.StudyID = _digits(study_uid, 4)
    ds.SeriesNumber = 1
    ds.InstanceNumber = instance_number
    ds.ImageComments = "SYNTHETIC phantom image generated by SpineBench; not patient data"
    ds.PixelSpacing = ["0.7", "0.7"] if ds.Modality == "MR" else ["0.15", "0.15"]
    if ds.Modality in ("DX", "CR"):
        ds.ImagerPixelSpacing = ds.PixelSpacing
    if ds.Modality == "DX":
        ds.PresentationIntentType = "FOR PRESENTATION"
    return ds


def _set_pixel_module(
    ds: Dataset, stored: NDArray[np.generic], photometric: str, low: int, high: int
) -> None:
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.Rows, ds.Columns = stored.shape[-2:]
    if stored.ndim == 3:
        ds.NumberOfFrames = stored.shape[0]
    ds.BitsAllocated = stored.dtype.itemsize * 8
    ds.BitsStored = int(high - low).bit_length()
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if low < 0 else 0


def _encode(ds: Dataset, stored: NDArray[np.generic], compression: Compression | None) -> None:
    frames = stored if stored.ndim == 3 else stored[np.newaxis]
    if compression is None:
        ds.PixelData = np.ascontiguousarray(stored).astype(stored.dtype.newbyteorder("<")).tobytes()
        ds["PixelData"].VR = "OB" if ds.BitsAllocated == 8 else "OW"
    elif compression == "jpeg-baseline":
        ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
        ds.PixelData = encapsulate([_jpeg(frame) for frame in frames])
        ds["PixelData"].VR = "OB"
        ds["PixelData"].is_undefined_length = True
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
    else:
        syntax = JPEG2000Lossless if compression == "jpeg2000" else RLELossless
        encoder = get_encoder(syntax)
        if not encoder.is_available:
            missing = "; ".join(encoder.missing_dependencies)
            raise DicomWriteError(f"cannot write {compression} DICOM: no encoder available ({missing})")
        ds.PixelData = np.ascontiguousarray(stored).astype(stored.dtype.newbyteorder("<")).tobytes()
        ds.compress(syntax, generate_instance_uid=False)


def _jpeg(frame: NDArray[np.generic]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame)).save(buffer, format="JPEG", quality=_JPEG_QUALITY)
    return buffer.getvalue()


def _ds(value: float) -> str:
    # Decimal String holds at most 16 characters.
    return f"{value:.8g}"


def _digits(key: str, count: int) -> str:
    return str(int(hashlib.sha256(key.encode()).hexdigest(), 16))[:count]


def _date(key: str, *, first_year: int, years: int) -> str:
    number = int(hashlib.sha256(f"date\x00{key}".encode()).hexdigest(), 16)
    year = first_year + number % years
    month = 1 + (number // years) % 12
    day = 1 + (number // (years * 12)) % 28
    return f"{year:04d}{month:02d}{day:02d}"
