"""Content hashes: what names an image, a catalogue or a benchmark file at every stage."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

_CHUNK: Final = 1 << 20


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
