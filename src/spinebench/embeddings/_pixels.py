"""`pixels`: a grayscale thumbnail as the vector. Not a real encoder.

It needs nothing beyond numpy and Pillow, runs at thousands of images per second, and gives stable vectors,
which is what tests and quick dry runs need. It sees only global layout and brightness, so hard negatives
chosen with it are far weaker than with efficientnet-lite0 or siglip2; never publish a benchmark built on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from PIL import Image

from spinebench.embeddings._encoder import l2_normalise, square_thumbnail

SIDE: Final = 32


class PixelEncoder:
    """32×32 letterboxed grayscale thumbnail, mean-centred (brightness drops out), L2-normalised: 1024-d."""

    @property
    def name(self) -> str:
        return "pixels"

    @property
    def dim(self) -> int:
        return SIDE * SIDE

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = np.stack(
            [np.asarray(square_thumbnail(image, SIDE, "L"), dtype=np.float64).ravel() for image in images]
        )
        return l2_normalise(rows - rows.mean(axis=1, keepdims=True))
