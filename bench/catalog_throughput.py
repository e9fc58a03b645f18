"""DICOM -> standardised image throughput, against the bare pydicom decode of the same files.

Writes a generated set of distinct DICOM radiographs (uncompressed, RLE and JPEG baseline, with realistic
sizes; `--no-window` leaves out the stored window, so the percentile stretch runs), then measures the CPU
time (user + system of this process, not wall time: the machine may be shared) of

1. the bare pydicom read and pixel decode, alone;
2. `spinebench.imaging.standardise_display`, the decode plus the display pipeline and the resize (what the
   catalogue runs: grey images stay grey until encoded), printed as its cost beyond the bare decode;
3. `spinebench.imaging.encode_rgb_png` of those images, the RGB PNG that is stored;

each the best of --repeats passes, and prints ms/image and images/second for each stage, for standardise +
PNG (the catalogue's per-image work in one process) and its cost against the bare decode. A sha256 over every
output PNG shows that a faster version writes the same bytes (`--reference` also times the plain
`standardise` + `encode_png`, the RGB path, and checks that its bytes are the same). `--breakdown` times the
costs that the stored bytes fix (Pillow's Lanczos resize, zlib's deflate at the stored level) and the PNG
filter choice alone, and the rate those fixed costs and the decode allow. Last, the whole `build_catalog` on
all cores (wall time: that is what parallelism buys).

    python bench/catalog_throughput.py [--images 60] [--size 2048] [--repeats 3] [--no-window]
                                       [--breakdown] [--reference] [--no-parallel]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pydicom

from spinebench import imaging, png
from spinebench.catalog import build_catalog
from spinebench.imaging import (
    ImagingOptions,
    encode_png,
    encode_rgb_png,
    standardise,
    standardise_display,
)
from spinebench.sources import Finding, SourceImage
from spinebench.synth.dicom import write_dicom

COMPRESSIONS = (None, "rle", "jpeg-baseline")
T = TypeVar("T")


def generate(folder: Path, count: int, size: int, *, window: bool = True) -> list[Path]:
    rng = np.random.default_rng(0)
    rows = np.linspace(0, 1, size)[:, None]
    paths = []
    for index in range(count):
        pixels = (1500 + 1500 * rows * np.ones((1, size * 4 // 5))).astype(np.uint16)
        pixels += rng.integers(0, 200, size=pixels.shape, dtype=np.uint16)
        path = folder / f"{index:04d}.dicom"
        write_dicom(
            path,
            pixels,
            compression=COMPRESSIONS[index % len(COMPRESSIONS)],  # type: ignore[arg-type]
            patient_id=f"P{index}",
            patient_name=f"Doe^Jane{index}",
            study_uid=f"1.2.826.0.1.{index}",
            series_uid=f"1.2.826.0.1.{index}.1",
            sop_uid=f"1.2.826.0.1.{index}.1.1",
            window=(2200.0, 2000.0) if window else None,
        )
        paths.append(path)
    return paths


def best_cpu(repeats: int, work: Callable[[], T]) -> tuple[float, T]:
    """The least CPU seconds of `repeats` runs of `work`, and the last run's result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.process_time()
        result = work()
        best = min(best, time.process_time() - started)
    assert result is not None
    return best, result


def _digest(pngs: list[bytes]) -> str:
    return hashlib.sha256(b"".join(hashlib.sha256(png).digest() for png in pngs)).hexdigest()


def _line(label: str, seconds: float, count: int, note: str = "") -> str:
    rate = f"{count / seconds:8.1f} images/s" if seconds > 0 else " " * 17
    return f"{label:34s} {1000 * seconds / count:7.1f} ms/image  {rate}{note}"


def breakdown(paths: list[Path], options: ImagingOptions, repeats: int) -> list[tuple[str, float]]:
    """CPU seconds of the resize, the PNG filter choice and the deflate alone, on the same images."""
    unresized = ImagingOptions(max_side=1 << 30, max_pixels=options.max_pixels)
    full = [standardise_display(p, options=unresized) for p in paths]
    resizing, small = best_cpu(repeats, lambda: [imaging._bound(image, options.max_side) for image in full])
    greys = [np.asarray(image) for image in small]
    filtering, rows = best_cpu(repeats, lambda: [png._filtered_rows(grey) for grey in greys])
    level = imaging._PNG_COMPRESS_LEVEL
    deflating, _ = best_cpu(repeats, lambda: [png._deflate(filtered, level) for filtered in rows])
    return [
        ("  Lanczos resize (Pillow, fixed)", resizing),
        ("  PNG filter choice (numpy)", filtering),
        (f"  zlib deflate, level {level} (fixed)", deflating),
    ]


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--size", type=int, default=2048, help="rows of each radiograph (columns are 4/5)")
    parser.add_argument("--repeats", type=int, default=3, help="passes per stage; the fastest counts")
    parser.add_argument("--no-window", action="store_true", help="no stored window: the percentile stretch")
    parser.add_argument("--breakdown", action="store_true", help="also time resize, filters, deflate alone")
    parser.add_argument("--no-parallel", action="store_true", help="skip the build_catalog row")
    parser.add_argument("--reference", action="store_true", help="also time standardise + encode_png")
    args = parser.parse_args()
    options = ImagingOptions()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "dicom"
        folder.mkdir()
        paths = generate(folder, args.images, args.size, window=not args.no_window)

        bare, _ = best_cpu(args.repeats, lambda: [pydicom.dcmread(p).pixel_array for p in paths])
        standardising, images = best_cpu(
            args.repeats, lambda: [standardise_display(p, options=options) for p in paths]
        )
        encoding, pngs = best_cpu(args.repeats, lambda: [encode_rgb_png(image) for image in images])
        digest = _digest(pngs)
        reference = None
        if args.reference:
            reference, rgb_pngs = best_cpu(
                args.repeats, lambda: [encode_png(standardise(p, options=options)) for p in paths]
            )
            assert _digest(rgb_pngs) == digest, "the RGB path wrote other bytes"
        parts = breakdown(paths, options, args.repeats) if args.breakdown else []

        parallel = None
        if not args.no_parallel:
            items = [
                SourceImage("bench", p.stem, p, "xray", "unknown", (Finding("Osteophytes"),)) for p in paths
            ]
            sources = {"bench": (lambda _root: items, folder)}
            started = time.perf_counter()
            build_catalog(sources, Path(temp) / "catalog", key=b"bench-key-0123456789", workers=None)
            parallel = time.perf_counter() - started

    count = len(paths)
    single = standardising + encoding
    window = "no stored window" if args.no_window else "stored window"
    kinds = ", ".join(map(str, COMPRESSIONS))
    print(f"{count} DICOM files, {args.size}x{args.size * 4 // 5}, {kinds}; {window}")
    print(f"CPU time, best of {args.repeats}")
    print(_line("bare pydicom read + decode", bare, count))
    print(_line("standardise, beyond the decode", standardising - bare, count))
    print(_line("PNG encode (encode_rgb_png)", encoding, count))
    print(
        _line(
            "standardise + PNG, 1 process", single, count, f"  ({single / bare:.2f}x the bare decode's time)"
        )
    )
    print(f"{'sha256 of the output PNGs':34s} {digest}")
    if parts:
        fixed = bare + sum(seconds for label, seconds in parts if "fixed" in label)
        for label, seconds in parts:
            print(_line(label, seconds, count))
        print(_line("  decode + resize + deflate", fixed, count, "  (the most that these bytes allow)"))
    if reference is not None:
        print(_line("standardise + encode_png (RGB)", reference, count, "  (same bytes)"))
    if parallel is not None:
        print(_line(f"build_catalog, {os.cpu_count()} processes (wall)", parallel, count))


if __name__ == "__main__":
    main()
