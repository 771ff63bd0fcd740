"""Wilson intervals for rates, and how many runs a confidence gate needs.

scipy is imported inside the functions: it costs seconds at start-up and most commands
(``--help``, ``suite validate``) never compute an interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

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
