"""Deterministic randomness for the generated chain: stateless hashes, not shared generators.

Every choice the generator makes is a pure function of the seed and of *where* the choice is made
(block number, slot, lane, attempt …), so any block can be computed without computing the ones before it.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
from functools import lru_cache

_MASK = 0xFFFF_FFFF_FFFF_FFFF
_TO_UNIT = 2.0**-53


def mix(*parts: int) -> int:
    """A well-mixed 64-bit hash of some integers (tuple hash of ints, then a multiplicative finaliser).

    Python's hash of an int tuple does not depend on ``PYTHONHASHSEED`` (only str/bytes hashes do), so
    the value is the same in every process on 64-bit CPython.
    """
    x = (hash(parts) * 0x9E3779B97F4A7C15) & _MASK
    return x ^ (x >> 29)


def derive(h: int, i: int) -> int:
    """Another 64-bit value from a hash (``derive(h, 0) == h``), cheaper than hashing again."""
    if not i:
        return h
    x = ((h + i * 0x9E3779B97F4A7C15) * 0xD6E8FEB86659FD93) & _MASK
    return x ^ (x >> 32)


def unit(h: int) -> float:
    """A 64-bit hash as a float in [0, 1)."""
    return (h >> 11) * _TO_UNIT


def chance(p: float, *parts: int) -> bool:
    return unit(mix(*parts)) < p


def rng(*parts: int) -> random.Random:
    """A private ``random.Random`` for one place (costs ~4 µs: use it for bulk choices, not in tight loops)."""
    return random.Random(mix(*parts))


class Zipf:
    """Ranks 0 … n-1 drawn with probability proportional to 1 / (rank + 1) ** s."""

    __slots__ = ("_cum", "_total")

    def __init__(self, n: int, s: float) -> None:
        self._cum: list[float] = list(itertools.accumulate(1.0 / (rank + 1) ** s for rank in range(n)))
        self._total: float = self._cum[-1]

    def rank(self, h: int) -> int:
        """The rank a 64-bit hash lands on."""
        return min(bisect.bisect_right(self._cum, unit(h) * self._total), len(self._cum) - 1)


@lru_cache(maxsize=65_536)
def affine_permutation(size: int, h: int) -> tuple[int, int, int]:
    """``(a, b, a_inverse)`` of the bijection ``x -> (a * x + b) % size`` on range(size), drawn from ``h``."""
    if size == 1:
        return 1, 0, 1
    a = 1 + h % (size - 1)
    while math.gcd(a, size) != 1:
        a = a % (size - 1) + 1
    return a, (h >> 32) % size, pow(a, -1, size)
