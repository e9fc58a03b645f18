"""`library.npz`: the reference library's vectors and labels, shipped in the benchmark for the `knn` baseline.

Vectors are stored once per library image, in image-id order, as int16: they are the quantised vectors the
build ranked on, read back as float32 (exactly). Rows say which class each image stands for (an image with
two diseases is in both pools) and, for that class, which levels it has. The archive is stored uncompressed
with fixed zip timestamps, so the same build gives the same bytes whatever the zlib version or the clock
(numpy's own `savez` stamps the current time).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from spinebench.catalog import CatalogEntry
from spinebench.embeddings import SCALE, dequantise, quantise
from spinebench.errors import SpineBenchError
from spinebench.questions._library import Library
from spinebench.taxonomy import LEVELS

LIBRARY_FILE: Final = "library.npz"
_KEYS: Final = ("image_ids", "levels", "row_class", "row_image", "row_levels", "vectors")
_ZIP_TIME: Final = (1980, 1, 1, 0, 0, 0)


class LibraryFileError(SpineBenchError):
    """A `library.npz` is missing arrays or holds inconsistent ones."""


@dataclass(frozen=True, slots=True)
class LibraryArrays:
    """`vectors[u]` / `image_ids[u]`: one per library image; `row_image[r]` (index into them),
    `row_class[r]` (class name) and `row_levels[r, l]` (has level `levels[l]`): one per library row."""

    vectors: npt.NDArray[np.float32]
    image_ids: npt.NDArray[np.str_]
    row_image: npt.NDArray[np.int64]
    row_class: npt.NDArray[np.str_]
    row_levels: npt.NDArray[np.bool_]
    levels: npt.NDArray[np.str_]

    @property
    def classes(self) -> set[str]:
        return {str(name) for name in self.row_class}


def library_arrays(
    library: Library, entries: list[CatalogEntry], vectors: npt.NDArray[np.int16]
) -> LibraryArrays:
    """The arrays of the library file for a sampled library over the catalogue `entries` and their
    quantised vectors."""
    # Library images in image-id order, so the file does not depend on the catalogue's order.
    ids = np.asarray([entries[i].image_id for i in library.images], dtype=np.str_)
    unique_ids, first, row_image = np.unique(ids, return_index=True, return_inverse=True)
    unique = library.images[first]
    row_levels = np.zeros((len(library.images), len(LEVELS)), dtype=np.bool_)
    for row, (index, code) in enumerate(zip(library.images, library.codes, strict=True)):
        name = library.classes[code]
        for finding in entries[index].findings:
            if finding.disease == name:
                for level in finding.levels:
                    if level in LEVELS:
                        row_levels[row, LEVELS.index(level)] = True
    return LibraryArrays(
        vectors=dequantise(vectors[unique]),
        image_ids=unique_ids,
        row_image=row_image.astype(np.int64),
        row_class=np.asarray([library.classes[c] for c in library.codes], dtype=np.str_),
        row_levels=row_levels,
        levels=np.asarray(LEVELS, dtype=np.str_),
    )


def library_to_bytes(arrays: LibraryArrays) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for key in _KEYS:
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_TIME)
            value = quantise(arrays.vectors) if key == "vectors" else getattr(arrays, key)
            with archive.open(info, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, value, allow_pickle=False)
    return buffer.getvalue()


def library_from_bytes(data: bytes, *, what: str = LIBRARY_FILE) -> LibraryArrays:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            missing = [key for key in _KEYS if key not in archive.files]
            if missing:
                raise LibraryFileError(f"{what}: missing arrays {', '.join(missing)}")
            loaded = {key: archive[key] for key in _KEYS}
        if loaded["vectors"].dtype == np.int16:  # quantised (SCALE): exactly the vectors the build used
            loaded["vectors"] = dequantise(loaded["vectors"], scale=SCALE)
        arrays = LibraryArrays(**loaded)
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise LibraryFileError(f"{what}: not a readable library archive ({error})") from error
    rows = len(arrays.row_image)
    if (
        arrays.vectors.ndim != 2
        or len(arrays.image_ids) != len(arrays.vectors)
        or len(arrays.row_class) != rows
        or arrays.row_levels.shape != (rows, len(arrays.levels))
        or (rows and (arrays.row_image.min() < 0 or arrays.row_image.max() >= len(arrays.vectors)))
    ):
        raise LibraryFileError(f"{what}: its arrays do not agree in shape")
    return arrays
