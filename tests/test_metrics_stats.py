"""Statistics against independent computations: closed formulas, math.comb, the published pass^k example."""

from __future__ import annotations

import math

import pytest

from agentctl.metrics.intervals import (
    mcnemar_exact,
    min_pairs_for_significance,
    paired_bootstrap,
    runs_needed_for_max,
    runs_needed_for_min,
    wilson,
)
from agentctl.metrics.passk import pass_at_k, pass_hat_k
from support.stats import mcnemar_by_hand, wilson_closed, z_of


@pytest.mark.parametrize(
    "k,n,conf", [(0, 10, 0.95), (3, 10, 0.95), (10, 10, 0.95), (87, 200, 0.9), (1, 1, 0.99)]
)
def test_wilson_matches_closed_formula(k: int, n: int, conf: float) -> None:
    low, high = wilson(k, n, conf)
    exp_low, exp_high = wilson_closed(k, n, conf)
    assert low == pytest.approx(exp_low, abs=1e-9)
    assert high == pytest.approx(exp_high, abs=1e-9)


def test_wilson_without_runs_is_none() -> None:
    assert wilson(0, 0) == (None, None)


@pytest.mark.parametrize("max_rate,conf", [(0.001, 0.95), (0.01, 0.99), (0.05, 0.9)])
def test_runs_needed_for_max_is_the_smallest_n_with_zero_errors(max_rate: float, conf: float) -> None:
    n = runs_needed_for_max(max_rate, conf)
    assert n is not None
    z2 = z_of(conf) ** 2
    # Upper Wilson bound with 0 errors is z^2 / (n + z^2).
    assert z2 / (n + z2) <= max_rate < z2 / (n - 1 + z2)


@pytest.mark.parametrize("min_rate,conf", [(0.95, 0.95), (0.99, 0.95), (0.8, 0.9)])
def test_runs_needed_for_min_is_the_smallest_n_with_all_successes(min_rate: float, conf: float) -> None:
    n = runs_needed_for_min(min_rate, conf)
    assert n is not None
    z2 = z_of(conf) ** 2
    # Lower Wilson bound with n of n successes is n / (n + z^2).
    assert n / (n + z2) >= min_rate > (n - 1) / (n - 1 + z2)


def test_runs_needed_at_an_observed_rate() -> None:
    n = runs_needed_for_min(0.95, 0.95, observed_rate=0.97)
    assert n is not None
    assert wilson(math.floor(0.97 * n), n)[0] >= 0.95
    assert wilson(math.floor(0.97 * (n - 1)), n - 1)[0] < 0.95
    assert runs_needed_for_min(0.95, 0.95, observed_rate=0.95) is None  # can never show it
    assert runs_needed_for_max(0.0, 0.95) is None


def test_published_pass_hat_k_example() -> None:
    counts = [(4, 0)] * 14 + [(4, 1)] * 12 + [(4, 2)] * 10 + [(4, 3)] * 4 + [(4, 4)] * 10
    got = [pass_hat_k(counts, k) for k in range(1, 5)]
    assert got == pytest.approx([0.420, 0.2733, 0.220, 0.200], abs=5e-5)


def test_pass_at_k_and_cases_without_enough_trials() -> None:
    counts = [(3, 1), (3, 0), (2, 2)]
    # k=2 uses all three cases: 1 - C(2,2)/C(3,2), 1 - C(3,2)/C(3,2), 1 - 0
    assert pass_at_k(counts, 2) == pytest.approx(((1 - 1 / 3) + 0 + 1) / 3)
    # k=3 skips the case with 2 trials
    assert pass_hat_k(counts, 3) == pytest.approx(0.0)
    assert pass_at_k(counts, 3) == pytest.approx((1 + 0) / 2)
    assert pass_hat_k([(2, 2)], 3) is None


@pytest.mark.parametrize("b,c", [(0, 0), (19, 2), (5, 5), (0, 6), (3, 0), (1, 12)])
def test_mcnemar_exact_matches_the_binomial_formula(b: int, c: int) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(mcnemar_by_hand(b, c), rel=1e-9)


def test_min_pairs_for_significance() -> None:
    m = min_pairs_for_significance(0.05)
    assert mcnemar_by_hand(m, 0) < 0.05 <= mcnemar_by_hand(m - 1, 0)


def test_paired_bootstrap_is_reproducible_and_sensible() -> None:
    base = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    cand = [1.5, 2.1, 3.9, 4.0, 5.8, 6.2, 7.7, 8.3]
    first = paired_bootstrap(base, cand, "mean")
    assert first == paired_bootstrap(base, cand, "mean")
    assert first is not None
    low, high, p = first
    mean_diff = sum(c - b for b, c in zip(base, cand, strict=True)) / len(base)
    assert low <= mean_diff <= high
    assert low > 0 and p < 0.05  # every difference is >= 0
    assert paired_bootstrap(base, cand, "p95") == paired_bootstrap(base, cand, "p95")


def test_paired_bootstrap_degenerate_cases() -> None:
    assert paired_bootstrap([1.0], [2.0], "mean") is None
    same = paired_bootstrap([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], "mean")
    assert same == (0.0, 0.0, 1.0)
    shifted = paired_bootstrap([1.0, 2.0, 3.0], [2.0, 3.0, 4.0], "sum")
    assert shifted == (3.0, 3.0, 0.0)
