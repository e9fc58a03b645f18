from __future__ import annotations

import numpy as np
import pytest

from spinebench.questions import Library, sample_library
from spinebench.taxonomy import ANSWER_CLASSES, HEALTHY


def _labels() -> list[tuple[str, ...]]:
    labels: list[tuple[str, ...]] = [("Osteophytes",)] * 50 + [(HEALTHY,)] * 30 + [("Cervical kyphosis",)] * 3
    labels += [("Disc space narrowing", "Osteophytes")] * 4
    return labels


def test_library_caps_each_class_and_keeps_small_classes_whole() -> None:
    library = sample_library(_labels(), size=10, seed=0)
    counts = library.counts()
    assert counts["Osteophytes"] == 10 and counts[HEALTHY] == 10
    assert counts["Cervical kyphosis"] == 3 and counts["Disc space narrowing"] == 4
    assert counts["Spondylolisthesis"] == 0
    assert list(library.codes) == sorted(library.codes)
    labels = _labels()
    for image, code in zip(library.images, library.codes, strict=True):
        assert ANSWER_CLASSES[code] in labels[image]


def test_library_is_seeded_and_classes_are_sampled_independently() -> None:
    first = sample_library(_labels(), size=10, seed=0)
    assert np.array_equal(first.images, sample_library(_labels(), size=10, seed=0).images)
    other_seed = sample_library(_labels(), size=10, seed=1)
    assert not np.array_equal(first.images, other_seed.images)
    # More Healthy images do not change which Osteophytes images are drawn.
    grown = sample_library(_labels() + [(HEALTHY,)] * 20, size=10, seed=0)
    osteophytes = ANSWER_CLASSES.index("Osteophytes")
    assert np.array_equal(first.images[first.codes == osteophytes], grown.images[grown.codes == osteophytes])


def test_a_multi_disease_image_can_stand_for_each_of_its_classes() -> None:
    library = sample_library(_labels(), size=100, seed=0)
    rows_of_image_80 = [
        ANSWER_CLASSES[c] for i, c in zip(library.images, library.codes, strict=True) if i == 83
    ]
    assert rows_of_image_80 == ["Disc space narrowing", "Osteophytes"]


def test_library_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sample_library(_labels(), size=0)


def test_the_sample_is_keyed_by_image_id_not_by_catalogue_order() -> None:
    labels = _labels()
    ids = [f"{index * 7919 % 1000:04d}-image" for index in range(len(labels))]
    first = sample_library(labels, size=10, seed=0, image_ids=ids)
    order = np.random.default_rng(2).permutation(len(labels))
    shuffled = sample_library([labels[i] for i in order], size=10, seed=0, image_ids=[ids[i] for i in order])

    def rows(library: Library, names: list[str]) -> list[tuple[int, str]]:
        return [(int(c), names[i]) for i, c in zip(library.images, library.codes, strict=True)]

    assert rows(first, ids) == rows(shuffled, [ids[i] for i in order])  # same rows, in image-id order
