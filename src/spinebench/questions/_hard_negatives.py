"""Hard negatives: rank the diseases an image does not have by how much the image looks like them.

Arrays in, arrays out, no I/O, so the same computation runs in a build, in tests and on a distributed
engine. Vectors are L2-normalised, so cosine similarity is a dot product. Queries go through in blocks: a
block x library matmul, then one reduction per class over the library's contiguous class blocks, so memory
stays at block x library floats however many queries there are.

The query itself is excluded from the library (the paper's rule), matched by key (its catalogue index), not
by similarity, so a genuine near-duplicate of another patient still counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from spinebench.errors import SpineBenchError

DEFAULT_AGGREGATION: Final = "topk:5"
DEFAULT_BLOCK: Final = 4096
# Ranking keys: similarities are in [-1, 1], so these sort after every real similarity.
_ABSENT_KEY: Final = 2.0  # the library holds no usable image of the class: ranked after all others
_EXCLUDED_KEY: Final = 3.0  # a class the image has: never a distractor

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class AggregationError(SpineBenchError):
    """An aggregation option is not `max`, `mean` or `topk:K`."""


@dataclass(frozen=True, slots=True)
class Aggregation:
    """How a query's similarities to the library images of one class become one score for the class.

    `max`: the closest image (sensitive to one near-duplicate or one mislabelled image); `mean`: all images
    (dominated by the class's typical look, blind to a close sub-type); `topk:K`: the mean of the K closest.
    """

    kind: Literal["max", "mean", "topk"]
    k: int = 1

    @classmethod
    def parse(cls, text: str) -> Aggregation:
        value = text.strip().lower()
        if value in ("max", "mean"):
            return cls(kind="max" if value == "max" else "mean")
        name, _, count = value.partition(":")
        if name == "topk" and count.isdigit() and int(count) >= 1:
            return cls(kind="topk", k=int(count))
        raise AggregationError(
            f"aggregation {text!r} is not understood; expected max, mean or topk:K (K >= 1)"
        )

    def __str__(self) -> str:
        return f"topk:{self.k}" if self.kind == "topk" else self.kind


@dataclass(frozen=True, slots=True)
class HardNegatives:
    """`similarities[i, c]`: query i's aggregated similarity to class c (NaN: no usable library image).
    `ranked[i]`: the eligible classes, most similar first (-1 where fewer classes are eligible)."""

    similarities: Floats
    ranked: Ints


@dataclass(frozen=True, slots=True)
class Hardness:
    """Mean aggregated similarity of the chosen distractors vs a random eligible class (its expectation)."""

    questions: int
    chosen: float
    random: float

    @property
    def difference(self) -> float:
        return self.chosen - self.random


def class_similarities(
    queries: Floats,
    query_keys: Ints,
    library: Floats,
    library_codes: Ints,
    library_keys: Ints,
    n_classes: int,
    aggregation: Aggregation,
    *,
    block: int = DEFAULT_BLOCK,
) -> Floats:
    """[n, n_classes] aggregated similarities; a library row whose key equals the query's key is skipped.

    `library_codes` must be sorted (rows of one class contiguous), each code in [0, n_classes).
    """
    if len(library_codes) and (np.any(np.diff(library_codes) < 0) or library_codes[-1] >= n_classes):
        raise ValueError("library rows must be sorted by class code, each below n_classes")
    starts = np.searchsorted(library_codes, np.arange(n_classes + 1)).astype(np.int64)
    present = np.flatnonzero(np.diff(starts) > 0)
    out = np.full((len(queries), n_classes), np.nan, dtype=np.float32)
    if len(present) == 0:
        return out
    library_t = np.ascontiguousarray(library.astype(np.float32, copy=False).T)
    key_order = np.argsort(library_keys, kind="stable")
    sorted_keys = library_keys[key_order]
    for begin in range(0, len(queries), block):
        stop = min(begin + block, len(queries))
        sims = queries[begin:stop].astype(np.float32, copy=False) @ library_t
        rows, columns = _self_matches(query_keys[begin:stop], sorted_keys, key_order)
        out[begin:stop, present] = _aggregate(
            sims, rows, columns, library_codes, starts, present, aggregation
        )
    return out


def _self_matches(keys: Ints, sorted_keys: Ints, key_order: Ints) -> tuple[Ints, Ints]:
    """(query row, library column) pairs with equal keys, found by binary search: a block x library
    comparison would cost as much memory traffic as the matmul itself."""
    left = np.searchsorted(sorted_keys, keys, side="left")
    counts = np.searchsorted(sorted_keys, keys, side="right") - left
    rows = np.repeat(np.arange(len(keys), dtype=np.int64), counts)
    offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, key_order[np.repeat(left, counts) + offsets]


def _aggregate(
    sims: Floats,
    rows: Ints,
    columns: Ints,
    codes: Ints,
    starts: Ints,
    present: Ints,
    aggregation: Aggregation,
) -> Floats:
    """Per-class aggregation of one block; `sims` is overwritten at the (rows, columns) self matches."""
    with np.errstate(invalid="ignore", divide="ignore"):
        if aggregation.kind == "mean":
            sims[rows, columns] = 0.0
            excluded = np.zeros((len(sims), len(starts) - 1), dtype=np.int64)
            np.add.at(excluded, (rows, codes[columns]), 1)
            usable = (starts[present + 1] - starts[present])[None, :] - excluded[:, present]
            sums = np.add.reduceat(sims, starts[present], axis=1)
            return np.where(usable > 0, sums / usable, np.nan).astype(np.float32)
        sims[rows, columns] = -np.inf
        if aggregation.kind == "max":
            best = np.maximum.reduceat(sims, starts[present], axis=1)
            return np.where(np.isfinite(best), best, np.nan).astype(np.float32)
        result = np.empty((len(sims), len(present)), dtype=np.float32)
        for column, code in enumerate(present):
            group = sims[:, starts[code] : starts[code + 1]]
            take = min(aggregation.k, group.shape[1])
            top = np.partition(group, group.shape[1] - take, axis=1)[:, group.shape[1] - take :]
            finite = np.isfinite(top)
            # Fewer than K usable images (a tiny class that holds the query): mean of what there is.
            count = finite.sum(axis=1)
            total = np.where(finite, top, 0.0).sum(axis=1)
            result[:, column] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        return result


def rank_classes(similarities: Floats, exclude: Bools, count: int) -> Ints:
    """The `count` most similar classes per row, never an excluded one (-1 fills when too few remain).

    Classes without a usable library image rank after every scored class, in code order, so a question
    still gets its distractors when a disease is missing from a small catalogue. Ties go to the lower code.
    """
    key = np.where(exclude, _EXCLUDED_KEY, np.where(np.isnan(similarities), _ABSENT_KEY, -similarities))
    order = np.argsort(key, axis=1, kind="stable")[:, :count].astype(np.int64)
    chosen_key = np.take_along_axis(key, order, axis=1)
    return np.where(chosen_key >= _EXCLUDED_KEY, -1, order)


def select_hard_negatives(
    queries: Floats,
    query_keys: Ints,
    exclude: Bools,
    library: Floats,
    library_codes: Ints,
    library_keys: Ints,
    aggregation: Aggregation,
    *,
    count: int = 4,
    block: int = DEFAULT_BLOCK,
) -> HardNegatives:
    """Similarities of every query to every class and the `count` hardest eligible classes per query.

    `exclude[i, c]` marks the classes query i has (never distractors); its width is the number of classes.
    """
    n_classes = exclude.shape[1]
    similarities = class_similarities(
        queries, query_keys, library, library_codes, library_keys, n_classes, aggregation, block=block
    )
    return HardNegatives(similarities, rank_classes(similarities, exclude, count))


def distractor_hardness(similarities: Floats, exclude: Bools, chosen: Ints) -> Hardness:
    """How much closer the chosen distractors are than a class drawn at random among the eligible ones.

    `chosen[i]` holds query i's distractor classes (-1 padding). Only scored classes count; the random
    figure is the exact expectation over query i's eligible scored classes, not a draw.
    """
    scored = ~np.isnan(similarities)
    eligible = scored & ~exclude
    picked = np.zeros_like(eligible)
    rows = np.repeat(np.arange(len(chosen)), chosen.shape[1])
    columns = chosen.reshape(-1)
    valid = columns >= 0
    picked[rows[valid], columns[valid]] = True
    picked &= eligible
    filled = np.where(scored, similarities, 0.0)
    usable = picked.any(axis=1) & eligible.any(axis=1)
    if not usable.any():
        return Hardness(0, float("nan"), float("nan"))
    chosen_mean = (filled * picked).sum(axis=1)[usable] / picked.sum(axis=1)[usable]
    random_mean = (filled * eligible).sum(axis=1)[usable] / eligible.sum(axis=1)[usable]
    return Hardness(int(usable.sum()), float(chosen_mean.mean()), float(random_mean.mean()))
