"""Percentiles of bootstrap resamples from counts, equal to ``np.percentile`` of each resample.

A resample's percentile needs two of its order statistics, and the j-th smallest of a
resample is the value at the first rank whose drawn count (draws of that rank or below)
exceeds j. So each resample's draws are counted per rank (``np.bincount``) and the order
statistics read off the running counts: a few linear passes over the drawn indices instead of
``np.percentile``'s copy and partition of every resampled array, for the very same draws.

Only windows of ranks around the wanted positions get running counts; the draws below a
window are one integer dot product. The wanted statistic of a resample lies within a few
standard deviations (about ``sqrt(n) / 2``) of its position; the windows are many times that
wide, and a resample whose statistic still falls outside its window is redone by sorting, so
every result is exact (a test narrows the windows to make that happen).

The interpolation between the two order statistics is numpy's own ``linear`` method
(``_lerp``: ``a + (b - a) * t``, or ``b - (b - a) * (1 - t)`` when ``t >= 0.5``), so the
results are bit for bit those of ``np.percentile(values[idx], percents, axis=1)``; a test
holds them to that.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

WINDOW_SDS = 12.0
"""Half-width of a counted window, in units of sqrt(n) / 2 (the largest standard deviation
of a resample's order statistic position); beyond about 6 a resample never needs a redo."""


def percentile_plan(n: int, percents: Sequence[float]) -> tuple[Any, Any, Any]:
    """numpy's ``linear`` percentile of ``n`` values: lower and upper order statistic and weight."""
    import numpy as np

    q = np.true_divide(np.asarray(percents, dtype=float), 100)
    virtual = (n - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    above = virtual >= n - 1
    prev[above], nxt[above] = -1, -1  # numpy's "the last value"
    below = virtual < 0
    prev[below], nxt[below] = 0, 0
    gamma = np.asarray(virtual - prev, dtype=virtual.dtype)  # as numpy, from the clipped index
    return prev.astype(np.intp) % n, nxt.astype(np.intp) % n, gamma


def lerp(a: Any, b: Any, t: Any) -> Any:
    """numpy's percentile interpolation, operation for operation."""
    import numpy as np

    diff = b - a
    out = np.add(a, diff * t)
    np.subtract(b, diff * (1 - t), out=out, where=t >= 0.5)
    return out


def exact_by_counting(values: Any) -> bool:
    """Counting gives np.percentile's numbers for these values: no NaN (numpy makes the whole
    percentile NaN) and no -0.0 (equal to 0.0, so which of them is picked is numpy's choice)."""
    import numpy as np

    return not (np.isnan(values).any() or (np.signbit(values) & (values == 0)).any())


class _Side:
    """One side's values in rank order, and the rank windows counted one by one."""

    def __init__(self, values: Any, ks: Any) -> None:
        import numpy as np

        n = len(values)
        self.values, self.ks = values, ks
        self.order = np.argsort(values, kind="stable")
        self.ranked = values[self.order]
        half = int(math.ceil(WINDOW_SDS * math.sqrt(n) / 2)) + 2
        spans: list[list[int]] = []
        for k in sorted(set(ks.tolist())):
            lo, hi = max(0, k - half), min(n, k + half + 1)
            if spans and lo <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], hi)
            else:
                spans.append([lo, hi])
        if sum(hi - lo for lo, hi in spans) * 2 >= n:  # most ranks anyway: count them all
            spans = [[0, n]]
        self.windows = [(lo, hi, self.order[lo:hi]) for lo, hi in spans]
        # The wanted statistics looked for in each window (the one around its rank).
        self.wanted = [[j for j, k in enumerate(ks.tolist()) if lo <= k < hi] for lo, hi in spans]


class ResampledPercentiles:
    """Percentiles of resamples of paired values, as ``np.percentile`` of each resample gives them."""

    def __init__(self, x: Any, y: Any, percents: Sequence[float]) -> None:
        import numpy as np

        self.n = n = len(x)
        prev, nxt, self.gamma = percentile_plan(n, percents)
        ks = np.concatenate([prev, nxt])
        self.sides = [_Side(x, ks), _Side(y, ks)]
        # The draws of the pairs ranked below each window (that does not start at rank 0) are
        # counted by integer dot products: exact, and no BLAS threads. Each count is at most n,
        # so several are packed into one int64 weight, in fields of n.bit_length() bits.
        self.below_of = [(s, w) for s, side in enumerate(self.sides) for w, (lo, _, _) in enumerate(side.windows) if lo]
        self.bits = max(1, n.bit_length())
        per_word = 63 // self.bits
        self.weights = []
        for start in range(0, len(self.below_of), per_word):
            weight = np.zeros(n, dtype=np.int64)
            for f, (s, w) in enumerate(self.below_of[start : start + per_word]):
                side = self.sides[s]
                weight[side.order[: side.windows[w][0]]] += 1 << (f * self.bits)
            self.weights.append(weight)
        self._buffers: dict[str, Any] = {}

    def _buffer(self, key: Any, m: int, width: int) -> Any:
        """An int work array of ``m`` rows, reused from chunk to chunk (fresh pages cost more
        than the work done in them)."""
        import numpy as np

        buf = self._buffers.get(key)
        if buf is None or len(buf) < m:
            buf = self._buffers[key] = np.empty((m, width), dtype=np.intp)
        return buf[:m]

    def _below(self, counts: Any) -> dict[tuple[int, int], Any]:
        import numpy as np

        out = {}
        per_word = 63 // self.bits
        mask = (1 << self.bits) - 1
        for i, weight in enumerate(self.weights):
            packed = np.einsum("ij,j->i", counts, weight)
            for f, key in enumerate(self.below_of[i * per_word : (i + 1) * per_word]):
                out[key] = (packed >> (f * self.bits)) & mask
        return out

    def __call__(self, idx: Any) -> list[Any]:
        """Each side's percentiles of each resample (row of ``idx``): shape (percents, rows)."""
        import numpy as np

        m, n = idx.shape
        rows = np.arange(m, dtype=np.intp)
        flat = np.add(idx, (rows * n)[:, None], out=self._buffer("flat", m, n))
        counts = np.bincount(flat.ravel(), minlength=m * n).reshape(m, n)
        below = self._below(counts)
        q = len(self.gamma)
        out = []
        for s, side in enumerate(self.sides):
            stats = np.empty((m, len(side.ks)))
            redo = np.zeros(m, dtype=bool)
            for w, (lo, hi, pairs) in enumerate(side.windows):
                width, wanted = hi - lo, side.wanted[w]
                if not wanted:
                    continue
                # Running counts of draws up to each rank (from those below the window), each row
                # lifted by r * n: every row holds n draws, so the whole matrix rises and one
                # search finds every row's k-th.
                running = np.take(counts, pairs, axis=1, out=self._buffer((s, w), m, width), mode="clip")
                running[:, 0] += (rows * n) + below[(s, w)] if (s, w) in below else rows * n
                np.cumsum(running, axis=1, out=running)
                ks = side.ks[wanted]
                targets = (rows * n)[:, None] + ks[None, :]
                pos = np.searchsorted(running.ravel(), targets.ravel(), side="right").reshape(m, -1)
                pos -= (rows * width)[:, None]
                # Outside the window: the draws below it already exceed k, or those up to its end do not.
                redo |= (pos == width).any(axis=1)
                if (s, w) in below:
                    redo |= (below[(s, w)][:, None] > ks[None, :]).any(axis=1)
                stats[:, wanted] = side.ranked[lo + np.clip(pos, 0, width - 1)]
            for row in np.flatnonzero(redo).tolist():  # a statistic outside its window: sort this resample
                stats[row] = np.sort(side.values[idx[row]])[side.ks]
            out.append(lerp(stats[:, :q], stats[:, q:], self.gamma[None, :]).T)
        return out
