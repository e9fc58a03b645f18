"""`spinebench build --ray`: decoding and embedding as Ray Data stages, everything written by this process.

- Standardisation is a Ray Data `map` over the source images the catalogue has not converted yet: each task
  decodes one image and returns its PNG bytes.
- Embedding is a `map_batches` over an actor pool, each actor holding one encoder (on a GPU when
  `--device cuda` and the cluster has GPUs), for the images the embedding cache lacks.

Ray Data keeps no order and would write many files, so results come back to the driver, where the
catalogue and the embedding cache store them exactly as a local build does: the same catalogue, the same
vectors, the same benchmark bytes. A rerun skips what those content-hash caches already hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np

from spinebench.catalog import StandardisedPNG, standardised_png_or_reason
from spinebench.cluster._ray import connect
from spinebench.embeddings import make_encoder
from spinebench.imaging import ImagingOptions
from spinebench.sources import SourceImage

_ITEMS_PER_BLOCK: Final = 8


class RayConversions:
    """Standardises source images on a Ray cluster (the catalogue's `ConversionExecutor`).

    The source folders must be readable at the same paths on every node.
    """

    def __init__(self, address: str = "local") -> None:
        self.address = address

    def convert(
        self, items: Sequence[SourceImage], imaging: ImagingOptions
    ) -> Iterator[tuple[int, StandardisedPNG | str]]:
        if not items:
            return
        ray = connect(self.address)
        rows = [{"index": index, "item": item} for index, item in enumerate(items)]
        blocks = max(1, len(rows) // _ITEMS_PER_BLOCK)
        converted = ray.data.from_items(rows, override_num_blocks=blocks).map(
            _standardise_row, fn_kwargs={"imaging": imaging}, num_cpus=1
        )
        for row in converted.iter_rows():
            if row["reason"]:
                yield int(row["index"]), str(row["reason"])
            else:
                # 0: no source size read (the image has no marked grade point).
                source = (int(row["source_width"]) or None, int(row["source_height"]) or None)
                png = StandardisedPNG(bytes(row["png"]), int(row["width"]), int(row["height"]), *source)
                yield int(row["index"]), png


def _standardise_row(row: dict[str, Any], *, imaging: ImagingOptions) -> dict[str, Any]:
    result = standardised_png_or_reason(row["item"], imaging)
    if isinstance(result, str):
        return {
            "index": row["index"],
            "png": b"",
            "width": 0,
            "height": 0,
            "source_width": 0,
            "source_height": 0,
            "reason": result,
        }
    return {
        "index": row["index"],
        "png": result.data,
        "width": result.width,
        "height": result.height,
        "source_width": result.source_width or 0,
        "source_height": result.source_height or 0,
        "reason": "",
    }


class RayEncoding:
    """Embeds catalogue images with an encoder actor pool on a Ray cluster (`embed_catalog`'s `remote`).

    The catalogue folder must be readable at the same path on every node.
    """

    def __init__(
        self,
        address: str,
        encoder: str,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        actors: int | None = None,
    ) -> None:
        self.address = address
        self.encoder = encoder
        self.device = device
        self.batch_size = batch_size
        self.actors = actors

    def __call__(self, todo: list[str], files: Mapping[str, Path]) -> Iterator[tuple[list[str], np.ndarray]]:
        if not todo:
            return
        ray = connect(self.address)
        gpus = 1 if self.device.startswith("cuda") and ray.cluster_resources().get("GPU", 0) >= 1 else 0
        actors = self.actors or max(
            1, int(ray.cluster_resources().get("GPU" if gpus else "CPU", 2)) // (1 if gpus else 2)
        )
        rows = [{"image_id": image_id, "path": str(files[image_id])} for image_id in todo]
        blocks = max(actors, len(rows) // self.batch_size)
        encoded = ray.data.from_items(rows, override_num_blocks=blocks).map_batches(
            _EncodeBatch,
            fn_constructor_kwargs={
                "encoder": self.encoder,
                "device": self.device,
                "batch_size": self.batch_size,
            },
            batch_size=self.batch_size,
            batch_format="numpy",
            concurrency=actors,
            num_gpus=gpus,
            num_cpus=0 if gpus else 1,
        )
        for batch in encoded.iter_batches(batch_size=None, batch_format="numpy"):
            yield (
                [str(image_id) for image_id in batch["image_id"]],
                np.asarray(batch["vector"], dtype=np.float32),
            )


class _EncodeBatch:
    """A Ray Data actor holding one encoder for its lifetime."""

    def __init__(self, encoder: str, device: str, batch_size: int) -> None:
        self._encoder = make_encoder(encoder, device=device, batch_size=batch_size)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from PIL import Image

        images = []
        for path in batch["path"]:
            with Image.open(str(path)) as image:
                image.load()
                images.append(image)
        vectors = np.asarray(self._encoder.encode(images), dtype=np.float32)
        return {"image_id": batch["image_id"], "vector": vectors}
