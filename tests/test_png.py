"""spinebench.png writes what Pillow writes for the RGB conversion of a grey image, byte for byte."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from spinebench.png import grey_as_rgb_png


def _pillow(grey: Image.Image, level: int) -> bytes:
    buffer = io.BytesIO()
    grey.convert("RGB").save(buffer, format="PNG", compress_level=level, optimize=False)
    return buffer.getvalue()


def _greys() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    ramp = np.add.outer(np.arange(90), 2 * np.arange(70)).astype(np.uint8)
    return {
        "noise": rng.integers(0, 256, (60, 80), dtype=np.uint8),
        # Few distinct values: many equal filter costs and Paeth distances, where the order of trial decides.
        "three-levels": (rng.integers(0, 3, (70, 50)) * 127).astype(np.uint8),
        "two-levels": (rng.integers(0, 2, (40, 40)) * 255).astype(np.uint8),
        "ramp": ramp,
        "constant": np.full((30, 20), 77, dtype=np.uint8),
        "one-pixel": np.array([[200]], dtype=np.uint8),
        "one-row": rng.integers(0, 256, (1, 33), dtype=np.uint8),
        "one-column": rng.integers(0, 256, (33, 1), dtype=np.uint8),
        # Wide enough for several IDAT chunks.
        "wide": rng.integers(0, 256, (300, 900), dtype=np.uint8),
    }


@pytest.mark.parametrize("name", sorted(_greys()))
# Not level 0: its stored blocks depend on how the input is split between calls, and Pillow splits it.
@pytest.mark.parametrize("level", [1, 3, 6])
def test_grey_as_rgb_png_matches_pillow(name: str, level: int) -> None:
    grey = Image.fromarray(_greys()[name])
    assert grey_as_rgb_png(grey, level) == _pillow(grey, level)


def test_grey_as_rgb_png_refuses_other_modes() -> None:
    with pytest.raises(ValueError, match="grey"):
        grey_as_rgb_png(Image.new("RGB", (4, 4)), 3)
