"""`knn`: a visual baseline that answers from image embeddings alone (no language model).

It embeds the question image with the encoder the benchmark was built with, finds the K library images
closest to it (cosine; an exact copy of the question image is skipped, since the library is drawn from the
same catalogue), and lets them vote:

- diagnosis: each neighbour adds its similarity (clipped at 0) to every class it stands for; the option
  whose class gets the most wins (ties: the option whose class holds the single nearest neighbour, then
  the first letter). When no neighbour votes for any option, Healthy is answered if it is an option and
  the library has no Healthy image (nothing in the library resembles the offered diseases); otherwise the
  option whose class holds the most similar library image.
- localization: the K nearest library images labelled with the asked finding (named in the question text;
  any levelled image when the text names none or the library has none of it) vote per level; the answer is
  every level held by a strict majority of them, or the most voted level when none is (at least one).

It shows how much of a question an image encoder alone can answer: the reference for "visible to an
encoder". It answers in the paper's final-line format, so it goes through the same extraction as a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from spinebench.benchmark import Benchmark
from spinebench.embeddings import Encoder, make_encoder
from spinebench.errors import SpineBenchError
from spinebench.models._provider import ChatRequest, Completion, ProviderError
from spinebench.models.baselines import final_line
from spinebench.questions import LIBRARY_FILE, library_from_bytes
from spinebench.taxonomy import DISEASE_NAMES, HEALTHY, LETTERS, canonical_answer

DEFAULT_K: Final = 10
# The level most often affected in lumbar degeneration: the answer when the library holds no levelled image.
_FALLBACK_LEVEL: Final = "L4/L5"


class KnnBaselineError(SpineBenchError):
    """The benchmark has no reference library (or a broken one) for the knn baseline."""


class KnnBaseline:
    def __init__(
        self,
        benchmark: Path,
        *,
        k: int = DEFAULT_K,
        encoder: Encoder | None = None,
        encoder_spec: str | None = None,
        device: str = "cpu",
        batch_size: int = 32,
    ) -> None:
        if k < 1:
            raise KnnBaselineError(f"knn needs K >= 1 neighbours, not {k}")
        self.k = k
        opened = Benchmark.open(benchmark, verify="quick")
        built = opened.manifest.get("build") or {}
        recorded = (built.get("encoder") or {}).get("spec")
        if not opened.has_file(LIBRARY_FILE):
            raise KnnBaselineError(
                f"{opened.path}: has no {LIBRARY_FILE} (only benchmarks made by `spinebench build` carry "
                "the reference library the knn baseline votes with)"
            )
        self.library = library_from_bytes(
            opened.read_file(LIBRARY_FILE), what=str(opened.path / LIBRARY_FILE)
        )
        self.encoder_spec = encoder_spec or recorded
        if encoder is None:
            if not self.encoder_spec:
                raise KnnBaselineError(
                    f"{opened.path}: its manifest does not name the encoder it was built with"
                )
            encoder = make_encoder(self.encoder_spec, device=device, batch_size=batch_size)
        if encoder.dim != self.library.vectors.shape[1]:
            raise KnnBaselineError(
                f"encoder {encoder.name} gives {encoder.dim}-d vectors; {LIBRARY_FILE} holds "
                f"{self.library.vectors.shape[1]}-d ones (built with {recorded})"
            )
        self.encoder = encoder
        self._lock = threading.Lock()  # one encoder call at a time: encoders are not all thread-safe
        self._row_classes = [str(name) for name in self.library.row_class]
        self._row_levels = self.library.row_levels
        self._image_rows: list[list[int]] = [[] for _ in range(len(self.library.vectors))]
        for row, image in enumerate(self.library.row_image):
            self._image_rows[int(image)].append(row)

    @property
    def spec(self) -> str:
        return "knn" if self.k == DEFAULT_K else f"knn:{self.k}"

    def describe(self) -> dict[str, Any]:
        per_class: dict[str, int] = {}
        for name in self._row_classes:
            per_class[name] = per_class.get(name, 0) + 1
        return {
            "provider": "knn",
            "k": self.k,
            "encoder": self.encoder.name,
            "encoder_spec": self.encoder_spec,
            "library_images": len(self.library.vectors),
            "library_rows": len(self._row_classes),
            "library_per_class": dict(sorted(per_class.items())),
        }

    async def complete(self, request: ChatRequest) -> Completion:
        if request.image is None:
            return Completion("No image was given, so there is nothing to compare with the library.")
        try:
            vector = await asyncio.to_thread(self._embed, request.image)
        except (UnidentifiedImageError, OSError) as error:
            # As for every other backend: an image that cannot be read is an error, never a wrong answer.
            raise ProviderError(
                "client", f"image of {request.id} cannot be read: {error}", retryable=False
            ) from error
        similarities = self.library.vectors @ vector
        same = self.library.image_ids == hashlib.sha256(request.image).hexdigest()
        similarities = np.where(same, -np.inf, similarities)
        if request.multiple:
            return self._localize(request, similarities)
        return self._diagnose(request, similarities)

    async def aclose(self) -> None:
        return None

    def _embed(self, data: bytes) -> npt.NDArray[np.float32]:
        with Image.open(io.BytesIO(data)) as image:
            rgb = image.convert("RGB")
        with self._lock:
            vectors: npt.NDArray[np.float32] = np.asarray(self.encoder.encode([rgb]), dtype=np.float32)
        return np.asarray(vectors[0], dtype=np.float32)

    def _nearest(self, similarities: npt.NDArray[np.float32], allowed: npt.NDArray[np.bool_]) -> list[int]:
        """The K most similar allowed library images, nearest first (ties: lower index)."""
        candidates = np.flatnonzero(allowed & np.isfinite(similarities))
        order = np.lexsort((candidates, -similarities[candidates]))
        return [int(i) for i in candidates[order[: self.k]]]

    def _diagnose(self, request: ChatRequest, similarities: npt.NDArray[np.float32]) -> Completion:
        neighbours = self._nearest(similarities, np.ones(len(similarities), dtype=np.bool_))
        votes: dict[str, float] = {}
        nearest_rank: dict[str, int] = {}
        for rank, image in enumerate(neighbours):
            for row in self._image_rows[image]:
                name = self._row_classes[row]
                votes[name] = votes.get(name, 0.0) + max(float(similarities[image]), 0.0)
                nearest_rank.setdefault(name, rank)
        classes = [canonical_answer(choice) or choice for choice in request.choices]
        scored = [
            (votes.get(name, 0.0), -nearest_rank.get(name, len(neighbours)), -i)
            for i, name in enumerate(classes)
        ]
        best = max(range(len(classes)), key=lambda i: scored[i])
        if scored[best][0] <= 0.0:
            best = self._fallback(classes, similarities)
        summary = ", ".join(
            f"{name} {weight:.3f}" for name, weight in sorted(votes.items(), key=lambda kv: -kv[1])
        )
        reason = f"The {len(neighbours)} nearest library images vote: {summary or 'nothing'}."
        return Completion(f"{reason}\n{final_line([LETTERS[best]], multiple=False)}")

    def _fallback(self, classes: list[str], similarities: npt.NDArray[np.float32]) -> int:
        library_classes = set(self._row_classes)
        if HEALTHY in classes and HEALTHY not in library_classes:
            return classes.index(HEALTHY)
        closest = [-np.inf] * len(classes)
        for row, name in enumerate(self._row_classes):
            if name in classes:
                i = classes.index(name)
                closest[i] = max(closest[i], float(similarities[self.library.row_image[row]]))
        return max(range(len(classes)), key=lambda i: (closest[i], -i))

    def _localize(self, request: ChatRequest, similarities: npt.NDArray[np.float32]) -> Completion:
        disease = asked_finding(request.text)
        levelled = self._row_levels.any(axis=1)
        rows = np.flatnonzero(levelled & (self.library.row_class == disease)) if disease else np.empty(0, int)
        if len(rows) == 0:
            rows = np.flatnonzero(levelled)
        levels = [str(level) for level in self.library.levels]
        if len(rows) == 0:
            chosen = [_FALLBACK_LEVEL]
            reason = "The library holds no image with level labels."
        else:
            # One row per image for one disease; across diseases the first row of an image stands for it.
            by_image: dict[int, int] = {}
            for row in rows:
                by_image.setdefault(int(self.library.row_image[row]), int(row))
            allowed = np.zeros(len(similarities), dtype=np.bool_)
            allowed[list(by_image)] = True
            neighbours = self._nearest(similarities, allowed)
            held = np.asarray([self._row_levels[by_image[i]] for i in neighbours], dtype=np.int64)
            counts = held.sum(axis=0) if len(neighbours) else np.zeros(len(levels), dtype=np.int64)
            chosen = [level for level, n in zip(levels, counts, strict=True) if 2 * n > len(neighbours)]
            if not chosen:
                weights = np.asarray([max(float(similarities[i]), 0.0) for i in neighbours])
                weighted = (held * weights[:, None]).sum(axis=0) if len(neighbours) else counts
                best = max(range(len(levels)), key=lambda j: (counts[j], weighted[j], -j))
                chosen = [levels[best]]
            tally = ", ".join(f"{level} {int(n)}" for level, n in zip(levels, counts, strict=True))
            reason = (
                f"Levels of the {len(neighbours)} nearest images with {disease or 'any finding'}: {tally}"
            )

        letters = sorted(
            LETTERS[request.choices.index(level)] for level in chosen if level in request.choices
        )
        if not letters:
            return Completion(f"{reason}\nNone of the options is a level the neighbours hold.")
        return Completion(f"{reason}\n{final_line(letters, multiple=True)}")


def asked_finding(text: str) -> str | None:
    """The disease a localization question names (the longest name found, so 'spinal canal stenosis' wins
    over any shorter name it contains)."""
    lowered = text.lower()
    named = [name for name in DISEASE_NAMES if name.lower() in lowered]
    return max(named, key=len) if named else None
