"""DICOM -> standardised image throughput, against the bare pydicom decode of the same files.

Writes a generated set of DICOM radiographs (uncompressed, RLE and JPEG baseline, with realistic sizes),
then times (1) pydicom reading and decoding the pixels alone, (2) `spinebench.imaging.standardise` +
`encode_png`, the catalogue's per-image work, and (3) the whole `build_catalog` on all cores. Prints
images/second for each and the ratio of the standardising cost to the bare decode.

    python bench/catalog_throughput.py [--images 60] [--size 2048]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pydicom

from spinebench.catalog import build_catalog
from spinebench.imaging import ImagingOptions, encode_png, standardise
from spinebench.sources import Finding, SourceImage
from spinebench.synth.dicom import write_dicom

COMPRESSIONS = (None, "rle", "jpeg-baseline")


def generate(folder: Path, count: int, size: int) -> list[Path]:
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
            window=(2200.0, 2000.0),
        )
        paths.append(path)
    return paths


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--size", type=int, default=2048, help="rows of each radiograph (columns are 4/5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp) / "dicom"
        folder.mkdir()
        paths = generate(folder, args.images, args.size)

        started = time.perf_counter()
        for path in paths:
            pydicom.dcmread(path).pixel_array  # noqa: B018 - decoding is the point
        bare = time.perf_counter() - started

        options = ImagingOptions()
        started = time.perf_counter()
        for path in paths:
            encode_png(standardise(path, options=options))
        single = time.perf_counter() - started

        items = [SourceImage("bench", p.stem, p, "xray", "unknown", (Finding("Osteophytes"),)) for p in paths]
        sources = {"bench": (lambda _root: items, folder)}
        started = time.perf_counter()
        build_catalog(sources, Path(temp) / "catalog", key=b"bench-key-0123456789", workers=None)
        parallel = time.perf_counter() - started

    count = len(paths)
    print(f"{count} DICOM files, {args.size}x{args.size * 4 // 5}, {', '.join(map(str, COMPRESSIONS))}")
    print(f"bare pydicom decode           {count / bare:8.1f} images/s")
    ratio = single / bare
    print(f"standardise + PNG, 1 process  {count / single:8.1f} images/s  ({ratio:.1f}x bare decode time)")
    print(f"build_catalog, {os.cpu_count()} processes   {count / parallel:8.1f} images/s")


if __name__ == "__main__":
    main()
