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


def bootstrap_by_resorting(
    base: list[float], cand: list[float], percents: list[float], *, resamples: int = 1000, chunk: int = 4_000_000
) -> list[list[float]]:
    """The resampled percentile differences of a paired bootstrap the plain way: draw each
    resample's indices (seeded 0, in chunks of ``chunk`` values), and ``np.percentile`` each
    resampled array. One list per percent."""
    import numpy as np

    x, y = np.asarray(base, dtype=float), np.asarray(cand, dtype=float)
    n = len(x)
    rng = np.random.default_rng(0)
    dist = np.empty((len(percents), resamples))
    step = max(1, chunk // n)
    for i in range(0, resamples, step):
        m = min(step, resamples - i)
        idx = rng.integers(0, n, size=(m, n))
        dist[:, i : i + m] = np.percentile(y[idx], percents, axis=1) - np.percentile(x[idx], percents, axis=1)
    return dist.tolist()


def bootstrap_means_by_indexing(base: list[float], cand: list[float], *, resamples: int = 1000) -> list[float]:
    """Resampled mean differences: indices drawn (seeded 0), differences averaged per resample."""
    import numpy as np

    d = np.asarray(cand, dtype=float) - np.asarray(base, dtype=float)
    idx = np.random.default_rng(0).integers(0, len(d), size=(resamples, len(d)))
    return list(d[idx].mean(axis=1).tolist())
