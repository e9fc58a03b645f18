"""Unit vectors -> int16 vectors whose dot products float32 arithmetic computes exactly, in any order.

With scale 2048, every coordinate of a unit vector becomes an integer in [-2048, 2048]. A dot product of two
such vectors is a sum of integer products, and every partial sum of it (whatever subset of the terms a BLAS
kernel adds first) is at most |q|·|p| <= 2048² + rounding ≈ 4.3 million in magnitude (Cauchy-Schwarz), below
2^24: every intermediate value is an integer that float32 represents exactly. So a float32 GEMM gives the
exact integer dot products on any BLAS, any CPU, any thread count and any block shape, and a ranking on them
never depends on the machine. (A bf16 or TF32 GPU matmul drops mantissa bits, so the similarity stage stays on
the CPU; see `spinebench.questions.class_similarities`, which also checks one block against int64.)

Quantising is elementwise (a multiplication by a power of two, then round-half-to-even), so it gives the
same integers on every machine for the same float32 input.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from spinebench.errors import SpineBenchError

SCALE: Final = 2048
# The largest integer below which float32 represents every integer exactly.
EXACT_FLOAT32: Final = 2**24
_CHECK_CHUNK: Final = 8192

Quantised = npt.NDArray[np.int16]


class QuantisationError(SpineBenchError, ValueError):
    """Vectors are not unit length (or not finite), so their quantised dot products would not be exact."""


def quantise(vectors: npt.ArrayLike, *, scale: int = SCALE) -> Quantised:
    """[n, dim] int16: round(v * scale) per coordinate; raises when a row is too long to stay exact."""
    rows = np.asarray(vectors, dtype=np.float64)
    if rows.ndim != 2:
        raise QuantisationError(f"expected a 2-d array of vectors, got shape {rows.shape}")
    if not np.isfinite(rows).all():
        raise QuantisationError("vectors hold NaN or infinite values")
    quantised = np.rint(rows * scale)
    if len(quantised) and np.abs(quantised).max() > np.iinfo(np.int16).max:
        raise QuantisationError(
            f"a coordinate exceeds 1 in magnitude: vectors must be unit length (scale {scale})"
        )
    out = quantised.astype(np.int16)
    check_exact_range(out)
    return out


def check_exact_range(quantised: Quantised) -> None:
    """Raises unless every row's squared length is at most 2^24 (then every partial dot sum is exact)."""
    if not len(quantised):
        return
    longest = 0
    for start in range(0, len(quantised), _CHECK_CHUNK):  # chunks: an int64 copy of 100k rows is a gigabyte
        wide = quantised[start : start + _CHECK_CHUNK].astype(np.int64)
        longest = max(longest, int(np.einsum("ij,ij->i", wide, wide).max()))
    if longest > EXACT_FLOAT32:
        raise QuantisationError(
            f"a quantised vector has squared length {longest} > 2^24: its float32 dot products could round "
            "(are the vectors L2-normalised?)"
        )


def dequantise(quantised: Quantised, *, scale: int = SCALE) -> npt.NDArray[np.float32]:
    """The float32 vectors the integers stand for (exact: a division by a power of two)."""
    return (quantised.astype(np.float32) / np.float32(scale)).astype(np.float32)
