"""The standardised images keep their exact bytes, so content hashes and embedding caches keep applying.

The golden digests below were recorded from the code before the catalogue's standardisation was made faster
(issue 18). Each input is a fixed synthetic file covering one path through `standardise`: stored window, no
window (percentile stretch), MONOCHROME1, rescale, signed data, a range too wide for the lookup table, each
compression, resized and not, plain rasters (16-bit, RGBA, RGB). A change of any output byte fails here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spinebench.imaging import ImagingOptions, encode_png, encode_rgb_png, standardise, standardise_display
from spinebench.synth.dicom import write_dicom

Maker = Callable[[Path], Path]


def _radiograph(rows: int, cols: int, seed: int, top: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, rows)[:, None] * np.linspace(0.5, 1, cols)[None, :]
    pixels = (top // 2 + (top // 2) * ramp).astype(np.int64)
    pixels += rng.integers(0, 200, size=pixels.shape)
    pixels[rows // 3 : rows // 2, cols // 4 : cols // 2] += top // 4  # a bright block: a "vertebra"
    pixels[:8, :40] = 4095  # a burned-in label: what the robust stretch ignores
    return np.clip(pixels, 0, 4095).astype(np.uint16)


def _dicom(name: str, pixels: np.ndarray, **kwargs: object) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / f"{name}.dcm"
        write_dicom(
            path,
            pixels,
            patient_id="P1",
            patient_name="Doe^Jane",
            study_uid="1.2.826.0.1.1",
            series_uid="1.2.826.0.1.1.1",
            sop_uid="1.2.826.0.1.1.1.1",
            **kwargs,  # type: ignore[arg-type]
        )
        return path

    return make


def _png(name: str, image: Callable[[], Image.Image]) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / f"{name}.png"
        image().save(path)
        return path

    return make


def _rgba() -> Image.Image:
    rng = np.random.default_rng(5)
    return Image.fromarray(rng.integers(0, 256, (300, 200, 4), dtype=np.uint8), "RGBA")


def _rgb_large() -> Image.Image:
    rng = np.random.default_rng(6)
    coarse = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    return Image.fromarray(coarse, "RGB").resize((1500, 2000), Image.Resampling.BILINEAR)


def _grey16() -> Image.Image:
    return Image.fromarray(_radiograph(700, 500, 7).astype(np.int32)).convert("I;16")


_WIDE = np.random.default_rng(8).integers(0, 4096, (40, 30)).astype(np.uint16)
_SIGNED = (_radiograph(600, 480, 9).astype(np.int32) - 2048).astype(np.int16)

# name -> (input maker, options, sha256 of encode_png(standardise(input)))
CASES: dict[str, tuple[Maker, ImagingOptions, str]] = {
    "window-raw-resized": (
        _dicom("a", _radiograph(1300, 1040, 1), window=(2200.0, 2000.0)),
        ImagingOptions(),
        "a0d8195969c7f5f048a247191815cc27da7b638f9413dc936b4f1c81e7dabe36",
    ),
    "window-rle-resized": (
        _dicom("b", _radiograph(1300, 1040, 2), window=(2200.0, 2000.0), compression="rle"),
        ImagingOptions(),
        "7bafad27ec1b31753fc7c87c9c82d2cc77dceb501412a08592406a273cee8307",
    ),
    "window-jpeg-resized": (
        _dicom("c", _radiograph(1300, 1040, 3), window=(2200.0, 2000.0), compression="jpeg-baseline"),
        ImagingOptions(),
        "715224c65d5fabaf4dbbe1e8a9d76ad1aed349365e6b06b05b749337fe6f925d",
    ),
    "stretch-raw-resized": (
        _dicom("d", _radiograph(1500, 1200, 4)),
        ImagingOptions(),
        "39354a859975b5e9b25b7509a961074d4ac93804e64d4593b539d4d49cc0e8c3",
    ),
    "stretch-raw-small": (
        _dicom("e", _radiograph(400, 320, 10)),
        ImagingOptions(),
        "e17b242bc713ebcf8f856e27e3d97a130761b38eddd4f2d3de72af10f2fd6306",
    ),
    "monochrome1-window": (
        _dicom("f", 4095 - _radiograph(1100, 900, 11), photometric="MONOCHROME1", window=(2000.0, 1800.0)),
        ImagingOptions(),
        "57d7095fd72d17a9668637476498dbfb663f37cab0a4ef3be44ea2adc19151e4",
    ),
    "monochrome1-stretch": (
        _dicom("g", 4095 - _radiograph(800, 640, 12), photometric="MONOCHROME1"),
        ImagingOptions(),
        "b6d9e02e0515541a6f5b384bdc75ecbbf6220f7e07208be3863fa23172c39eb0",
    ),
    "rescale-window": (
        _dicom("h", _radiograph(900, 700, 13), rescale=(2.0, -1000.0), window=(3000.0, 4000.0)),
        ImagingOptions(),
        "447d0547e3211fb5a5e4016f42def6650e65621a1773a410923e25f1eccccb97",
    ),
    "signed-rescale-stretch": (
        _dicom("i", _SIGNED, modality="CT", rescale=(1.0, -1024.0)),
        ImagingOptions(),
        "e0042438ab765f21c581a0ca8ebcbde628b90222c6d6b6079cb21246e55e81de",
    ),
    "wide-range-no-table": (
        _dicom("j", _WIDE),
        ImagingOptions(),
        "ab8dfa71f70831dfc66acf02fc755026f8a8ef328ffc85956bdcffc35d24bc8a",
    ),
    "window-ignored-minmax": (
        _dicom("k", _radiograph(1200, 1000, 14), window=(2200.0, 2000.0)),
        ImagingOptions(use_stored_window=False, fallback_percentiles=(0.0, 100.0)),
        "112d8067d42694afed15d8f41d9fbff6c54a26c7499e545ce8e80664f6350bb2",
    ),
    "stretch-max-side-300": (
        _dicom("l", _radiograph(1000, 800, 15)),
        ImagingOptions(max_side=300),
        "14710f414b97fa0a86781d30ed273b33587d56f0ce5a89082411d14c2d532798",
    ),
    "eight-bit-stretch": (
        _dicom("m", (_radiograph(1100, 800, 16) // 16).astype(np.uint8)),
        ImagingOptions(),
        "4e16413f6878432276953a4b185b3de28d7d01ac255d4bfa9217b0cb5ef53220",
    ),
    "png-16-bit": (
        _png("n", _grey16),
        ImagingOptions(),
        "0cbb93b9ef66e4c31d826dec4893c75d37f343f7be6f266561c8e6807c952c0c",
    ),
    "png-rgba": (
        _png("o", _rgba),
        ImagingOptions(),
        "a8ce6d48aa58f0365fc6c500e2f7d75b444172f1d05ccad1889ff0eecd98beef",
    ),
    "png-rgb-resized": (
        _png("p", _rgb_large),
        ImagingOptions(),
        "3fba9b3ad3bc0c9fe20de2f24dc7d6413aa8400df16e969d6ae6a4b7e59c155a",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_standardised_bytes_match_the_recorded_digest(name: str, tmp_path: Path) -> None:
    make, options, expected = CASES[name]
    digest = hashlib.sha256(encode_png(standardise(make(tmp_path), options=options))).hexdigest()
    assert digest == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_catalogue_path_writes_the_same_bytes(name: str, tmp_path: Path) -> None:
    # The catalogue keeps grey images grey and encodes them with spinebench.png: its bytes must be these too.
    make, options, expected = CASES[name]
    digest = hashlib.sha256(encode_rgb_png(standardise_display(make(tmp_path), options=options))).hexdigest()
    assert digest == expected
