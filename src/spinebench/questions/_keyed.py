"""Keyed 64-bit hashes of text: the order-free stand-in for "random" wherever a choice must not depend on
the catalogue's order (library sampling, tie-breaking). blake2b of `key` + NUL + item, first 8 bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

UInt64s = npt.NDArray[np.uint64]


def keyed_hash64(key: str, items: Iterable[str]) -> UInt64s:
    prefix = key.encode("utf-8") + b"\x00"
    return np.asarray(
        [
            int.from_bytes(hashlib.blake2b(prefix + item.encode("utf-8"), digest_size=8).digest(), "big")
            for item in items
        ],
        dtype=np.uint64,
    )


def mix64(keys: UInt64s, salt: npt.NDArray[np.uint64]) -> UInt64s:
    """splitmix64 of `keys ^ salt` (broadcast): a per-(key, salt) pseudo-random word, wrapping arithmetic."""
    with np.errstate(over="ignore"):
        z = (keys ^ (salt * np.uint64(0x9E3779B97F4A7C15))) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))
