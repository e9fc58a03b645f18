"""What produced a set of vectors: the encoder's name and spec, its weights' sha256, and the torch version.

Recorded in the embeddings file and the dataset card, so a reader knows which model chose the distractors and
a rebuild from the file (on a machine without the encoder) states the same provenance.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

from spinebench.embeddings._encoder import Encoder

_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class EncoderProvenance:
    """`weights_sha256`: None for an encoder without weights (or whose files could not be found);
    `torch`: the torch version that ran it, None when it does not use torch."""

    name: str
    spec: str
    dim: int
    weights_sha256: str | None
    torch: str | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> EncoderProvenance:
        if not isinstance(data, dict):
            raise ValueError("encoder provenance is not an object")
        name, spec, dim = data.get("name"), data.get("spec"), data.get("dim")
        weights, torch = data.get("weights_sha256"), data.get("torch")
        if not (isinstance(name, str) and isinstance(spec, str) and isinstance(dim, int) and dim > 0):
            raise ValueError("encoder provenance lacks a name, spec or positive dim")
        if not (weights is None or isinstance(weights, str)) or not (torch is None or isinstance(torch, str)):
            raise ValueError("encoder provenance has a weights hash or torch version that is not text")
        return cls(name, spec, dim, weights, torch)


def describe_encoder(encoder: Encoder, spec: str) -> EncoderProvenance:
    """The provenance of `encoder`: one with weights has `weights_sha256()`, a torch one `framework`."""
    weights = getattr(encoder, "weights_sha256", None)
    framework = getattr(encoder, "framework", None)
    return EncoderProvenance(
        name=encoder.name,
        spec=spec,
        dim=int(encoder.dim),
        weights_sha256=weights() if callable(weights) else None,
        torch=_version("torch") if framework == "torch" else None,
    )


def sha256_of_files(files: list[Path]) -> str:
    """One sha256 over the files' names and bytes, in name order (a model saved as several shards)."""
    digest = hashlib.sha256()
    for file in sorted(files, key=lambda path: path.name):
        digest.update(file.name.encode() + b"\x00")
        with file.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None
