"""Any source image (DICOM, PNG, JPEG, other raster) -> one standardised 8-bit RGB image.

DICOM follows the display pipeline of PS3.4 N.2: stored values -> Modality LUT or rescale -> VOI LUT or window
-> MONOCHROME1 inverted, so bone is bright in every output. Without a usable VOI, grey values are stretched
between robust percentiles (`ImagingOptions.fallback_percentiles`) rather than min-max, because burned-in
labels and collimator edges would otherwise squeeze the anatomy into a few grey levels.

Outputs are built from pixel arrays only and `encode_png` writes no ancillary chunks, so no DICOM attribute
(and no patient tag) can reach an output image.
"""

from __future__ import annotations

import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

import numpy as np
import pydicom
from numpy.typing import NDArray
from PIL import Image, ImageOps
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels.decoders.base import get_decoder
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut, apply_voi, apply_windowing
from pydicom.pixels.utils import get_nr_frames, pixel_array
from pydicom.uid import (
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000TransferSyntaxes,
    JPEGLSTransferSyntaxes,
)

from spinebench.errors import SpineBenchError
from spinebench.png import grey_as_rgb_png

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "ImageDecodeError",
    "ImagingOptions",
    "encode_png",
    "encode_rgb_png",
    "is_dicom",
    "standardise",
    "standardise_dicom",
    "standardise_display",
    "standardise_file",
]

_T = TypeVar("_T", bound=np.generic)
_DICOM_SUFFIXES = frozenset({".dcm", ".dicom"})
_LOOKUP_BAND = 1 << 16  # indices per np.take call in `_look_up`
# Level 3 measured ~3x faster than 6 on radiographs for files ~2% larger; any fixed level is deterministic.
_PNG_COMPRESS_LEVEL = 3
# Attributes that drive the grey-level transforms of one frame; enhanced objects may override them per frame.
_LUT_KEYWORDS = (
    "PhotometricInterpretation",
    "BitsStored",
    "PixelRepresentation",
    "ModalityLUTSequence",
    "RescaleSlope",
    "RescaleIntercept",
    "VOILUTSequence",
    "WindowCenter",
    "WindowWidth",
    "VOILUTFunction",
)
# Value representations that hold names, ids, dates and free text: never echoed in an error message.
_IDENTIFYING_VRS = frozenset({"PN", "LO", "SH", "DA", "DT", "TM", "AS", "LT", "ST", "UT", "UC"})
_PLUGIN_HINTS = {
    "JPEG Baseline": "pylibjpeg and pylibjpeg-libjpeg",
    "JPEG Extended": "pylibjpeg and pylibjpeg-libjpeg",
    "JPEG Lossless": "pylibjpeg and pylibjpeg-libjpeg",
    "JPEG-LS": "pylibjpeg and pylibjpeg-libjpeg",
    "JPEG 2000": "pylibjpeg and pylibjpeg-openjpeg",
    "High-Throughput JPEG 2000": "pylibjpeg and pylibjpeg-openjpeg",
    "RLE": "pylibjpeg and pylibjpeg-rle",
}


DEFAULT_MAX_PIXELS: Final = 1 << 28  # 268 million: far above any radiograph or MRI series of these datasets


class ImageDecodeError(SpineBenchError):
    """An image file cannot be turned into a standardised image; the message names the file and the cause."""


@dataclass(frozen=True, slots=True)
class ImagingOptions:
    """How source images are standardised.

    `max_side` bounds the longest side (aspect kept, never upscaled). `use_stored_window=False` ignores the
    file's VOI LUT / window and always stretches between `fallback_percentiles` (low, high, in percent;
    (0, 100) is plain min-max).
    """

    max_side: int = 1024
    use_stored_window: bool = True
    fallback_percentiles: tuple[float, float] = (0.5, 99.5)
    # Rows x Columns x frames a DICOM may declare before it is decoded at all. A 28 MB RLE file can declare
    # 30000 x 30000 pixels and take 9 GB to decode; Pillow caps PNG/JPEG likewise (DecompressionBombError).
    max_pixels: int = DEFAULT_MAX_PIXELS

    def __post_init__(self) -> None:
        if self.max_side < 1:
            raise ValueError(f"max_side must be at least 1, got {self.max_side}")
        if self.max_pixels < 1:
            raise ValueError(f"max_pixels must be at least 1, got {self.max_pixels}")
        low, high = self.fallback_percentiles
        if not 0.0 <= low < high <= 100.0:
            raise ValueError(f"fallback_percentiles must satisfy 0 <= low < high <= 100, got {low}, {high}")


DEFAULT_OPTIONS = ImagingOptions()


def is_dicom(path: Path) -> bool:
    """True when the file has the Part-10 'DICM' marker, or a DICOM suffix (raw datasets have no marker)."""
    return _has_dicm_marker(path) or path.suffix.lower() in _DICOM_SUFFIXES


def standardise(
    path: Path, *, frame: int | None = None, options: ImagingOptions = DEFAULT_OPTIONS
) -> Image.Image:
    """The standardised RGB image of any supported file, dispatched on its content rather than its name."""
    return standardise_display(path, frame=frame, options=options).convert("RGB")


def standardise_display(
    path: Path, *, frame: int | None = None, options: ImagingOptions = DEFAULT_OPTIONS
) -> Image.Image:
    """`standardise`, except that a grey DICOM stays a grey (L) image: the catalogue writes it as the same RGB
    PNG (`encode_rgb_png`) without expanding it to three channels first."""
    path = Path(path)
    if is_dicom(path):
        return _dicom_display(path, frame, options)
    return standardise_file(path, options=options)


def standardise_dicom(
    path: Path, *, frame: int | None = None, options: ImagingOptions = DEFAULT_OPTIONS
) -> Image.Image:
    """Decode one frame of a DICOM file (the middle one by default) to a display-ready RGB image."""
    return _dicom_display(Path(path), frame, options).convert("RGB")


def _dicom_display(path: Path, frame: int | None, options: ImagingOptions) -> Image.Image:
    ds = _read_dataset(path)
    try:
        with warnings.catch_warnings():
            # Decoders warn about tolerated oddities (e.g. excess padding); the outcome is checked instead.
            warnings.simplefilter("ignore")
            pixels = _dicom_to_pixels(ds, path, frame, options)
    except ImageDecodeError:
        raise
    except Exception as exc:  # decoders raise assorted types on corrupt or inconsistent pixel data
        raise ImageDecodeError(f"{path}: pixel data cannot be decoded: {_reason(exc, ds)}") from exc
    except BaseException as exc:
        # Quirk: decoders written in Rust (pylibjpeg-rle) panic on corrupt data with pyo3's PanicException, a
        # BaseException that would otherwise stop a whole catalogue build for one bad file.
        if type(exc).__name__ != "PanicException":
            raise
        raise ImageDecodeError(f"{path}: pixel data cannot be decoded: {_reason(exc, ds)}") from exc
    return _finish(pixels, options)


def standardise_file(path: Path, *, options: ImagingOptions = DEFAULT_OPTIONS) -> Image.Image:
    """A PNG/JPEG/other raster image as RGB: EXIF orientation applied, alpha flattened onto black."""
    path = Path(path)
    try:
        with Image.open(path) as opened:
            opened.load()
            # Quirk: cameras and some scanners store the rotation in EXIF instead of rotating the pixels.
            image = ImageOps.exif_transpose(opened)
    except FileNotFoundError as exc:
        raise ImageDecodeError(f"{path}: file not found") from exc
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(
            f"{path}: not a readable image (corrupt, truncated or unknown format): {exc}"
        ) from exc
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # Quirk: 16-bit PNGs often hold 10-12 bit data; stretch like a DICOM without a window.
        grey = _grey_to_pixels(np.asarray(image), Dataset(), options, invert=False)
        return _finish(grey, options).convert("RGB")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        # Transparent areas carry no signal; black is the background of a radiograph.
        rgba = image.convert("RGBA")
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    rgb = image.convert("RGB")
    rgb.info.clear()  # text chunks and EXIF of the source (which may name the patient) stay behind
    return _bound(rgb, options.max_side)


def encode_rgb_png(image: Image.Image) -> bytes:
    """`encode_png(image.convert("RGB"))`, byte for byte; a grey image is encoded without the conversion and
    with the row filters chosen on one channel instead of three (see spinebench.png), in less time."""
    if image.mode == "L":
        return grey_as_rgb_png(image, _PNG_COMPRESS_LEVEL)
    return encode_png(image if image.mode == "RGB" else image.convert("RGB"))


def encode_png(image: Image.Image) -> bytes:
    """PNG bytes that depend only on the pixels: no text, time, ICC or EXIF chunk, fixed compression."""
    # A fresh image has an empty `info`, so nothing the source image carried can be written.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    buffer = io.BytesIO()
    clean.save(buffer, format="PNG", compress_level=_PNG_COMPRESS_LEVEL, optimize=False)
    return buffer.getvalue()


# --- DICOM --------------------------------------------------------------------------------------------------


def _has_dicm_marker(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(132)
    except OSError:
        return False
    return head[128:132] == b"DICM"


def _read_dataset(path: Path) -> Dataset:
    if not path.is_file():
        raise ImageDecodeError(f"{path}: file not found")
    has_marker = _has_dicm_marker(path)
    # pydicom reads damaged files as far as it can and warns (also on first access to a damaged value); the
    # warnings explain a failure, else they are noise.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # Quirk: raw datasets without preamble and file meta (old archives) need a forced read.
            ds = pydicom.dcmread(path, force=not has_marker)
        except InvalidDicomError as exc:
            raise ImageDecodeError(f"{path}: not a DICOM file ({exc})") from exc
        except Exception as exc:  # the parser raises assorted types on damaged headers
            raise ImageDecodeError(
                f"{path}: DICOM header is unreadable (truncated or corrupt): {exc!r}"
            ) from exc
        if "PixelData" not in ds:
            if not has_marker:
                raise ImageDecodeError(f"{path}: not a DICOM file (no 'DICM' marker and no pixel data)")
            try:
                sop_class = ds.get("SOPClassUID") or ds.file_meta.get("MediaStorageSOPClassUID") or ""
                damaged = False
            except Exception:  # an element too damaged to convert (say a flipped byte in its VR)
                sop_class, damaged = "", True
            if caught or damaged or len(ds) == 0 or "Rows" in ds or "Image" in UID(str(sop_class)).name:
                # Quirk: a file cut short loses its Pixel Data element (and maybe more) without an exception.
                detail = f": {_redact(str(caught[0].message), ds)}" if caught else ""
                raise ImageDecodeError(f"{path}: no Pixel Data element; the file looks truncated{detail}")
            raise ImageDecodeError(f"{path}: no Pixel Data element (not an image object)")
    _ensure_transfer_syntax(ds)
    return ds


def _ensure_transfer_syntax(ds: Dataset) -> None:
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        meta = ds.file_meta = FileMetaDataset()
    if meta.get("TransferSyntaxUID"):
        return
    # Quirk: file meta without (0002,0010) Transfer Syntax UID (raw datasets, some exporters): take the
    # encoding the parser found, which is right for every uncompressed syntax.
    implicit, little = ds.original_encoding
    if implicit:
        meta.TransferSyntaxUID = ImplicitVRLittleEndian
    else:
        meta.TransferSyntaxUID = ExplicitVRLittleEndian if little else ExplicitVRBigEndian


def _require_decoder(ds: Dataset, path: Path) -> None:
    syntax = UID(str(ds.file_meta.TransferSyntaxUID))
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as exc:
        raise ImageDecodeError(
            f"{path}: transfer syntax {syntax.name} ({syntax}) is not supported: pydicom has no decoder"
        ) from exc
    if not decoder.is_available:
        hint = next(
            (plugins for prefix, plugins in _PLUGIN_HINTS.items() if syntax.name.startswith(prefix)), ""
        )
        install = f"pip install {hint.replace(' and ', ' ')}" if hint else "a pydicom decoding plugin"
        raise ImageDecodeError(
            f"{path}: no decoder installed for transfer syntax {syntax.name}; install {install}"
        )


def _dicom_to_pixels(
    ds: Dataset, path: Path, frame: int | None, options: ImagingOptions
) -> NDArray[np.uint8]:
    """The selected frame as 8-bit display values: (rows, cols) grey or (rows, cols, 3) colour."""
    _require_decoder(ds, path)
    frames = int(get_nr_frames(ds, warn=False))  # int(): a damaged header may hold text here
    declared = int(ds.get("Rows", 0) or 0) * int(ds.get("Columns", 0) or 0) * max(frames, 1)
    if declared > options.max_pixels:
        raise ImageDecodeError(
            f"{path}: too large to decode: it declares {ds.get('Rows')} x {ds.get('Columns')} pixels x "
            f"{frames} frame(s) = {declared:,} pixels, above the cap of {options.max_pixels:,} "
            "(raise it with --max-pixels if the file is genuine)"
        )
    index = frames // 2 if frame is None else frame
    if not 0 <= index < frames:
        raise ImageDecodeError(f"{path}: frame {frame} does not exist (the file has {frames} frame(s))")
    # Decodes just this frame; YBR_* colour is converted to RGB by pydicom, and values outside BitsStored
    # (quirk: overlay bits in the unused high bits, signed data stored in 16 bits) are masked/sign-extended.
    # pydicom does the latter by copying and shifting every frame; for one-sample images it is done here, and
    # only to a frame that has such values.
    if int(ds.get("SamplesPerPixel", 1) or 1) == 1:
        arr = pixel_array(ds, index=index, view_only=True, correct_unused_bits=False)
        arr = _within_bits_stored(arr, ds)
    else:
        arr = pixel_array(ds, index=index)
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if photometric == "PALETTE COLOR":
        # Quirk: palette colour (some US/secondary captures) is an index image plus a colour LUT.
        rgb = apply_color_lut(arr, ds)
        # Quirk: LUTs declared 16-bit whose entries only use 8 bits (OBXXXX1A_expb.dcm) would come out black.
        top = 255.0 if int(rgb.max()) <= 255 else float(np.iinfo(rgb.dtype).max)
        return _quantise(rgb / top)
    if arr.ndim == 3:
        top = float(2 ** int(ds.get("BitsStored", arr.dtype.itemsize * 8)) - 1)
        return _quantise(arr.astype(np.float64) / top)
    # Quirk: MONOCHROME1 (many CR/DX radiographs) shows low values as white; flip so bone is bright.
    return _grey_to_pixels(arr, _frame_view(ds, index), options, invert=photometric == "MONOCHROME1")


def _within_bits_stored(arr: NDArray[Any], ds: Dataset) -> NDArray[Any]:
    """What pydicom's `correct_unused_bits` makes of a frame: the bits above BitsStored dropped (unsigned)
    or replaced by the sign bit (signed), by shifting left and back; a frame whose values all fit is
    returned as it is."""
    syntax = UID(str(ds.file_meta.TransferSyntaxUID))
    if syntax in JPEG2000TransferSyntaxes or syntax in JPEGLSTransferSyntaxes or "PixelData" not in ds:
        return arr  # pydicom corrects the sign of these codestreams instead; float data has no unused bits
    allocated = int(ds.get("BitsAllocated", arr.dtype.itemsize * 8))
    stored = int(ds.get("BitsStored", allocated) or allocated)
    shift = allocated - stored
    if shift <= 0 or arr.dtype.kind not in "iu" or arr.size == 0:
        return arr
    if arr.dtype.kind == "u":
        fits = int(arr.max()) < 1 << stored
    else:
        fits = -(1 << (stored - 1)) <= int(arr.min()) and int(arr.max()) < 1 << (stored - 1)
    if fits:
        return arr
    corrected = arr.copy()
    np.left_shift(corrected, shift, out=corrected)
    np.right_shift(corrected, shift, out=corrected)
    return corrected


def _grey_to_pixels(
    arr: NDArray[Any], view: Dataset, options: ImagingOptions, *, invert: bool
) -> NDArray[np.uint8]:
    """Modality LUT, then VOI (or the percentile stretch), then optional inversion, as 8-bit values."""
    # Each step maps values one by one (only the stretch bounds look at the whole image), so integer data is
    # mapped once per distinct stored value and then looked up: several times faster on large radiographs.
    low: int | None = None  # set when integer data is mapped through a table of its levels low..high
    levels = arr
    if np.issubdtype(arr.dtype, np.integer) and arr.dtype.itemsize <= 4 and arr.size:
        low, high = int(arr.min()), int(arr.max())
        if high - low < arr.size:
            levels = np.arange(low, high + 1, dtype=np.int64)
        else:
            low = None
    values = apply_modality_lut(levels, view).astype(np.float64)
    unit = _apply_voi(values, view) if options.use_stored_window else None
    if unit is None:
        percentiles = options.fallback_percentiles
        if low is not None:
            # The sample's values are the table's, each as often as its level occurs: counting the levels
            # finds the percentiles without sorting millions of floats (the whole image below 4M pixels).
            bounds = _level_bounds(values, _level_counts(_subsample(arr), low, values.size), percentiles)
        else:
            bounds = _sample_bounds(_subsample(values), percentiles)
        unit = _stretch(values, *bounds)
    pixels = _quantise(1.0 - unit if invert else unit)
    if low is None:
        return pixels
    if low >= 0 and high < 1 << 16:
        # Stored values index a table from 0 directly: no full-size array of offsets is built.
        table = np.zeros(high + 1, dtype=np.uint8)
        table[low:] = pixels
        return _look_up(table, arr)
    offsets = np.subtract(arr, low, dtype=np.intp)
    shifted: NDArray[np.uint8] = np.take(pixels, offsets)
    return shifted


def _look_up(table: NDArray[np.uint8], indices: NDArray[Any]) -> NDArray[np.uint8]:
    """`table[indices]` for indices known to lie in the table, 64k of them at a time."""
    # np.take first casts all the indices to intp: 27 MB for a 2048 x 1638 radiograph, whose fresh pages cost
    # more than the lookup. A band of 64k indices stays in cache; "clip" lets take write to `out` unbuffered
    # and never applies, as every index is in range.
    out = np.empty(indices.shape, dtype=np.uint8)
    flat_in, flat_out = indices.reshape(-1), out.reshape(-1)
    for start in range(0, flat_in.size, _LOOKUP_BAND):
        band = slice(start, start + _LOOKUP_BAND)
        np.take(table, flat_in[band], out=flat_out[band], mode="clip")
    return out


def _frame_view(ds: Dataset, index: int) -> Dataset:
    """The LUT attributes in force for one frame, as a small dataset pydicom's LUT functions accept."""
    view = Dataset()
    view.file_meta = ds.file_meta  # apply_voi reads the byte order of OW LUT data from it
    for keyword in _LUT_KEYWORDS:
        if keyword in ds:
            view.add(ds[keyword])
    # Quirk: enhanced multi-frame objects (Enhanced CT/MR) keep rescale and window in functional groups,
    # shared by all frames or given per frame (the per-frame value wins).
    groups = []
    if shared := ds.get("SharedFunctionalGroupsSequence"):
        groups.append(shared[0])
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and index < len(per_frame):
        groups.append(per_frame[index])
    for group in groups:
        for keyword in ("PixelValueTransformationSequence", "FrameVOILUTSequence"):
            if items := group.get(keyword):
                for element in items[0]:
                    view.add(element)
    return view


def _apply_voi(values: NDArray[np.float64], view: Dataset) -> NDArray[np.float64] | None:
    """VOI LUT (preferred, as PS3.3 C.11.2 allows) or window, scaled to [0, 1]; None when none is usable."""
    try:
        if view.get("VOILUTSequence"):
            entries, first, _ = (int(v) for v in view.VOILUTSequence[0].LUTDescriptor)
            entries = entries or 2**16
            table = apply_voi(np.arange(first, first + entries, dtype=np.int64), view).astype(np.float64)
            inputs = np.clip(np.rint(values), first, first + entries - 1).astype(np.int64)
            out = apply_voi(inputs, view).astype(np.float64)
            low, high = float(table.min()), float(table.max())
        elif "WindowCenter" in view and "WindowWidth" in view:
            # Quirk: several windows may be stored (VM > 1); index 0 takes the first, the usual default view.
            out = apply_windowing(values, view, index=0)
            with np.errstate(over="ignore"):  # SIGMOID at the probe extremes saturates, as intended
                low, high = (float(v) for v in apply_windowing(np.array([-1e300, 1e300]), view, index=0))
        else:
            return None
    except (ValueError, TypeError, IndexError, KeyError, NotImplementedError):
        # Quirk: empty window values, width < 1, an unknown VOI LUT Function: ignore the VOI, stretch instead.
        return None
    if high == low:
        return None
    return np.clip((out - low) / (high - low), 0.0, 1.0)


def _subsample(array: NDArray[_T]) -> NDArray[_T]:
    """About a million evenly strided pixels: cheap percentiles on large radiographs, still deterministic."""
    if array.ndim < 2:
        return array
    step = max(1, int(np.sqrt(array.size / 1_000_000)))
    return array[::step, ::step]


def _sample_bounds(sample: NDArray[np.float64], percentiles: tuple[float, float]) -> tuple[float, float]:
    """The sample's robust range: its percentiles, or its min and max where those coincide."""
    sample = np.nan_to_num(sample, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = (float(v) for v in np.percentile(sample, percentiles))
    if high <= low:
        low, high = float(sample.min()), float(sample.max())
    return low, high


def _level_bounds(
    values: NDArray[np.float64], counts: NDArray[np.intp], percentiles: tuple[float, float]
) -> tuple[float, float]:
    """`_sample_bounds` of the sample holding `counts[k]` copies of `values[k]`, without building it."""
    finite = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    order = np.argsort(finite, kind="stable")
    ranked = finite[order]
    ends = np.cumsum(counts[order])  # ends[j]: one past the last sorted position that holds ranked[j]
    last = int(ends[-1]) - 1
    bounds = []
    for percentile in percentiles:
        # np.percentile's default ("linear") method operation for operation, so the float is the same
        # (numpy/lib/_function_base_impl.py: _quantile, _get_indexes, _get_gamma, _lerp): the sorted sample
        # at floor((n - 1) q) and the next position (both the last one at q = 1), and the fraction between.
        index = last * (percentile / 100)
        below = min(math.floor(index), last)
        a, b = (float(ranked[rank]) for rank in np.searchsorted(ends, [below, min(below + 1, last)], "right"))
        weight = index - below
        difference = b - a
        bounds.append(b - difference * (1 - weight) if weight >= 0.5 else a + difference * weight)
    low, high = bounds
    if high <= low:
        present = finite[counts > 0]
        low, high = float(present.min()), float(present.max())
    return low, high


def _level_counts(levels: NDArray[Any], low: int, size: int) -> NDArray[np.intp]:
    """How often each level low .. low + size - 1 occurs, 64k pixels at a time (see `_look_up`)."""
    counts = np.zeros(size, dtype=np.intp)
    flat = levels.reshape(-1)
    for start in range(0, flat.size, _LOOKUP_BAND):
        offsets = np.subtract(flat[start : start + _LOOKUP_BAND], low, dtype=np.intp)
        counts += np.bincount(offsets, minlength=size)
    return counts


def _stretch(values: NDArray[np.float64], low: float, high: float) -> NDArray[np.float64]:
    """Linear map of [low, high] to [0, 1]; with no range, all zeros."""
    finite = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    if high <= low:
        return np.zeros_like(finite)
    return np.clip((finite - low) / (high - low), 0.0, 1.0)


def _reason(exc: BaseException, ds: Dataset) -> str:
    return _redact(f"{type(exc).__name__}: {exc}", ds)


def _redact(text: str, ds: Dataset) -> str:
    """`text` with every identifying value of the dataset blanked out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # damaged values warn again when read here
        for value in _identifying_values(ds):
            if len(value) >= 4:
                text = text.replace(value, "<redacted>")
    return text


def _identifying_values(ds: Dataset) -> Iterator[str]:
    for tag in list(ds.keys()):
        try:
            element = ds[tag]
        except Exception:
            # Quirk: a damaged element (say a flipped byte in its VR) fails to convert on first access; its
            # value is unknown, so its raw bytes are redacted as text instead.
            raw = ds.get_item(tag, keep_deferred=True).value
            if isinstance(raw, bytes) and len(raw) <= 1024:
                yield raw.decode("latin-1").strip("\0 ")
            continue
        if element.VR == "SQ":
            for item in element.value:
                yield from _identifying_values(item)
        elif element.VR in _IDENTIFYING_VRS and element.VM > 0:
            for value in element.value if element.VM > 1 else [element.value]:
                yield str(value)


# --- shared -------------------------------------------------------------------------------------------------


def _quantise(unit: NDArray[np.float64]) -> NDArray[np.uint8]:
    return np.rint(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)


def _finish(pixels: NDArray[np.uint8], options: ImagingOptions) -> Image.Image:
    """The display image, resized: grey (L) or RGB. Callers expand grey to RGB after the resize, which then
    does a third of the work."""
    image = Image.fromarray(np.ascontiguousarray(pixels))
    return _bound(image, options.max_side)


def _bound(image: Image.Image, max_side: int) -> Image.Image:
    width, height = image.size
    longest = max(width, height)
    if longest <= max_side:
        return image
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # reducing_gap box-reduces first, then Lanczos: near-Lanczos quality at a fraction of the cost.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
