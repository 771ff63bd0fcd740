"""Statistics: Wilson intervals, runs a confidence gate needs, exact McNemar, paired bootstrap.

scipy is imported inside the functions: it costs seconds at start-up and most commands
(``--help``, ``suite validate``) never compute an interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

# Beyond this many runs we stop searching: no suite runs a billion cases.
_MAX_RUNS = 1_000_000_000


@lru_cache(maxsize=65536)
def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | tuple[None, None]:
    """Two-sided Wilson score interval of ``k`` successes in ``n`` trials.

    Returns ``(None, None)`` when ``n`` is 0: there is nothing to estimate.
    """
    if n <= 0:
        return (None, None)
    if not 0 <= k <= n:
        raise ValueError(f"wilson: k={k} must be between 0 and n={n}")
    from scipy.stats import binomtest

    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def _smallest_n(ok: Callable[[int], bool]) -> int | None:
    """Smallest n >= 1 with ``ok(n)``, assuming ``ok`` stays true once it holds."""
    hi = 1
    while not ok(hi):
        if hi >= _MAX_RUNS:
            return None
        hi *= 2
    lo = hi // 2  # ok(lo) is false (or lo == 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


def runs_needed_for_max(max_rate: float, confidence: float, observed_rate: float = 0.0) -> int | None:
    """Smallest number of runs whose upper Wilson bound can be ``<= max_rate``.

    With the default ``observed_rate`` of 0 this is the number of runs needed when no
    error at all occurs; with an observed rate it is the number needed if errors keep
    occurring at that rate (an estimate: the error count is rounded up). ``None`` when no
    number of runs is enough (``max_rate <= 0`` or ``observed_rate >= max_rate``).
    """
    if max_rate >= 1:
        return 1
    if max_rate <= 0 or observed_rate >= max_rate:
        return None

    def ok(n: int) -> bool:
        k = min(n, math.ceil(observed_rate * n - 1e-9))
        high = wilson(k, n, confidence)[1]
        return high is not None and high <= max_rate

    return _smallest_n(ok)


def runs_needed_for_min(min_rate: float, confidence: float, observed_rate: float = 1.0) -> int | None:
    """Smallest number of runs whose lower Wilson bound can be ``>= min_rate``.

    With the default ``observed_rate`` of 1 this is the number of runs needed when every
    run succeeds; with an observed rate, the number needed if successes keep coming at
    that rate (an estimate: the success count is rounded down). ``None`` when no number
    of runs is enough (``min_rate >= 1`` or ``observed_rate <= min_rate``).
    """
    if min_rate <= 0:
        return 1
    if min_rate >= 1 or observed_rate <= min_rate:
        return None

    def ok(n: int) -> bool:
        k = max(0, math.floor(observed_rate * n + 1e-9))
        low = wilson(k, n, confidence)[0]
        return low is not None and low >= min_rate

    return _smallest_n(ok)


@lru_cache(maxsize=64)
def min_pairs_for_significance(alpha: float) -> int:
    """Fewest discordant pairs with which an exact McNemar test can reach ``p < alpha`` (all of
    them in one direction). Paired bootstraps are held to the same number of pairs, since
    with fewer a resampled difference of one sign is 'significant' by construction."""
    from scipy.stats import binomtest

    m = 1
    while binomtest(m, m, 0.5).pvalue >= alpha:
        m += 1
    return m


def mcnemar_exact(regressed: int, improved: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs at 1/2."""
    if regressed + improved == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(regressed, regressed + improved, 0.5).pvalue)


BOOTSTRAP_RESAMPLES = 1000
"""Enough for a 95% percentile interval, and cheap on 10,000 pairs."""

BootstrapResult = tuple[float, float, float]
"""Interval low, interval high, two-sided p-value of the difference."""


def _bootstrap_options(n: int, confidence: float) -> dict[str, Any]:
    import numpy as np

    return {
        "n_resamples": BOOTSTRAP_RESAMPLES,
        "vectorized": True,
        "method": "percentile",
        "confidence_level": confidence,
        "axis": -1,
        "batch": max(1, 2_000_000 // n),  # bounds memory on big runs
        "rng": np.random.default_rng(0),
    }


def _summaries(res: Any, rows: int) -> list[BootstrapResult | None]:
    import numpy as np

    low = np.atleast_1d(res.confidence_interval.low)
    high = np.atleast_1d(res.confidence_interval.high)
    dist = np.atleast_2d(res.bootstrap_distribution)
    out: list[BootstrapResult | None] = []
    for i in range(rows):
        # Twice the smaller share of resampled differences on either side of 0.
        p = min(1.0, 2 * min(float(np.mean(dist[i] <= 0)), float(np.mean(dist[i] >= 0))))
        out.append((float(low[i]), float(high[i]), p))
    return out


def paired_bootstrap_means(
    base: Sequence[Sequence[float]], cand: Sequence[Sequence[float]], confidence: float = 0.95
) -> list[BootstrapResult | None]:
    """Paired bootstrap of ``mean(cand) - mean(base)`` for several metrics over the same pairs.

    Each row is one metric; columns are pairs. All rows share the same resamples (seeded with
    ``numpy.random.default_rng(0)``), so a row's result does not depend on the others. Entries
    are ``None`` with fewer than two pairs.
    """
    import numpy as np
    from scipy.stats import bootstrap

    x, y = np.atleast_2d(np.asarray(base, dtype=float)), np.atleast_2d(np.asarray(cand, dtype=float))
    if x.shape != y.shape:
        raise ValueError("paired bootstrap needs as many baseline as candidate values")
    if x.shape[-1] < 2:
        return [None] * x.shape[0]
    # A mean is linear: resampling the differences is the paired bootstrap, at half the cost.
    res = bootstrap((y - x,), np.mean, **_bootstrap_options(x.shape[-1], confidence))
    return _summaries(res, x.shape[0])


def paired_bootstrap_quantiles(
    base: Sequence[float], cand: Sequence[float], percents: Sequence[float], confidence: float = 0.95
) -> list[BootstrapResult | None]:
    """Paired bootstrap of ``percentile(cand, q) - percentile(base, q)`` for each q in ``percents``."""
    import numpy as np
    from scipy.stats import bootstrap

    x, y = np.asarray(base, dtype=float), np.asarray(cand, dtype=float)
    if x.shape != y.shape:
        raise ValueError("paired bootstrap needs as many baseline as candidate values")
    if len(x) < 2:
        return [None] * len(percents)
    qs = list(percents)

    def diff(a: Any, b: Any, axis: int) -> Any:
        return np.percentile(b, qs, axis=axis) - np.percentile(a, qs, axis=axis)

    res = bootstrap((x, y), diff, paired=True, **_bootstrap_options(len(x), confidence))
    return _summaries(res, len(qs))


def paired_bootstrap(
    base: Sequence[float], cand: Sequence[float], statistic: str, confidence: float = 0.95
) -> BootstrapResult | None:
    """Percentile interval and two-sided p-value of ``stat(cand) - stat(base)`` over pairs.

    ``statistic`` is ``mean``, ``sum``, ``p50`` or ``p95``. Seeded, so the same data give
    the same numbers. ``None`` with fewer than two pairs.
    """
    if statistic in ("mean", "sum"):
        result = paired_bootstrap_means([list(base)], [list(cand)], confidence)[0]
        if result is None or statistic == "mean":
            return result
        n = len(base)  # resamples keep the size, so the sum is n times the mean
        return result[0] * n, result[1] * n, result[2]
    if statistic in ("p50", "p95"):
        return paired_bootstrap_quantiles(base, cand, [50 if statistic == "p50" else 95], confidence)[0]
    raise ValueError(f"unknown bootstrap statistic {statistic!r}")
