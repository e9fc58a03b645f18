"""Small JPEG thumbnails as data URIs, so the report is one file that works offline.

JPEG decoding is asked for a reduced size (`Image.draft`, DCT scaling), which makes thumbnails of
full-resolution radiographs cheap; images are decoded on a few threads (PIL releases the GIL while
decoding), and results keep the input order, so the report is the same byte for byte on every run.
"""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from spinebench.errors import SpineBenchError

THUMB_MAX_SIDE = 256
THUMB_QUALITY = 70


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A data URI, or why there is none (a missing or altered image is shown as such, not fatal)."""

    uri: str | None
    problem: str | None = None


def thumbnail_data_uri(data: bytes, max_side: int = THUMB_MAX_SIDE, quality: int = THUMB_QUALITY) -> str:
    """A `data:image/jpeg;base64,...` URI of the image shrunk to fit max_side (aspect ratio kept)."""
    with Image.open(io.BytesIO(data)) as image:
        mode = "L" if image.mode == "L" else "RGB"
        image.draft(mode, (max_side, max_side))
        small = image.convert(mode)
    small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def make_thumbnails(
    keys: Iterable[str], read: Callable[[str], bytes], max_side: int = THUMB_MAX_SIDE
) -> dict[str, Thumbnail]:
    """Thumbnails by key, made on a few threads; `read(key)` returns the image bytes."""
    ordered = list(dict.fromkeys(keys))

    def make(key: str) -> Thumbnail:
        try:
            return Thumbnail(thumbnail_data_uri(read(key), max_side))
        except SpineBenchError as error:
            return Thumbnail(None, str(error))
        except (UnidentifiedImageError, OSError, ValueError) as error:
            return Thumbnail(None, f"{key}: not a readable image ({error})")

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return dict(zip(ordered, pool.map(make, ordered), strict=True))
