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
_CHUNK: Final = 8192  # rows per step: a float copy of 100k x 1280 would be half a gigabyte
# Twice the worst float32 summation error below 2^24, for dim up to 65536 (see check_exact_range).
_SAFE_LENGTH: Final = EXACT_FLOAT32 * (1 - 2 * 65536 * 2.0**-24)

Quantised = npt.NDArray[np.int16]


class QuantisationError(SpineBenchError, ValueError):
    """Vectors are not unit length (or not finite), so their quantised dot products would not be exact."""


def quantise(vectors: npt.ArrayLike, *, scale: int = SCALE) -> Quantised:
    """[n, dim] int16: round(v * scale) per (float32) coordinate; raises when a row is too long to stay exact.

    In float32 and in chunks: multiplying by a power of two and rounding are exact in float32, so this
    gives the same integers as float64 would, at a quarter of the memory traffic.
    """
    rows = np.asarray(vectors)
    if rows.ndim != 2:
        raise QuantisationError(f"expected a 2-d array of vectors, got shape {rows.shape}")
    out = np.empty(rows.shape, dtype=np.int16)
    limit = np.iinfo(np.int16).max
    for start in range(0, len(rows), _CHUNK):
        chunk = np.rint(rows[start : start + _CHUNK].astype(np.float32) * np.float32(scale))
        if not np.isfinite(chunk).all():
            raise QuantisationError("vectors hold NaN or infinite values")
        if len(chunk) and np.abs(chunk).max() > limit:
            raise QuantisationError("a coordinate exceeds 1 in magnitude: vectors must be unit length")
        out[start : start + _CHUNK] = chunk
    check_exact_range(out)
    return out


def check_exact_range(quantised: Quantised) -> None:
    """Raises unless every row's squared length is at most 2^24 (then every partial dot sum is exact).

    The squared lengths are summed in float32, whose relative error is below dim x 2^-24; the test keeps a
    margin far wider than that, so it never passes a row that is too long. (A quantised unit vector has a
    squared length near 2048² ≈ 4.2 million, a quarter of the bound.)
    """
    if not len(quantised):
        return
    longest = 0.0
    for start in range(0, len(quantised), _CHUNK):
        chunk = quantised[start : start + _CHUNK].astype(np.float32)
        longest = max(longest, float(np.einsum("ij,ij->i", chunk, chunk).max()))
    if longest > _SAFE_LENGTH:
        raise QuantisationError(
            f"a quantised vector has squared length about {longest:.0f}, too close to 2^24: its float32 dot "
            "products could round (are the vectors L2-normalised?)"
        )


def dequantise(quantised: Quantised, *, scale: int = SCALE) -> npt.NDArray[np.float32]:
    """The float32 vectors the integers stand for (exact: a division by a power of two)."""
    return (quantised.astype(np.float32) / np.float32(scale)).astype(np.float32)
