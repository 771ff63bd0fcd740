"""Statistics: Wilson intervals, runs a confidence gate needs, exact McNemar, paired bootstrap.

All closed forms or numpy: ``scipy.stats`` costs seconds to import, and a gate or a
comparison needs none of it (its results are matched by tests against independent formulas).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from statistics import NormalDist
from typing import Any

# Beyond this many runs we stop searching: no suite runs a billion cases.
_MAX_RUNS = 1_000_000_000


@lru_cache(maxsize=64)
def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


@lru_cache(maxsize=65536)
def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float] | tuple[None, None]:
    """Two-sided Wilson score interval of ``k`` successes in ``n`` trials (no continuity correction).

    Returns ``(None, None)`` when ``n`` is 0: there is nothing to estimate.
    """
    if n <= 0:
        return (None, None)
    if not 0 <= k <= n:
        raise ValueError(f"wilson: k={k} must be between 0 and n={n}")
    z = _z(confidence)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


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
    them in one direction: p = 2 / 2^m). Paired bootstraps are held to the same number of pairs,
    since with fewer a resampled difference of one sign is 'significant' by construction."""
    m = 1
    while min(1.0, 2.0 * 0.5**m) >= alpha:
        m += 1
    return m


def _binom_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    if k >= n:
        return 1.0
    if n <= 5000:  # exact in integers; int / int rounds correctly
        return sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    # Large n: the log-pmf terms summed in log space (relative error ~1e-12).
    base = math.lgamma(n + 1) - n * math.log(2)
    logs = [base - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(k + 1)]
    top = max(logs)
    return math.exp(top) * math.fsum(math.exp(x - top) for x in logs)


def mcnemar_exact(regressed: int, improved: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs at 1/2
    (twice the smaller tail, capped at 1; the distribution is symmetric)."""
    n = regressed + improved
    if n == 0:
        return 1.0
    small = min(regressed, improved)
    if 2 * small == n:
        return 1.0
    return min(1.0, 2.0 * _binom_half_cdf(small, n))


BOOTSTRAP_RESAMPLES = 1000
"""Enough for a 95% percentile interval, and cheap on 100,000 pairs."""

BootstrapResult = tuple[float, float, float]
"""Interval low, interval high, two-sided p-value of the difference."""

_CHUNK = 100_000
"""Resampled values held at once. It bounds memory, and it is small on purpose: work arrays of
a chunk this size are reused by the allocator, larger ones come as fresh pages each time, and
on this kind of machine the page faults cost more than the counting. (The draws are one stream:
the chunk size changes no number.)"""

_FEW_VALUES = 64
"""Differences with at most this many distinct values are resampled as counts (multinomial)."""


def _summary(dist: Any, confidence: float) -> BootstrapResult:
    import numpy as np

    alpha = (1 - confidence) / 2
    low, high = np.percentile(dist, [alpha * 100, (1 - alpha) * 100])
    # Twice the smaller share of resampled differences on either side of 0.
    p = min(1.0, 2 * min(float(np.mean(dist <= 0)), float(np.mean(dist >= 0))))
    return (float(low), float(high), p)


def _resampled_means(d: Any) -> Any:
    """BOOTSTRAP_RESAMPLES means of resamples (with replacement) of ``d``, seeded.

    A resample's mean depends only on how often each distinct value is drawn, so when there
    are few distinct values (rates: -1, 0, 1) the counts are drawn from a multinomial: the
    same distribution as resampling indices, in O(resamples x values) instead of O(resamples x n).
    """
    import numpy as np

    n = len(d)
    values, counts = np.unique(d, return_counts=True)
    if len(values) <= _FEW_VALUES:
        draws = np.random.default_rng(0).multinomial(n, counts / n, size=BOOTSTRAP_RESAMPLES)
        return draws @ values / n
    out = np.empty(BOOTSTRAP_RESAMPLES)
    resampled = None  # reused from chunk to chunk: fresh pages cost more than the work
    for i, idx in _draws(n):
        if resampled is None:
            resampled = np.empty(idx.shape)
        values = np.take(d, idx, out=resampled[: len(idx)], mode="clip")  # d[idx]; every index is valid
        out[i : i + len(idx)] = values.mean(axis=1)
    return out


def paired_bootstrap_means(
    base: Sequence[Sequence[float]], cand: Sequence[Sequence[float]], confidence: float = 0.95
) -> list[BootstrapResult | None]:
    """Paired bootstrap of ``mean(cand) - mean(base)`` for several metrics over the same pairs.

    Each row is one metric; columns are pairs. Each row is resampled with its own generator
    seeded with 0, so a row's result depends on its data only. Entries are ``None`` with
    fewer than two pairs.
    """
    import numpy as np

    x, y = np.atleast_2d(np.asarray(base, dtype=float)), np.atleast_2d(np.asarray(cand, dtype=float))
    if x.shape != y.shape:
        raise ValueError("paired bootstrap needs as many baseline as candidate values")
    if x.shape[-1] < 2:
        return [None] * x.shape[0]
    # A mean is linear: resampling the differences is the paired bootstrap, at half the cost.
    # A row's result depends on its data only, so equal rows (cost_usd, mean_cost_usd) share it.
    done: dict[bytes, BootstrapResult] = {}
    out: list[BootstrapResult | None] = []
    for row in y - x:
        key = row.tobytes()
        if key not in done:
            done[key] = _summary(_resampled_means(row), confidence)
        out.append(done[key])
    return out


def _draws(n: int) -> Any:
    """The resampled pair indices, seeded, in chunks of resamples: ``(first resample, indices)``.

    Drawn as int32, which numpy draws exactly as the default int64 (the same bounded 32-bit
    draws below 2^32), in half the memory and time.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    step = max(1, _CHUNK // n)
    for i in range(0, BOOTSTRAP_RESAMPLES, step):
        m = min(step, BOOTSTRAP_RESAMPLES - i)
        yield i, rng.integers(0, n, size=(m, n), dtype=np.int32)


def resampled_percentile_differences(x: Any, y: Any, percents: Sequence[float]) -> Any:
    """``np.percentile(y[idx], percents, axis=1) - np.percentile(x[idx], percents, axis=1)`` over
    the seeded resamples ``idx`` of the pairs (shape: percents x resamples).

    Each resample's percentiles are read from counts of its draws
    (:mod:`agentctl.metrics.resampled_quantiles`): numpy's numbers, without copying and
    partitioning every resampled array.
    """
    import numpy as np

    from agentctl.metrics.resampled_quantiles import ResampledPercentiles, exact_by_counting

    qs = list(percents)
    dist = np.empty((len(qs), BOOTSTRAP_RESAMPLES))
    counted = ResampledPercentiles(x, y, qs) if exact_by_counting(x) and exact_by_counting(y) else None
    for i, idx in _draws(len(x)):
        m = len(idx)
        if counted is not None:
            px, py = counted(idx)
            dist[:, i : i + m] = py - px
        else:  # NaN or -0.0: numpy's own percentiles
            dist[:, i : i + m] = np.percentile(y[idx], qs, axis=1) - np.percentile(x[idx], qs, axis=1)
    return dist


def paired_bootstrap_quantiles(
    base: Sequence[float], cand: Sequence[float], percents: Sequence[float], confidence: float = 0.95
) -> list[BootstrapResult | None]:
    """Paired bootstrap of ``percentile(cand, q) - percentile(base, q)`` for each q in ``percents``."""
    import numpy as np

    x, y = np.asarray(base, dtype=float), np.asarray(cand, dtype=float)
    if x.shape != y.shape:
        raise ValueError("paired bootstrap needs as many baseline as candidate values")
    if len(x) < 2:
        return [None] * len(percents)
    return [_summary(row, confidence) for row in resampled_percentile_differences(x, y, percents)]


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
