"""The embeddings file: every catalogue image's quantised vector, written beside the benchmark.

`<BENCH>.embeddings.npz` holds `image_ids` (sorted), `vectors` ([n, dim] int16, see `quantise`) and `header`
(JSON: format, scale, encoder provenance). With it, `spinebench build --embeddings FILE` makes the same
questions on a machine that has no encoder: the int16 vectors are exactly what the similarity stage ranks on.

The archive is stored uncompressed with fixed timestamps, so its bytes depend on no zlib version or clock.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from spinebench.embeddings._provenance import EncoderProvenance
from spinebench.embeddings._quantise import SCALE, QuantisationError, Quantised, check_exact_range
from spinebench.errors import SpineBenchError

EMBEDDINGS_SUFFIX: Final = ".embeddings.npz"
FORMAT: Final = "spinebench.embeddings"
FORMAT_VERSION: Final = 1
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)


class EmbeddingsFileError(SpineBenchError):
    """An embeddings file is missing, unreadable, inconsistent, or lacks an image the build needs."""


@dataclass(frozen=True, slots=True)
class EmbeddingsFile:
    image_ids: npt.NDArray[np.str_]
    vectors: Quantised
    encoder: EncoderProvenance
    scale: int = SCALE

    @classmethod
    def of(
        cls, image_ids: Sequence[str], vectors: Quantised, encoder: EncoderProvenance, scale: int = SCALE
    ) -> EmbeddingsFile:
        """Rows sorted by image id (one per id), so the file does not depend on the catalogue's order."""
        unique, first = np.unique(np.asarray(list(image_ids), dtype=np.str_), return_index=True)
        return cls(unique, np.ascontiguousarray(vectors[first], dtype=np.int16), encoder, scale)

    def lookup(self, image_ids: Sequence[str], *, what: str) -> Quantised:
        """The vectors of `image_ids`, in their order; an error naming the first id the file lacks."""
        wanted = np.asarray(list(image_ids), dtype=np.str_)
        rows = np.searchsorted(self.image_ids, wanted)
        found = (rows < len(self.image_ids)) & (
            self.image_ids[np.minimum(rows, len(self.image_ids) - 1)] == wanted
        )
        if len(wanted) and (not len(self.image_ids) or not found.all()):
            missing = wanted[~found] if len(self.image_ids) else wanted
            raise EmbeddingsFileError(
                f"{what}: holds no vector for {len(missing)} catalogue images (first: image {missing[0]}); "
                "was it written for another catalogue?"
            )
        return self.vectors[rows]


def embeddings_path(bench: Path) -> Path:
    """Where a build of `bench` writes its embeddings file: beside the folder, not inside it."""
    return bench.with_name(bench.name + EMBEDDINGS_SUFFIX)


def embeddings_to_bytes(file: EmbeddingsFile) -> bytes:
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "scale": file.scale,
        "encoder": file.encoder.to_json(),
    }
    arrays = {
        "header": np.asarray(json.dumps(header, sort_keys=True)),
        "image_ids": file.image_ids,
        "vectors": file.vectors,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key, array in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, array, allow_pickle=False)
    return buffer.getvalue()


def read_embeddings(path: Path) -> EmbeddingsFile:
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            image_ids, vectors = archive["image_ids"], archive["vectors"]
    except FileNotFoundError as error:
        raise EmbeddingsFileError(f"{path}: no such embeddings file") from error
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise EmbeddingsFileError(f"{path}: not a readable embeddings file ({error})") from error
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise EmbeddingsFileError(f"{path}: not a SpineBench embeddings file (format is not {FORMAT!r})")
    if header.get("format_version") != FORMAT_VERSION:
        raise EmbeddingsFileError(
            f"{path}: embeddings format version {header.get('format_version')} is not supported "
            f"(this SpineBench reads version {FORMAT_VERSION})"
        )
    try:
        encoder = EncoderProvenance.from_json(header.get("encoder"))
    except ValueError as error:
        raise EmbeddingsFileError(f"{path}: {error}") from error
    if header.get("scale") != SCALE:
        raise EmbeddingsFileError(f"{path}: vectors quantised with scale {header.get('scale')}, not {SCALE}")
    if (
        image_ids.ndim != 1
        or image_ids.dtype.kind != "U"
        or vectors.dtype != np.int16
        or vectors.shape != (len(image_ids), encoder.dim)
        or (len(image_ids) > 1 and not bool((image_ids[1:] > image_ids[:-1]).all()))
    ):
        raise EmbeddingsFileError(
            f"{path}: its arrays do not agree (sorted unique image ids, int16 vectors of dim {encoder.dim})"
        )
    try:
        check_exact_range(vectors)
    except QuantisationError as error:
        raise EmbeddingsFileError(f"{path}: {error}") from error
    return EmbeddingsFile(image_ids, vectors, encoder, SCALE)
