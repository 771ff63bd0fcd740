"""The fast paired bootstrap gives exactly the numbers of the plain one: the same seeded
draws, and each resample's percentiles equal to ``np.percentile`` of the resampled values."""

from __future__ import annotations

import numpy as np
import pytest

from agentctl.metrics import intervals, resampled_quantiles
from agentctl.metrics.intervals import (
    BOOTSTRAP_RESAMPLES,
    paired_bootstrap,
    paired_bootstrap_quantiles,
    resampled_percentile_differences,
)
from agentctl.metrics.resampled_quantiles import lerp, percentile_plan
from support.stats import bootstrap_by_resorting, bootstrap_means_by_indexing


def _data(kind: str, n: int, seed: int = 3) -> tuple[list[float], list[float]]:
    rng = np.random.default_rng(seed)
    if kind == "continuous":
        x = rng.lognormal(0.3, 0.5, n)
        y = x * rng.uniform(0.9, 1.3, n)
    elif kind == "ties":  # latencies rounded to 0.1 s: long runs of equal values
        x = np.round(1 + rng.integers(0, 17, n) * 0.1, 1)
        y = np.round(x + rng.integers(0, 3, n) * 0.05, 2)
    elif kind == "constant":
        x, y = np.full(n, 2.5), np.full(n, 2.5)
    elif kind == "inf":  # a run that never finished its clock
        x = rng.uniform(0, 3, n)
        y = x.copy()
        x[:: max(1, n // 5)] = np.inf
    elif kind == "nan":
        x, y = rng.uniform(0, 3, n), rng.uniform(0, 3, n)
        y[n // 2] = np.nan
    elif kind == "signed_zero":
        x = np.where(rng.random(n) < 0.5, -0.0, 0.0)
        y = np.where(rng.random(n) < 0.3, -0.0, 1.0)
    else:
        raise ValueError(kind)
    return x.tolist(), y.tolist()


def _same(a: object, b: object) -> bool:
    """Equal bit for bit, NaN equal to NaN."""
    return bool(np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True))


@pytest.mark.parametrize("kind", ["continuous", "ties", "constant", "inf", "nan", "signed_zero"])
@pytest.mark.parametrize("n", [2, 3, 17, 400, 4001])
def test_resampled_percentiles_equal_numpy_on_each_resample(kind: str, n: int) -> None:
    x, y = _data(kind, n)
    percents = [50.0, 95.0]
    got = resampled_percentile_differences(np.asarray(x), np.asarray(y), percents)
    assert got.shape == (2, BOOTSTRAP_RESAMPLES)
    assert _same(got, bootstrap_by_resorting(x, y, percents))


def test_resamples_in_many_chunks_draw_as_one_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    """The chunk size bounds memory and nothing else: the draws are one stream either way."""
    x, y = _data("continuous", 300)
    monkeypatch.setattr(intervals, "_CHUNK", 7 * 300 + 5)  # 7 resamples a chunk, the last one short
    got = resampled_percentile_differences(np.asarray(x), np.asarray(y), [50.0, 95.0])
    assert _same(got, bootstrap_by_resorting(x, y, [50.0, 95.0]))  # all 1000 resamples in one chunk
    means = intervals._resampled_means(np.asarray(y) - np.asarray(x))
    assert _same(means, bootstrap_means_by_indexing(x, y))


@pytest.mark.parametrize("kind", ["continuous", "ties"])
def test_a_statistic_outside_the_counted_windows_is_redone_exactly(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Windows a tenth of a standard deviation wide: most resamples land outside and are redone.
    monkeypatch.setattr(resampled_quantiles, "WINDOW_SDS", 0.1)
    x, y = _data(kind, 2000)
    counted = resampled_quantiles.ResampledPercentiles(np.asarray(x), np.asarray(y), [50.0, 95.0])
    assert all(len(side.windows) == 2 and side.windows[0][0] > 0 for side in counted.sides)  # narrow windows
    got = resampled_percentile_differences(np.asarray(x), np.asarray(y), [50.0, 95.0])
    assert _same(got, bootstrap_by_resorting(x, y, [50.0, 95.0]))


@pytest.mark.parametrize("n", [1, 2, 5, 100, 1001])
def test_percentile_plan_and_lerp_are_numpys_linear_method(n: int) -> None:
    values = np.sort(np.random.default_rng(n).normal(size=n))
    percents = [0.0, 1.0, 33.3, 50.0, 95.0, 99.9, 100.0]
    prev, nxt, gamma = percentile_plan(n, percents)
    assert _same(lerp(values[prev], values[nxt], gamma), np.percentile(values, percents))


def test_int32_draws_are_the_default_draws() -> None:
    """The bootstrap draws its indices as int32; numpy draws them exactly as int64."""
    n = 5000
    drawn = np.concatenate([idx for _, idx in intervals._draws(n)])
    assert _same(drawn, np.random.default_rng(0).integers(0, n, size=(BOOTSTRAP_RESAMPLES, n)))
    for n in (2, 3, 1000, 123_457):
        a, b = np.random.default_rng(0), np.random.default_rng(0)
        for rows in (1, 7, 40):  # one generator drawing chunk after chunk, as the bootstrap does
            assert _same(a.integers(0, n, size=(rows, 500)), b.integers(0, n, size=(rows, 500), dtype=np.int32))


def test_continuous_means_resample_the_same_draws() -> None:
    x, y = _data("continuous", 500)
    got = intervals._resampled_means(np.asarray(y) - np.asarray(x))
    assert _same(got, bootstrap_means_by_indexing(x, y))


def test_summaries_are_those_of_the_plain_bootstrap() -> None:
    x, y = _data("continuous", 1500)
    for row, got in zip(bootstrap_by_resorting(x, y, [50.0, 95.0]), paired_bootstrap_quantiles(x, y, [50.0, 95.0]),
                        strict=True):
        dist = np.asarray(row)
        alpha = (1 - 0.95) / 2
        low, high = np.percentile(dist, [alpha * 100, (1 - alpha) * 100])
        p = min(1.0, 2 * min(float(np.mean(dist <= 0)), float(np.mean(dist >= 0))))
        assert got == (float(low), float(high), p)
    assert paired_bootstrap(x, y, "p95") == paired_bootstrap_quantiles(x, y, [95.0])[0]
