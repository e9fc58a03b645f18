"""The reference library: a seeded sample of up to `size` catalogue images per answer class.

The paper ranks distractors against 200 randomly sampled images per disease. We sample every answer class,
Healthy included: hard-negative ranking uses only the 11 disease classes (Healthy is always an option, so it
is never ranked), while the `knn` baseline needs Healthy neighbours to be able to answer Healthy.

An image with several diseases can enter the pool of each of them, so the library is a list of
(catalogue image, class) rows, sorted by class so that per-class aggregation works on contiguous blocks.
A class keeps the `size` images with the smallest keyed hash of (seed, class, image id): a seeded random
sample that depends neither on the catalogue's order nor on the images of other classes, and a grown
catalogue keeps every earlier pick that still ranks among the smallest. Within a class, rows are in image-id
order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spinebench.questions._keyed import keyed_hash64
from spinebench.taxonomy import ANSWER_CLASSES

DEFAULT_LIBRARY_SIZE = 200


@dataclass(frozen=True, slots=True)
class Library:
    """Rows of the reference library, sorted by class code (index into `classes`), then image id.

    `images[r]` is the catalogue index of row r, `codes[r]` its class code. `starts[c]:starts[c+1]` are the
    rows of class c (empty for a class the catalogue lacks).
    """

    images: npt.NDArray[np.int64]
    codes: npt.NDArray[np.int64]
    classes: tuple[str, ...]
    size: int

    @property
    def starts(self) -> npt.NDArray[np.int64]:
        return np.searchsorted(self.codes, np.arange(len(self.classes) + 1)).astype(np.int64)

    def counts(self) -> dict[str, int]:
        starts = self.starts
        return {name: int(starts[c + 1] - starts[c]) for c, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.images)


def sample_library(
    labels: Sequence[Sequence[str]],
    *,
    size: int = DEFAULT_LIBRARY_SIZE,
    seed: int = 0,
    classes: Sequence[str] = ANSWER_CLASSES,
    image_ids: Sequence[str] | None = None,
) -> Library:
    """Samples up to `size` images per class; `labels[i]` are the classes of catalogue image i and
    `image_ids[i]` its id (None: the index stands for the id, so the sample then follows the order)."""
    ids = [str(index) for index in range(len(labels))] if image_ids is None else list(image_ids)
    if len(ids) != len(labels):
        raise ValueError(f"{len(labels)} label sets but {len(ids)} image ids")
    if size < 1:
        raise ValueError(f"a library needs at least 1 image per class, not {size}")
    pools: dict[str, list[int]] = {name: [] for name in classes}
    for index, names in enumerate(labels):
        for name in set(names):
            if name in pools:
                pools[name].append(index)
    images: list[int] = []
    codes: list[int] = []
    for code, name in enumerate(classes):
        pool = sorted(pools[name], key=lambda index: ids[index])
        if len(pool) > size:
            ranks = keyed_hash64(f"{seed}:library:{name}", [ids[index] for index in pool])
            kept = np.sort(np.argsort(ranks, kind="stable")[:size])  # back in image-id order
            pool = [pool[int(position)] for position in kept]
        images.extend(pool)
        codes.extend([code] * len(pool))
    return Library(
        images=np.asarray(images, dtype=np.int64),
        codes=np.asarray(codes, dtype=np.int64),
        classes=tuple(classes),
        size=size,
    )
