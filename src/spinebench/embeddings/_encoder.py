"""The image encoder interface, the encoder specs, and the helpers every encoder shares.

An encoder turns a batch of PIL images into one L2-normalised float32 row per image; cosine similarity is
then a dot product. Heavy encoders import torch/transformers when they first encode (or load), never at
`import spinebench.embeddings`, so the package works without them.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Final, Protocol

import numpy as np
from PIL import Image

from spinebench.errors import SpineBenchError

DEFAULT_ENCODER: Final = "efficientnet-lite0"
ENCODER_HELP: Final = "efficientnet-lite0 | siglip2:<path-or-hub-id> | pixels"


class EncoderError(SpineBenchError, ValueError):
    """An encoder spec is not understood, its packages are missing, or its model cannot be loaded."""


class Encoder(Protocol):
    """Images -> [n, dim] float32 vectors, each row of unit length; `name` identifies the vectors it gives."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray: ...


def make_encoder(spec: str, *, device: str = "cpu", batch_size: int = 32) -> Encoder:
    """The encoder a spec names; nothing heavy is imported or loaded until it first encodes.

    `device` ("cpu", "cuda", "cuda:1", "mps", or "auto" for CUDA when present) and `batch_size` (images per
    forward pass) apply to the torch encoders.
    """
    kind, colon, argument = spec.strip().partition(":")
    if batch_size < 1:
        raise EncoderError(f"encoder batch size must be at least 1, not {batch_size}")
    if kind == "pixels" and not colon:
        from spinebench.embeddings._pixels import PixelEncoder

        return PixelEncoder()
    if kind == "efficientnet-lite0" and not colon:
        from spinebench.embeddings._efficientnet import EfficientNetLite0Encoder

        return EfficientNetLite0Encoder(device=device, batch_size=batch_size)
    if kind == "siglip2" and argument.strip():
        from spinebench.embeddings._siglip2 import Siglip2Encoder

        return Siglip2Encoder(argument.strip(), device=device, batch_size=batch_size)
    raise EncoderError(f"encoder spec {spec!r} is not understood; expected {ENCODER_HELP}")


def require_packages(encoder: str, modules: Sequence[str], extra: str) -> None:
    """A clear EncoderError when an encoder's optional packages are missing (looked up without importing).

    Not `models.hf.require_extra`: the embeddings stage comes before the models and must not depend on them,
    and a missing encoder package is an encoder error, not a model-spec one.
    """
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise EncoderError(
            f"the {encoder} encoder needs {', '.join(missing)}, not installed here: "
            f"pip install 'spinebench[{extra}]'"
        )


def l2_normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, as float32.

    A row with no length (a blank image under the pixel encoder) becomes the uniform unit vector, so it
    stays a valid unit vector, equal for all such images, instead of NaN.
    """
    rows = np.asarray(vectors, dtype=np.float64)
    if rows.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    empty = norms[:, 0] <= 1e-12
    out: np.ndarray = np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 1e-12)
    if empty.any():
        out[empty] = 1.0 / np.sqrt(rows.shape[1])
    return out.astype(np.float32)


def square_thumbnail(image: Image.Image, side: int, mode: str) -> Image.Image:
    """`image` in `mode`, scaled so its longer side is `side` and centred on a black `side`×`side` square.

    Letterboxing, not cropping or squashing: spine radiographs are tall, and a centre crop would cut off the
    cervical curve or the sacrum, while squashing would flatten exactly the shapes that tell classes apart.
    Black is the background of radiographs and MRI slices alike.
    """
    converted = image.convert(mode)
    width, height = converted.size
    scale = side / max(width, height, 1)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # reducing_gap: a fast integer box reduction first, then bilinear: twice as fast from 1024 px, and the
    # same pixels as the plain resize on our phantoms (Pillow documents 3.0 as near-indistinguishable).
    resized = converted.resize(size, Image.Resampling.BILINEAR, reducing_gap=3.0)
    canvas = Image.new(mode, (side, side), 0)
    canvas.paste(resized, ((side - size[0]) // 2, (side - size[1]) // 2))
    return canvas


def batches(count: int, size: int) -> list[range]:
    """Index ranges of consecutive batches of at most `size` covering `count` items."""
    return [range(start, min(start + size, count)) for start in range(0, count, size)]
