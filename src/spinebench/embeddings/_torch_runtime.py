"""What the torch encoders share: importing torch late, choosing the device, and batch-size invariance."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from PIL import Image

from spinebench.embeddings._encoder import EncoderError


def import_torch(encoder: str, extra: str) -> ModuleType:
    try:
        return importlib.import_module("torch")
    except ImportError as error:  # found by require_packages but broken (e.g. a torchvision clash)
        raise EncoderError(
            f"the {encoder} encoder cannot import torch ({error}): pip install 'spinebench[{extra}]'"
        ) from error


def resolve_device(torch: ModuleType, device: str, encoder: str) -> Any:
    """A torch.device for "cpu", "cuda", "cuda:1", "mps" or "auto" (CUDA when present, else the CPU)."""
    wanted = device.strip() or "cpu"
    if wanted == "auto":
        wanted = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        resolved = torch.device(wanted)
    except (RuntimeError, ValueError) as error:
        raise EncoderError(f"{encoder}: device {device!r} is not understood ({error})") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise EncoderError(f"{encoder}: device {device!r} asked for, but torch sees no CUDA device here")
    return resolved


def at_least_two(images: Sequence[Image.Image]) -> list[Image.Image]:
    """The images, the only one twice when there is one (the extra row of output is dropped).

    On the CPU, torch runs a batch of one through other kernels than larger batches, and the vectors differ
    in the last bits; every batch of two or more gives bit-identical rows. Never running a batch of one keeps
    an image's vector independent of how the images were batched, so a cache filled across several partial
    runs holds exactly what one full run would have computed.
    """
    return [images[0], images[0]] if len(images) == 1 else list(images)
