"""Image controls: the same questions asked with the image taken away or replaced, to see if a model looks.

- `text-only`: no image at all (the request carries text only; baselines get `None`).
- `blank`: a uniform mid-grey (128) RGB image of the question image's size.
- `noise`: uniform RGB noise of that size, seeded by the run seed and the image, so every question on one
  image (and every rotation of it) sees the same noise, on any machine.
- `shuffled`: the image of another question, of the same source and modality, that shows none of this
  question's disease (`shuffle_donors`).

Blank and noise images are PNG, so no lossy re-encoding adds texture to them. Everything here is a pure
function of bytes, questions and a seed; `ControlledImages` is the thin part that reads the benchmark.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Final, Literal, get_args

import numpy as np
from PIL import Image, UnidentifiedImageError

from spinebench.benchmark import Benchmark, Question
from spinebench.errors import SpineBenchError
from spinebench.taxonomy import HEALTHY

ImageControl = Literal["text-only", "blank", "shuffled", "noise"]
IMAGE_CONTROLS: Final[tuple[ImageControl, ...]] = get_args(ImageControl)
BLANK_LEVEL: Final = 128
# Bumped when what a control sends changes; recorded in run.json so a changed control is a new run.
IMAGE_CONTROL_VERSION: Final = 1


class ImageControlError(SpineBenchError):
    """An image control cannot be applied (an unreadable image, no image to shuffle in)."""


def image_size(data: bytes, *, what: str) -> tuple[int, int]:
    """(width, height) of an encoded image, read from its header."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as error:
        raise ImageControlError(f"{what}: cannot read the image to build its control ({error})") from error


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def blank_image(data: bytes, *, what: str = "image") -> bytes:
    """A uniform mid-grey RGB PNG of the size of `data`."""
    width, height = image_size(data, what=what)
    return _png(np.full((height, width, 3), BLANK_LEVEL, dtype=np.uint8))


def noise_image(data: bytes, seed: int, key: str, *, what: str = "image") -> bytes:
    """Uniform RGB noise (each channel 0..255) of the size of `data`, drawn from `seed` and `key`."""
    width, height = image_size(data, what=what)
    digest = hashlib.sha256(f"spinebench-noise:{seed}:{key}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:16], "big"))
    return _png(rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8))


@dataclass(slots=True)
class _SeenImage:
    group: tuple[str, str]
    diseases: set[str] = field(default_factory=set)
    diagnosis: str | None = None


@dataclass(frozen=True, slots=True)
class _ImageFacts:
    group: tuple[str, str]  # (source, modality)
    diseases: frozenset[str]
    primary: str  # the class the image is sorted under for the derangement


def _rank(seed: int, *parts: str) -> bytes:
    return hashlib.sha256(":".join(["spinebench-shuffle", str(seed), *parts]).encode()).digest()


def shuffle_donors(questions: Iterable[Question], seed: int) -> dict[tuple[str, str], str]:
    """For each (image, disease) asked about, the image shown instead under the shuffled control.

    The donor is never the image itself and never an image with that disease (any question on the donor
    naming it, or both Healthy). Within each (source, modality) group, images are ordered by class (the
    disease of their diagnosis question) and by a seeded hash, then each takes the image m places further
    on, m being the size of the largest class: a derangement in which, when no class holds more than half
    the group, every image is shown once and always in place of another class. Where that donor is ruled
    out (an image with several findings, a dominant class), a seeded walk over the group picks the first
    allowed image; failing that, one of the same modality, then any. Benchmark rows carry no view, so the
    source, which fixes the anatomy and mostly the projection, stands in for it. What an image shows is what
    the given questions name on it: pass every question of the benchmark, not a subset's.
    """
    seen: dict[str, _SeenImage] = {}
    asked: set[tuple[str, str]] = set()
    for question in questions:
        entry = seen.setdefault(question.image, _SeenImage((question.source, question.modality)))
        entry.diseases.add(question.disease)
        if question.task == "SDD":
            entry.diagnosis = question.disease
        asked.add((question.image, question.disease))
    images = {
        image: _ImageFacts(entry.group, frozenset(entry.diseases), entry.diagnosis or min(entry.diseases))
        for image, entry in seen.items()
    }

    groups: dict[tuple[str, str], list[str]] = {}
    for image, fact in images.items():
        groups.setdefault(fact.group, []).append(image)
    shifted: dict[str, str] = {}
    walks: dict[tuple[str, str], list[str]] = {}
    for group, members in groups.items():
        ordered = sorted(members, key=lambda image: (images[image].primary, _rank(seed, image)))
        classes = [images[image].primary for image in members]
        largest = max(classes.count(name) for name in set(classes))
        for index, image in enumerate(ordered):
            shifted[image] = ordered[(index + largest) % len(ordered)]
        walks[group] = sorted(members, key=lambda image: _rank(seed, image))
    by_modality: dict[str, list[str]] = {}
    for image in sorted(images, key=lambda image: _rank(seed, image)):
        by_modality.setdefault(images[image].group[1], []).append(image)
    everything = [image for members in by_modality.values() for image in members]

    def allowed(image: str, disease: str, donor: str) -> bool:
        return donor != image and disease not in images[donor].diseases

    donors: dict[tuple[str, str], str] = {}
    for image, disease in sorted(asked):
        donor = shifted[image]
        if not allowed(image, disease, donor):
            fact = images[image]
            pools = (walks[fact.group], by_modality[fact.group[1]], everything)
            start = _rank(seed, image, disease)
            candidates = (d for pool in pools for d in _walk(pool, start) if allowed(image, disease, d))
            found = next(candidates, None)
            if found is None:
                shown = "a diseased image" if disease == HEALTHY else f"an image without {disease}"
                raise ImageControlError(
                    f"image {image}: the shuffled control needs {shown} in place of it, and the questions of "
                    "this run hold none"
                )
            donor = found
        donors[(image, disease)] = donor
    return donors


def _walk(pool: list[str], start: bytes) -> Iterable[str]:
    """The pool cyclically from a seeded position (so fallbacks spread over the pool, not its first item)."""
    offset = int.from_bytes(start[:8], "big") % len(pool)
    yield from pool[offset:]
    yield from pool[:offset]


class ControlledImages:
    """The image a question is asked with under an image control (or the benchmark's own, without one)."""

    def __init__(
        self,
        benchmark: Benchmark,
        control: ImageControl | None,
        seed: int,
        questions: Iterable[Question] = (),
    ) -> None:
        if control is not None and control not in IMAGE_CONTROLS:
            raise ImageControlError(f"unknown image control {control!r} (expected one of {IMAGE_CONTROLS})")
        self._benchmark = benchmark
        self.control = control
        self._seed = seed
        self._donors = shuffle_donors(questions, seed) if control == "shuffled" else {}

    def describe(self) -> dict[str, object] | None:
        """What run.json records about the control (None without one)."""
        if self.control is None:
            return None
        return {"kind": self.control, "version": IMAGE_CONTROL_VERSION, "seed": self._seed}

    def donor(self, question: Question) -> str:
        """The image shown in place of a question's own under the shuffled control."""
        try:
            return self._donors[(question.image, question.disease)]
        except KeyError:
            raise ImageControlError(
                f"question {question.id}: not among the questions the shuffled control was prepared for"
            ) from None

    def read(self, question: Question) -> bytes | None:
        if self.control == "text-only":
            return None
        if self.control == "shuffled":
            donor = self.donor(question)
            return self._benchmark.read_image(replace(question, image=donor))
        image = self._benchmark.read_image(question)
        what = f"image {question.image} of question {question.id}"
        if self.control == "blank":
            return blank_image(image, what=what)
        if self.control == "noise":
            return noise_image(image, self._seed, question.image, what=what)
        return image
