"""pass^k (every one of k trials succeeds) and pass@k (at least one of k succeeds).

Both are unbiased estimators over cases that ran ``n >= k`` trials with ``c`` successes:
pass^k averages C(c, k) / C(n, k) (tau-bench), pass@k averages 1 - C(n-c, k) / C(n, k)
(HumanEval). Counts are ``(n, c)`` pairs: trials first, successes second.
"""

from __future__ import annotations

from collections import Counter
from math import comb


def _eligible(counts: list[tuple[int, int]], k: int) -> Counter[tuple[int, int]]:
    """The ``(n, c)`` of cases with ``n >= k``, counted: thousands of cases share few pairs."""
    if k < 1:
        raise ValueError(f"k must be at least 1 (got {k})")
    tally = Counter(counts)
    for n, c in tally:
        if not 0 <= c <= n:
            raise ValueError(f"successes {c} must be between 0 and trials {n}")
    return Counter({nc: w for nc, w in tally.items() if nc[0] >= k})


def pass_hat_k(counts: list[tuple[int, int]], k: int) -> float | None:
    """Mean over cases with ``n >= k`` of C(c, k) / C(n, k); ``None`` when no case has k trials.

    ``counts`` holds one ``(n, c)`` per case: ``n`` trials, ``c`` of them successful.
    """
    cases = _eligible(counts, k)
    if not cases:
        return None
    return sum(w * comb(c, k) / comb(n, k) for (n, c), w in cases.items()) / cases.total()


def pass_at_k(counts: list[tuple[int, int]], k: int) -> float | None:
    """Mean over cases with ``n >= k`` of 1 - C(n - c, k) / C(n, k); ``None`` when none qualifies."""
    cases = _eligible(counts, k)
    if not cases:
        return None
    return sum(w * (1 - comb(n - c, k) / comb(n, k)) for (n, c), w in cases.items()) / cases.total()


def cases_with_k(counts: list[tuple[int, int]], k: int) -> int:
    """How many cases ran at least ``k`` trials (the ``n`` of a pass^k value)."""
    return sum(1 for n, _ in counts if n >= k)
