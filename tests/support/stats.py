"""Independent computations the statistics are checked against: closed formulas, math.comb."""

from __future__ import annotations

import math
from statistics import NormalDist


def z_of(confidence: float) -> float:
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson_closed(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    z = z_of(confidence)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_by_hand(b: int, c: int) -> float:
    """Two-sided exact binomial test at 1/2: twice the smaller tail, capped at 1."""
    m = b + c
    if m == 0:
        return 1.0
    tail = sum(math.comb(m, i) for i in range(0, min(b, c) + 1)) / 2**m
    return min(1.0, 2 * tail)
