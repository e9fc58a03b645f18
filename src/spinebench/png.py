"""An RGB PNG of a grey image, byte for byte what Pillow writes for `grey.convert("RGB")`, in less time.

Stored catalogue images are RGB PNGs whose three channels are equal (standardised radiographs and MRI are
grey). Pillow spends about as long choosing each row's filter over the three channels as zlib spends
compressing them. With equal channels every filter's output is the grey row's, each byte three times, and the
row's cost is three times the grey cost, so the choice is made once on the grey image, with numpy. The bytes
must not change (the file's sha256 is the image id, and embedding caches are keyed by it), so this follows
Pillow's encoder (`libImaging/ZipEncode.c`, `ImageFile._save`) exactly:

- per row, the filter whose output has the least sum of |signed byte|, tried in the order none, up, sub,
  Paeth, a later one winning only when strictly smaller (Pillow skips "average" unless `optimize`);
- the first row's "above" and the first pixel's "left" are zero;
- zlib at the given level with window 15, memory level 9 and the Z_FILTERED strategy, fed in one stream;
- IDAT chunks of Pillow's buffer size (the last one shorter), and no chunk besides IHDR, IDAT and IEND.

tests/test_imaging_bytes.py holds the digests recorded from Pillow's own encoder.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Pillow's filter-type bytes, in the order its encoder tries them.
_FILTER_CODES = np.array([0, 2, 1, 4], dtype=np.uint8)


def grey_as_rgb_png(grey: Image.Image, compress_level: int) -> bytes:
    """PNG bytes identical to `grey.convert("RGB").save(buffer, "PNG", compress_level=..., optimize=False)`
    for a fresh image (no info chunks), at any level but 0 (whose stored blocks follow how Pillow splits its
    input)."""
    if grey.mode != "L":
        raise ValueError(f"expected a grey (L) image, got mode {grey.mode}")
    width, height = grey.size
    stream = _deflate(_filtered_rows(np.asarray(grey)), compress_level)
    chunk_size = max(ImageFile.MAXBLOCK, width * 4)
    parts = [_SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    view = memoryview(stream)
    for start in range(0, len(stream), chunk_size):
        parts.append(_chunk(b"IDAT", view[start : start + chunk_size]))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def _deflate(filtered: NDArray[np.uint8], compress_level: int) -> bytes:
    """The zlib stream of the filtered scanlines, with Pillow's settings."""
    compressor = zlib.compressobj(compress_level, zlib.DEFLATED, 15, 9, zlib.Z_FILTERED)
    return compressor.compress(filtered.data) + compressor.flush()


def _filtered_rows(grey: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The filtered RGB scanlines (filter byte, then each grey byte three times), as Pillow chooses them."""
    height, width = grey.shape
    # Candidate outputs in Pillow's order of trial: none, up, sub, Paeth. uint8 arithmetic wraps like C's.
    candidates = np.empty((4, height, width), dtype=np.uint8)
    none, up, sub, paeth = candidates
    none[:] = grey
    up[0] = grey[0]  # the row above the first is zero
    np.subtract(grey[1:], grey[:-1], out=up[1:])
    sub[:, 0] = grey[:, 0]  # the pixel left of the first is zero
    np.subtract(grey[:, 1:], grey[:, :-1], out=sub[:, 1:])
    _paeth(grey, paeth)
    # |signed byte| of each output byte (v for v < 128, else 256 - v; int8 -128 reads back as 128); the RGB
    # row costs three times its grey row, so the choice is the same.
    costs = np.abs(candidates.view(np.int8)).view(np.uint8).sum(axis=2, dtype=np.uint32)
    choice = np.argmin(costs, axis=0)  # the first of equal minima: a later filter must be strictly smaller
    rows = np.empty((height, 1 + 3 * width), dtype=np.uint8)
    rows[:, 0] = _FILTER_CODES[choice]
    chosen = candidates[choice, np.arange(height)]
    # One strided copy per channel: several times faster than np.repeat or a broadcast into (h, w, 3).
    rgb = rows[:, 1:].reshape(height, width, 3)
    for channel in range(3):
        rgb[:, :, channel] = chosen
    return rows.reshape(-1)


def _paeth(grey: NDArray[np.uint8], out: NDArray[np.uint8]) -> None:
    """The Paeth filter's output, written to `out`: x minus whichever of left (a), above (b), above-left (c)
    is nearest to a + b - c, ties going to a, then b."""
    # Outside the image a, b and c are zero, so the first row's predictor is always a (its distance is
    # |b - c| = 0) and the first column's is b (|a - c| = 0 is the least distance; on a tie a = 0 = b).
    out[0, 0] = grey[0, 0]
    np.subtract(grey[0, 1:], grey[0, :-1], out=out[0, 1:])
    np.subtract(grey[1:, 0], grey[:-1, 0], out=out[1:, 0])
    x, a, b, c = grey[1:, 1:], grey[1:, :-1], grey[:-1, 1:], grey[:-1, :-1]
    pa = np.subtract(b, c, dtype=np.int16)  # |b - c|, |a - c| and |a + b - 2c|, in place
    pb = np.subtract(a, c, dtype=np.int16)
    pc = np.add(pa, pb)
    np.abs(pc, out=pc)
    np.abs(pa, out=pa)
    np.abs(pb, out=pb)
    not_a = pa > np.minimum(pb, pc)
    not_b = pb > pc
    # The predictor by masked arithmetic (a 0/1 mask times a wrapped difference), not np.where: branch-free
    # passes over uint8, about six times faster on radiographs.
    predictor = np.subtract(c, b)
    predictor *= not_b.view(np.uint8)
    predictor += b  # c where not_b, else b
    predictor -= a
    predictor *= not_a.view(np.uint8)
    predictor += a
    np.subtract(x, predictor, out=out[1:, 1:])


def _chunk(kind: bytes, data: bytes | memoryview) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(data)), kind, data, struct.pack(">I", crc)))
