"""`knn`: a visual baseline that answers from image embeddings alone (no language model).

It embeds the question image with the encoder the benchmark was built with, finds the K library images
closest to it (cosine; an exact copy of the question image is skipped, since the library is drawn from the
same catalogue), and lets them vote:

- diagnosis: each neighbour adds its similarity (clipped at 0) to every class it stands for; the option
  whose class gets the most wins (ties: the option whose class holds the single nearest neighbour, then
  the first letter). When no neighbour votes for any option, Healthy is answered if it is an option and
  the library has no Healthy image (nothing in the library resembles the offered diseases); otherwise the
  option whose class holds the most similar library image.
- localization: the K nearest library images labelled with the asked finding (the question's `disease`;
  any levelled image when it names none or the library has none of it) vote per level; the answer is
  every level held by a strict majority of them, or the most voted level when none is (at least one).

It shows how much of a question an image encoder alone can answer: the reference for "visible to an
encoder". Without an image (a text-only control run) it answers as `prior` does and says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image, UnidentifiedImageError

from spinebench.baselines._baseline import BaselineAnswer
from spinebench.baselines._chance import PriorBaseline
from spinebench.benchmark import Benchmark, Question
from spinebench.embeddings import Encoder, make_encoder
from spinebench.errors import SpineBenchError
from spinebench.models import ProviderError
from spinebench.questions import LIBRARY_FILE, LibraryArrays, library_from_bytes
from spinebench.taxonomy import DISEASE_NAMES, GRADING_TASK, HEALTHY, LETTERS, canonical_answer

DEFAULT_K: Final = 10
# The level most often affected in lumbar degeneration: the answer when the library holds no levelled image.
_FALLBACK_LEVEL: Final = "L4/L5"


class KnnBaselineError(SpineBenchError):
    """The benchmark has no reference library (or a broken one) for the knn baseline."""


class KnnBaseline:
    def __init__(
        self,
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
        self._encoder: Encoder | None = encoder
        self._encoder_spec = encoder_spec
        self._device = device
        self._batch_size = batch_size
        self._library: LibraryArrays | None = None
        self._blind = PriorBaseline()  # answers the questions asked without an image
        self._lock = threading.Lock()  # one encoder call at a time: encoders are not all thread-safe

    def fit(self, benchmark: Benchmark, questions: Iterable[Question]) -> None:
        built = benchmark.manifest.get("build") or {}
        recorded = (built.get("encoder") or {}).get("spec")
        if not benchmark.has_file(LIBRARY_FILE):
            raise KnnBaselineError(
                f"{benchmark.path}: has no {LIBRARY_FILE} (only benchmarks made by `spinebench build` carry "
                "the reference library the knn baseline votes with)"
            )
        library = library_from_bytes(
            benchmark.read_file(LIBRARY_FILE), what=str(benchmark.path / LIBRARY_FILE)
        )
        self._encoder_spec = self._encoder_spec or recorded
        if self._encoder is None:
            if not self._encoder_spec:
                raise KnnBaselineError(
                    f"{benchmark.path}: its manifest does not name the encoder it was built with"
                )
            self._encoder = make_encoder(self._encoder_spec, device=self._device, batch_size=self._batch_size)
        if self._encoder.dim != library.vectors.shape[1]:
            raise KnnBaselineError(
                f"encoder {self._encoder.name} gives {self._encoder.dim}-d vectors; {LIBRARY_FILE} holds "
                f"{library.vectors.shape[1]}-d ones (built with {recorded})"
            )
        self._library = library
        self._row_classes = [str(name) for name in library.row_class]
        self._row_levels = library.row_levels
        self._image_rows: list[list[int]] = [[] for _ in range(len(library.vectors))]
        for row, image in enumerate(library.row_image):
            self._image_rows[int(image)].append(row)
        self._blind.fit(benchmark, questions)

    @property
    def spec(self) -> str:
        return "knn" if self.k == DEFAULT_K else f"knn:{self.k}"

    @property
    def library(self) -> LibraryArrays:
        if self._library is None:
            raise KnnBaselineError("the knn baseline was asked before it was fitted on a benchmark")
        return self._library

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            raise KnnBaselineError("the knn baseline was asked before it was fitted on a benchmark")
        return self._encoder

    def describe(self) -> dict[str, Any]:
        per_class: dict[str, int] = {}
        for name in self._row_classes:
            per_class[name] = per_class.get(name, 0) + 1
        return {
            "provider": "knn",
            "k": self.k,
            "encoder": self.encoder.name,
            "encoder_spec": self._encoder_spec,
            "library_images": len(self.library.vectors),
            "library_rows": len(self._row_classes),
            "library_per_class": dict(sorted(per_class.items())),
        }

    async def answer(self, question: Question, image: bytes | None) -> BaselineAnswer:
        if question.task == GRADING_TASK:
            # The library holds diseases and levels, not grades: nothing to vote with.
            blind = await self._blind.answer(question, image)
            return BaselineAnswer(
                blind.letters, "The library holds no grades, so knn grades as the prior baseline does."
            )
        if image is None:
            blind = await self._blind.answer(question, None)
            return BaselineAnswer(
                blind.letters, "No image was given, so knn answers as the prior baseline does."
            )
        try:
            vector = await asyncio.to_thread(self._embed, image)
        except (UnidentifiedImageError, OSError) as error:
            # As for every backend: an image that cannot be read is an error, never a wrong answer.
            raise ProviderError(
                "client", f"image of {question.id} cannot be read: {error}", retryable=False
            ) from error
        similarities = self.library.vectors @ vector
        same = self.library.image_ids == hashlib.sha256(image).hexdigest()
        similarities = np.where(same, -np.inf, similarities)
        if question.multiple:
            return self._localize(question, similarities)
        return self._diagnose(question, similarities)

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

    def _diagnose(self, question: Question, similarities: npt.NDArray[np.float32]) -> BaselineAnswer:
        neighbours = self._nearest(similarities, np.ones(len(similarities), dtype=np.bool_))
        votes: dict[str, float] = {}
        nearest_rank: dict[str, int] = {}
        for rank, image in enumerate(neighbours):
            for row in self._image_rows[image]:
                name = self._row_classes[row]
                votes[name] = votes.get(name, 0.0) + max(float(similarities[image]), 0.0)
                nearest_rank.setdefault(name, rank)
        classes = [canonical_answer(option) or option for option in question.options]
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
        return BaselineAnswer((LETTERS[best],), reason)

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

    def _localize(self, question: Question, similarities: npt.NDArray[np.float32]) -> BaselineAnswer:
        disease = question.disease if question.disease in DISEASE_NAMES else None
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

        letters = tuple(
            sorted(LETTERS[question.options.index(level)] for level in chosen if level in question.options)
        )
        if not letters:
            return BaselineAnswer((), f"{reason}\nNone of the options is a level the neighbours hold.")
        return BaselineAnswer(letters, reason)
