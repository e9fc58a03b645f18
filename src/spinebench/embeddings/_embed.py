"""Image ids -> vectors, through the cache: only images the cache lacks are loaded and encoded.

Images are loaded one batch ahead, by a few threads, while the encoder works on the current batch (Pillow and
torch release the GIL). New vectors are saved to the cache every few thousand images or minutes, and when the
run stops for any reason, so a crash or Ctrl-C late in a long run loses little.
"""

from __future__ import annotations

import contextlib
import os
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Final

import numpy as np
from PIL import Image
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from spinebench.catalog import CatalogEntry
from spinebench.embeddings._cache import EmbeddingCache, EmbeddingCacheWarning
from spinebench.embeddings._encoder import Encoder, EncoderError, batches, l2_normalise
from spinebench.errors import SpineBenchError

SAVE_EVERY_IMAGES: Final = 4096
SAVE_EVERY_SECONDS: Final = 300.0
# Decoding a 1024-px PNG takes about as long as encoding it on the CPU, and far longer on a GPU; Pillow
# decodes without holding the GIL, so several threads keep a GPU fed.
LOAD_WORKERS: Final = min(8, os.cpu_count() or 1)


# Encodes the given image ids elsewhere, yielding (ids, [len(ids), dim] vectors) batches in any order.
RemoteEncoding = Callable[[list[str]], Iterator[tuple[list[str], np.ndarray]]]
# The same for catalogue images, given each id's file.
CatalogEncoding = Callable[[list[str], Mapping[str, Path]], Iterator[tuple[list[str], np.ndarray]]]


class EmbeddingError(SpineBenchError):
    """An image cannot be loaded for embedding."""


def embed_images(
    ids: Sequence[str],
    load: Callable[[str], Image.Image],
    encoder: Encoder,
    *,
    cache_dir: Path | None,
    batch_size: int = 32,
    progress: bool = False,
    remote: RemoteEncoding | None = None,
) -> np.ndarray:
    """[len(ids), encoder.dim] float32 unit vectors, row i for ids[i].

    The ids must identify image content (SpineBench uses the sha256 of the standardised PNG): the cache under
    `cache_dir` (None: no cache) trusts an id it has seen with this encoder name. Repeated ids are encoded
    once. `load` may be called from a worker thread.
    """
    unique = list(dict.fromkeys(ids))
    dim = encoder.dim
    cache = EmbeddingCache(cache_dir, encoder.name, dim) if cache_dir is not None else None
    vectors: dict[str, np.ndarray] = cache.lookup(unique) if cache is not None else {}
    todo = [image_id for image_id in unique if image_id not in vectors]
    if todo:
        vectors.update(_encode_missing(todo, load, encoder, cache, max(1, batch_size), progress, remote))
    if cache is not None:
        with contextlib.suppress(OSError):  # merging is housekeeping; the shards stay valid without it
            cache.compact()
    out = np.empty((len(ids), dim), dtype=np.float32)
    for row, image_id in enumerate(ids):
        out[row] = vectors[image_id]
    return out


def embed_catalog(
    entries: Sequence[CatalogEntry],
    catalog_dir: Path,
    encoder: Encoder,
    *,
    cache_dir: Path | None = None,
    batch_size: int = 32,
    progress: bool = False,
    remote: CatalogEncoding | None = None,
) -> np.ndarray:
    """`embed_images` over catalogue entries: ids are their `image_id`, images their file in `catalog_dir`.

    `remote` encodes the images the cache lacks elsewhere (a cluster), given their ids and files; vectors
    come back to this process, which alone writes the cache."""
    files = {entry.image_id: catalog_dir / entry.image for entry in entries}

    def load(image_id: str) -> Image.Image:
        file = files[image_id]
        try:
            with Image.open(file) as image:
                image.load()  # read now, so the file closes here and not when the image is collected
                return image
        except (OSError, ValueError) as error:
            raise EmbeddingError(f"{file}: cannot be read for embedding: {error}") from error

    return embed_images(
        [entry.image_id for entry in entries],
        load,
        encoder,
        cache_dir=cache_dir,
        batch_size=batch_size,
        progress=progress,
        remote=(lambda todo: remote(todo, {image_id: files[image_id] for image_id in todo}))
        if remote
        else None,
    )


def _encode_missing(
    todo: list[str],
    load: Callable[[str], Image.Image],
    encoder: Encoder,
    cache: EmbeddingCache | None,
    batch_size: int,
    progress: bool,
    remote: RemoteEncoding | None = None,
) -> dict[str, np.ndarray]:
    computed: dict[str, np.ndarray] = {}
    unsaved: list[str] = []
    last_save = time.monotonic()

    def save() -> None:
        nonlocal cache, last_save
        if cache is not None and unsaved:
            try:
                cache.add(unsaved, np.stack([computed[image_id] for image_id in unsaved]))
            except OSError as error:  # a full disk or a read-only folder costs the cache, not the run
                warnings.warn(
                    f"embedding cache: cannot write to {cache.folder} ({error}); "
                    "the vectors of this run are not cached",
                    EmbeddingCacheWarning,
                    stacklevel=4,
                )
                cache = None
        unsaved.clear()
        last_save = time.monotonic()

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, disable=not progress, transient=True) as bar:
        task = bar.add_task(f"embedding images with {encoder.name}", total=len(todo))
        encoded = remote(todo) if remote is not None else _encode_here(todo, load, encoder, batch_size)
        try:
            for group, vectors in encoded:
                rows = _checked(vectors, len(group), encoder)
                computed.update(zip(group, rows, strict=True))
                unsaved.extend(group)
                bar.advance(task, len(group))
                if len(unsaved) >= SAVE_EVERY_IMAGES or time.monotonic() - last_save >= SAVE_EVERY_SECONDS:
                    save()
        finally:
            save()  # also on an error or Ctrl-C: what was computed is kept
    return computed


def _encode_here(
    todo: list[str], load: Callable[[str], Image.Image], encoder: Encoder, batch_size: int
) -> Iterator[tuple[list[str], np.ndarray]]:
    """Encodes batch by batch in this process, loading the next batch in threads meanwhile."""
    groups = [[todo[index] for index in rows] for rows in batches(len(todo), batch_size)]
    with ThreadPoolExecutor(max_workers=LOAD_WORKERS, thread_name_prefix="spinebench-load") as loader:

        def submit(group: list[str]) -> list[Future[Image.Image]]:
            return [loader.submit(_load_one, load, image_id) for image_id in group]

        upcoming = submit(groups[0])
        try:
            for index, group in enumerate(groups):
                images = [future.result() for future in upcoming]
                if index + 1 < len(groups):
                    upcoming = submit(groups[index + 1])
                yield group, encoder.encode(images)
        finally:
            for future in upcoming:
                future.cancel()


def _load_one(load: Callable[[str], Image.Image], image_id: str) -> Image.Image:
    try:
        return load(image_id)
    except (OSError, ValueError) as error:  # PIL's UnidentifiedImageError is an OSError
        raise EmbeddingError(f"image {image_id} cannot be loaded for embedding: {error}") from error


def _checked(vectors: np.ndarray, count: int, encoder: Encoder) -> np.ndarray:
    """The encoder's output, held to the contract: [count, dim], finite, unit rows."""
    rows = np.asarray(vectors)
    if rows.shape != (count, encoder.dim):
        raise EncoderError(
            f"encoder {encoder.name} returned vectors of shape {rows.shape} for {count} images; "
            f"expected ({count}, {encoder.dim})"
        )
    if not np.isfinite(rows).all():
        raise EncoderError(f"encoder {encoder.name} returned NaN or infinite values")
    return l2_normalise(rows)
