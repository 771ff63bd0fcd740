"""Percentiles of bootstrap resamples from counts, equal to ``np.percentile`` of each resample.

A resample's percentile needs two of its order statistics, and the j-th smallest of a
resample is the value at the first rank whose drawn count (draws of that rank or below)
exceeds j. So each resample's draws are counted per rank (``np.bincount``) and the order
statistics read off the running counts: a few linear passes over the drawn indices instead of
``np.percentile``'s copy and partition of every resampled array, for the very same draws.

Only ranks near the wanted positions are counted one by one: the others fall into a few
"gap" counts. The wanted statistic of a resample lies within a few standard deviations
(about ``sqrt(n) / 2``) of its position; the windows are many times that wide, and a resample
whose statistic still falls into a gap is redone by sorting, so every result is exact.

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
        self.windows = [(lo, hi, self.order[lo:hi]) for lo, hi in spans]
        # Which window each wanted statistic is looked for in (the one around its rank).
        self.window_of = [next(w for w, (lo, hi) in enumerate(spans) if lo <= k < hi) for k in ks.tolist()]

    def below(self, lo: int) -> Any:
        """1 for the pairs ranked below ``lo``, else 0."""
        import numpy as np

        flags = np.zeros(len(self.values), dtype=np.intp)
        flags[self.order[:lo]] = 1
        return flags


class ResampledPercentiles:
    """Percentiles of resamples of paired values, as ``np.percentile`` of each resample gives them."""

    def __init__(self, x: Any, y: Any, percents: Sequence[float]) -> None:
        import numpy as np

        self.n = len(x)
        prev, nxt, self.gamma = percentile_plan(self.n, percents)
        ks = np.concatenate([prev, nxt])
        self.sides = [_Side(x, ks), _Side(y, ks)]
        # Which pairs rank below each window (that does not start at rank 0), to count their draws.
        self.below_flags = {(s, w): side.below(lo) for s, side in enumerate(self.sides)
                            for w, (lo, _, _) in enumerate(side.windows) if lo}

    def __call__(self, idx: Any) -> list[Any]:
        """Each side's percentiles of each resample (row of ``idx``): shape (percents, rows)."""
        import numpy as np

        m, n = idx.shape
        flat = idx.astype(np.intp)
        flat += (np.arange(m, dtype=np.intp) * n)[:, None]
        counts = np.bincount(flat.ravel(), minlength=m * n).reshape(m, n)
        # Integer dot products (einsum: exact, and no BLAS threads).
        below = {key: np.einsum("ij,j->i", counts, flags) for key, flags in self.below_flags.items()}
        q = len(self.gamma)
        out = []
        for s, side in enumerate(self.sides):
            stats = np.empty((m, len(side.ks)))
            redo = np.zeros(m, dtype=bool)
            running = []
            for w, (_, _, pairs) in enumerate(side.windows):
                r = np.cumsum(np.take(counts, pairs, axis=1), axis=1)
                if (s, w) in below:
                    r += below[(s, w)][:, None]
                running.append(r)
            for j, (k, w) in enumerate(zip(side.ks.tolist(), side.window_of, strict=True)):
                lo, hi, _ = side.windows[w]
                # The k-th smallest is at the first rank whose running count exceeds k; it is
                # outside the window when the draws below the window already exceed k, or
                # those up to its end do not.
                pos = (running[w] <= k).sum(axis=1)
                redo |= pos == hi - lo
                if (s, w) in below:
                    redo |= below[(s, w)] > k
                stats[:, j] = side.ranked[lo + np.minimum(pos, hi - lo - 1)]
            for row in np.flatnonzero(redo).tolist():  # a statistic outside its window: sort this resample
                stats[row] = np.sort(side.values[idx[row]])[side.ks]
            out.append(lerp(stats[:, :q], stats[:, q:], self.gamma[None, :]).T)
        return out
