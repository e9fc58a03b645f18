"""Hard negatives: rank the diseases an image does not have by how much the image looks like them.

Arrays in, arrays out, no I/O, so the same computation runs in a build, in tests and on a distributed
engine. Vectors come quantised to int16 (see `spinebench.embeddings.quantise`): their dot products are exact
integers, computed by a float32 GEMM that cannot round, so the ranking is the same on every machine, for every
block size and every catalogue order. Per-class aggregation is exact too: `max` on those integers, `mean` and
`topk` as int64 sums (a class's sum of dot products is one dot product with the class's summed vectors). The
first block is checked against an int64 computation at run time, so a BLAS that does not compute in float32
(reduced precision) is an error, not a silent change. Everything stays on the CPU for that reason.

The query itself is excluded from the library (the paper's rule), matched by key, not by similarity, so a
genuine near-duplicate of another patient still counts; giving patient keys instead leaves the query's
whole patient out. Exact ties between classes are broken by a keyed hash of (image, class), never by class
order, which would favour low-numbered diseases as distractors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from spinebench.embeddings import SCALE, Quantised, check_exact_range
from spinebench.errors import SpineBenchError
from spinebench.questions._keyed import UInt64s, mix64

DEFAULT_AGGREGATION: Final = "max"
DEFAULT_BLOCK: Final = 4096
CHECKED_ROWS: Final = 8  # rows of the first block recomputed in int64
# A gap at the distractor cut below this (in cosine) is a near-tie: about 7x the quantisation noise of a
# similarity, so another encoder build or quantisation could swap the two classes.
NEAR_TIE: Final = 1e-3
_SCORED, _UNSCORED, _EXCLUDED = 0, 1, 2

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class AggregationError(SpineBenchError):
    """An aggregation option is not `max`, `mean` or `topk:K`."""


class SimilarityError(SpineBenchError):
    """The float32 matrix product did not give the exact integer dot products (a reduced-precision BLAS)."""


@dataclass(frozen=True, slots=True)
class Aggregation:
    """How a query's similarities to the library images of one class become one score for the class.

    `max`: the closest image (the paper's rule; sensitive to one near-duplicate or mislabelled image);
    `mean`: all images (dominated by the class's typical look); `topk:K`: the mean of the K closest.
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
    """`similarities[i, c]`: query i's aggregated cosine similarity to class c (NaN: no usable library
    image), exact: an integer over SCALE² (a ratio of integers for mean/topk). `ranked[i]`: the eligible
    classes, most similar first, exact ties in keyed-hash order (-1 where fewer classes are eligible)."""

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
    queries: Quantised,
    query_keys: Ints,
    library: Quantised,
    library_codes: Ints,
    library_keys: Ints,
    n_classes: int,
    aggregation: Aggregation,
    *,
    block: int = DEFAULT_BLOCK,
) -> Floats:
    """[n, n_classes] aggregated similarities; library rows whose key equals the query's key are skipped.

    `queries` and `library` are int16 (quantised unit vectors); `library_codes` must be sorted (rows of one
    class contiguous), each code in [0, n_classes).
    """
    if queries.dtype != np.int16 or library.dtype != np.int16:
        raise TypeError(
            "class_similarities takes quantised int16 vectors (see spinebench.embeddings.quantise)"
        )
    if block < 1:
        raise ValueError(f"block must be at least 1, not {block}")
    if len(library_codes) and (np.any(np.diff(library_codes) < 0) or library_codes[-1] >= n_classes):
        raise ValueError("library rows must be sorted by class code, each below n_classes")
    check_exact_range(library)
    starts = np.searchsorted(library_codes, np.arange(n_classes + 1)).astype(np.int64)
    present = np.flatnonzero(np.diff(starts) > 0)
    out = np.full((len(queries), n_classes), np.nan, dtype=np.float64)
    if len(present) == 0 or len(queries) == 0:
        return out
    library_t = np.ascontiguousarray(library.astype(np.float32).T)
    # mean: a class's sum of dot products is one dot product with the class's summed vectors (exact in int64;
    # its float64 products stay far below 2^53, so any summation order is exact too).
    class_sums = np.add.reduceat(library.astype(np.int64), starts[present], axis=0).astype(np.float64).T
    key_order = np.argsort(library_keys, kind="stable")
    sorted_keys = library_keys[key_order]
    for begin in range(0, len(queries), block):
        stop = min(begin + block, len(queries))
        chunk = queries[begin:stop]
        check_exact_range(chunk)
        rows, columns = _self_matches(query_keys[begin:stop], sorted_keys, key_order)
        if aggregation.kind == "mean":
            scores = _mean(chunk, library, class_sums, rows, columns, library_codes, starts, present)
        else:
            sims = chunk.astype(np.float32) @ library_t
            scores = _max_or_topk(sims, rows, columns, starts, present, aggregation)
        out[begin:stop, present] = scores
        if begin == 0:
            _check_against_int64(
                chunk[:CHECKED_ROWS], rows, columns, library, starts, present, aggregation, scores
            )
    return out / float(SCALE * SCALE)


def _self_matches(keys: Ints, sorted_keys: Ints, key_order: Ints) -> tuple[Ints, Ints]:
    """(query row, library column) pairs with equal keys, found by binary search: a block x library
    comparison would cost as much memory traffic as the matmul itself."""
    left = np.searchsorted(sorted_keys, keys, side="left")
    counts = np.searchsorted(sorted_keys, keys, side="right") - left
    rows = np.repeat(np.arange(len(keys), dtype=np.int64), counts)
    offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, key_order[np.repeat(left, counts) + offsets]


def _mean(
    chunk: Quantised,
    library: Quantised,
    class_sums: Floats,
    rows: Ints,
    columns: Ints,
    codes: Ints,
    starts: Ints,
    present: Ints,
) -> Floats:
    """Integer sums per class (self matches subtracted) over the usable count, in SCALE² units."""
    sums = np.rint(chunk.astype(np.float64) @ class_sums).astype(np.int64)
    n_classes = len(starts) - 1
    position = np.full(n_classes, -1, dtype=np.int64)
    position[present] = np.arange(len(present))
    if len(rows):
        own = np.einsum("ij,ij->i", chunk[rows].astype(np.int64), library[columns].astype(np.int64))
        np.subtract.at(sums, (rows, position[codes[columns]]), own)
    excluded = np.zeros((len(chunk), len(present)), dtype=np.int64)
    np.add.at(excluded, (rows, position[codes[columns]]), 1)
    usable = (starts[present + 1] - starts[present])[None, :] - excluded
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(usable > 0, sums / np.maximum(usable, 1), np.nan)


def _max_or_topk(
    sims: npt.NDArray[np.float32],
    rows: Ints,
    columns: Ints,
    starts: Ints,
    present: Ints,
    aggregation: Aggregation,
) -> Floats:
    """Per-class max, or mean of the K largest as an int64 sum over the count; `sims` is overwritten at the
    self matches. Every value of `sims` is an exact integer."""
    sims[rows, columns] = -np.inf
    if aggregation.kind == "max":
        best = np.maximum.reduceat(sims, starts[present], axis=1).astype(np.float64)
        return np.where(np.isfinite(best), best, np.nan)
    result = np.empty((len(sims), len(present)), dtype=np.float64)
    for column, code in enumerate(present):
        group = sims[:, starts[code] : starts[code + 1]]
        take = min(aggregation.k, group.shape[1])
        top = np.partition(group, group.shape[1] - take, axis=1)[:, group.shape[1] - take :]
        finite = np.isfinite(top)
        # Fewer than K usable images (a tiny class that holds the query): mean of what there is.
        count = finite.sum(axis=1)
        total = np.where(finite, top, 0.0).astype(np.int64).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            result[:, column] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return result


def _check_against_int64(
    chunk: Quantised,
    rows: Ints,
    columns: Ints,
    library: Quantised,
    starts: Ints,
    present: Ints,
    aggregation: Aggregation,
    scores: Floats,
) -> None:
    """Recomputes the first rows in plain int64 and raises SimilarityError if any score differs."""
    dots = chunk.astype(np.int64) @ library.astype(np.int64).T
    usable = np.ones(dots.shape, dtype=np.bool_)
    keep = rows < len(chunk)
    usable[rows[keep], columns[keep]] = False
    for row in range(len(chunk)):
        for column, code in enumerate(present):
            values = dots[row, starts[code] : starts[code + 1]][usable[row, starts[code] : starts[code + 1]]]
            if not len(values):
                expected = np.nan
            elif aggregation.kind == "max":
                expected = float(values.max())
            elif aggregation.kind == "mean":
                expected = int(values.sum()) / len(values)
            else:
                top = np.sort(values)[-aggregation.k :]
                expected = int(top.sum()) / len(top)
            got = scores[row, column]
            if not (got == expected or (np.isnan(got) and np.isnan(expected))):
                raise SimilarityError(
                    f"the float32 matrix product is not exact on this machine (query row {row}, class "
                    f"{int(code)}: {got} vs int64 {expected}); the BLAS may compute in reduced precision. "
                    "Hard negatives need an IEEE float32 BLAS on the CPU."
                )


def tie_breakers(tie_keys: UInt64s, n_classes: int) -> UInt64s:
    """[n, n_classes] keyed words that order exact ties per query: a hash of (image key, class), so no
    class is favoured."""
    return mix64(tie_keys[:, None], np.arange(1, n_classes + 1, dtype=np.uint64)[None, :])


def rank_classes(
    similarities: Floats, exclude: Bools, count: int, *, tie_keys: UInt64s | None = None
) -> Ints:
    """The `count` most similar classes per row, never an excluded one (-1 fills when too few remain).

    Classes without a usable library image rank after every scored class, so a question still gets its
    distractors when a disease is missing from a small catalogue. Exact ties (and unscored classes) are
    ordered by `tie_breakers(tie_keys)`; `tie_keys[i]` should be a keyed hash of query i's image (default:
    a hash of the row number).
    """
    n, n_classes = similarities.shape
    if tie_keys is None:
        tie_keys = mix64(np.arange(n, dtype=np.uint64), np.zeros(1, dtype=np.uint64))
    scored = ~np.isnan(similarities)
    category = np.where(exclude, _EXCLUDED, np.where(scored, _SCORED, _UNSCORED))
    value = np.where(scored & ~exclude, -similarities, 0.0)
    order = np.lexsort((tie_breakers(tie_keys, n_classes), value, category), axis=-1)[:, :count]
    order = order.astype(np.int64)
    chosen = np.take_along_axis(category, order, axis=1)
    return np.where(chosen == _EXCLUDED, -1, order)


def select_hard_negatives(
    queries: Quantised,
    query_keys: Ints,
    exclude: Bools,
    library: Quantised,
    library_codes: Ints,
    library_keys: Ints,
    aggregation: Aggregation,
    *,
    count: int = 4,
    block: int = DEFAULT_BLOCK,
    tie_keys: UInt64s | None = None,
) -> HardNegatives:
    """Similarities of every query to every class and the `count` hardest eligible classes per query.

    `exclude[i, c]` marks the classes query i has (never distractors); its width is the number of classes.
    """
    n_classes = exclude.shape[1]
    similarities = class_similarities(
        queries, query_keys, library, library_codes, library_keys, n_classes, aggregation, block=block
    )
    return HardNegatives(similarities, rank_classes(similarities, exclude, count, tie_keys=tie_keys))


def cut_margins(similarities: Floats, ranked: Ints, wanted: Ints) -> Floats:
    """Per query, how far the last chosen distractor (rank `wanted[i]`) is above the next eligible class:
    0 is an exact tie (decided by the keyed hash), a small gap a near-tie; inf when nothing follows or a
    class at the cut is unscored. `ranked` must be at least max(wanted) + 1 wide."""
    rows = np.arange(len(ranked))
    last = ranked[rows, wanted - 1]
    following = ranked[rows, wanted]
    valid = (last >= 0) & (following >= 0)
    gap = similarities[rows, np.maximum(last, 0)] - similarities[rows, np.maximum(following, 0)]
    return np.where(valid & ~np.isnan(gap), gap, np.inf)


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
