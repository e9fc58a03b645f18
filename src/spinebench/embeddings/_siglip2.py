"""`siglip2:<path-or-hub-id>`: the image tower of a SigLIP2 (or SigLIP) checkpoint, the paper's encoder.

Loaded through transformers `AutoModel` with the checkpoint's own image processor, from a directory written by
`save_pretrained` (read with `local_files_only`, so nothing is fetched) or a hub id (fetched, or read from the
local hub cache when HF_HUB_OFFLINE=1). A full SigLIP model gives `get_image_features`; a vision-only
checkpoint (`Siglip2VisionModel`) its pooled output; the two are the same vectors.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from PIL import Image

from spinebench.embeddings._encoder import EncoderError, batches, l2_normalise, require_packages
from spinebench.embeddings._provenance import sha256_of_files
from spinebench.embeddings._torch_runtime import at_least_two, import_torch, resolve_device

EXTRA: Final = "hf"
_WEIGHT_FILES: Final = ("*.safetensors", "*.bin")
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(slots=True)
class _Loaded:
    torch: Any
    processor: Any
    model: Any
    device: Any


class Siglip2Encoder:
    """SigLIP2 image embeddings (pooled image-tower output), L2-normalised, in float32 on any device.

    `name` is `siglip2:` + the argument as given, so the vectors cached for a hub id or a path are found again
    from another working directory or machine; after replacing the weights at the same path, delete its cache
    folder. `dim` reads only the model's config, not its weights.
    """

    def __init__(self, model: str, *, device: str = "cpu", batch_size: int = 32) -> None:
        require_packages("siglip2", ("torch", "transformers"), EXTRA)
        self.model = model.rstrip("/\\") or model
        self.device = device
        self.batch_size = max(1, batch_size)
        self.source, self.local = _model_source(self.model)
        self._dim: int | None = None
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return f"siglip2:{self.model}"

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._dim = self._config_dim()
        return self._dim

    @property
    def framework(self) -> str:
        return "torch"

    def weights_sha256(self) -> str | None:
        """The sha256 of the model's weight files (a local folder, or the hub cache's snapshot); None when
        they cannot be found offline."""
        folder: Path | None = Path(self.source) if self.local else None
        if folder is None:
            try:
                from huggingface_hub import snapshot_download

                folder = Path(snapshot_download(self.source, local_files_only=True))
            except Exception:  # not cached, or no huggingface_hub: the card says the hash is unknown
                return None
        files = [f for pattern in _WEIGHT_FILES for f in folder.glob(pattern) if f.is_file()]
        return sha256_of_files(files) if files else None

    def load(self) -> None:
        """Loads the processor and model now (otherwise the first `encode` does). Idempotent."""
        self._ensure_loaded()

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        loaded = self._ensure_loaded()
        torch = loaded.torch
        parts: list[np.ndarray] = []
        with torch.inference_mode():
            for rows in batches(len(images), self.batch_size):
                chunk = [images[index].convert("RGB") for index in rows]
                inputs = loaded.processor(images=at_least_two(chunk), return_tensors="pt")
                inputs = {key: value.to(loaded.device) for key, value in inputs.items()}
                if hasattr(loaded.model, "get_image_features"):
                    output = loaded.model.get_image_features(**inputs)
                else:
                    output = loaded.model(**inputs)
                # transformers 5 returns a ModelOutput from get_image_features; 4.x returned the tensor.
                pooled = output if torch.is_tensor(output) else output.pooler_output
                parts.append(pooled[: len(chunk)].float().cpu().numpy())
        vectors = np.concatenate(parts)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise EncoderError(
                f"{self.name}: the model gave {vectors.shape[1:]}-shaped vectors, "
                f"its config {self.dim}-d ones"
            )
        return l2_normalise(vectors)

    def _config_dim(self) -> int:
        # Through AutoConfig, not config.json: save_pretrained may leave out values equal to the defaults.
        transformers = _import_transformers()
        try:
            config = transformers.AutoConfig.from_pretrained(self.source, local_files_only=self.local)
        except Exception as error:  # hub and parsing errors come in many classes
            raise EncoderError(f"{self.name}: cannot load its config: {_brief(error)}") from error
        size = getattr(getattr(config, "vision_config", None) or config, "hidden_size", None)
        if not isinstance(size, int) or size < 1:
            raise EncoderError(f"{self.name}: its config gives no vision hidden_size; is it a SigLIP model?")
        return size

    def _ensure_loaded(self) -> _Loaded:
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> _Loaded:
        torch = import_torch("siglip2", EXTRA)
        transformers = _import_transformers()
        device = resolve_device(torch, self.device, self.name)
        try:
            # The image processor alone: a SigLIP2 repository's full processor also wants its tokenizer,
            # which image embedding never uses.
            processor = transformers.AutoImageProcessor.from_pretrained(
                self.source, local_files_only=self.local
            )
        except Exception as error:
            raise EncoderError(
                f"{self.name}: cannot load an image processor from {self.source}: {_brief(error)}"
            ) from error
        major_minor = tuple(int(part) for part in transformers.__version__.split(".")[:2])
        dtype_key = "dtype" if major_minor >= (4, 56) else "torch_dtype"
        try:
            model = transformers.AutoModel.from_pretrained(
                self.source, local_files_only=self.local, **{dtype_key: torch.float32}
            )
        except Exception as error:
            raise EncoderError(
                f"{self.name}: cannot load a model from {self.source}: {_brief(error)}"
            ) from error
        if not hasattr(model, "get_image_features") and "Vision" not in type(model).__name__:
            raise EncoderError(
                f"{self.name}: {type(model).__name__} has no image tower; give a SigLIP2 (or SigLIP) model"
            )
        model.eval()
        try:
            model.to(device)
        except Exception as error:
            raise EncoderError(f"{self.name}: cannot place the model on {self.device!r}: {error}") from error
        return _Loaded(torch, processor, model, device)


def _model_source(argument: str) -> tuple[str, bool]:
    """(directory or hub id, whether it is a local directory).

    Something that exists on disk, or looks like a path, must be a directory holding a model (config.json);
    anything of the form `name` or `org/name` is a hub id.
    """
    path = Path(argument).expanduser()
    looks_like_path = argument.startswith(("/", "./", "../", "~", ".\\")) or not _HUB_ID.match(argument)
    if path.exists() or looks_like_path:
        if not path.exists():
            raise EncoderError(f"siglip2: no model at {path}: no such file or directory")
        if not path.is_dir() or not (path / "config.json").is_file():
            raise EncoderError(
                f"siglip2: {path} holds no model (no config.json); give a directory written by "
                "save_pretrained, or a hub id such as google/siglip2-so400m-patch14-384"
            )
        return str(path.resolve()), True
    return argument, False


def _import_transformers() -> Any:
    try:
        return importlib.import_module("transformers")
    except ImportError as error:
        raise EncoderError(
            f"the siglip2 encoder cannot import transformers ({error}): pip install 'spinebench[{EXTRA}]'"
        ) from error


def _brief(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]
