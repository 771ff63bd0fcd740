"""The per-pair numbers of a pairing as arrays: read from the runs once, shared by its subsets.

A comparison tests every metric on all pairs and again on the pairs of each tag. Each run is
read into a row of numbers once (:func:`agentctl.metrics.compute.run_rows`); a metric's
columns, and a tag's pairs, are then slices of those arrays, never a new pass over the runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentctl.metrics.compute import (
    FLAG_COLUMNS,
    RUN_FLAGS,
    RUN_VALUES,
    VALUE_COLUMNS,
    run_is_scored,
    run_score,
)

if TYPE_CHECKING:
    from agentctl.core.results import RunResult
    from agentctl.metrics.compare import RunPair

Columns = tuple[Any, Any]
"""Baseline and candidate values, one per pair (numpy arrays)."""


class _Runs:
    """What is read from the runs of all the pairs: computed on first use, then kept."""

    def __init__(self, pairs: list[RunPair]) -> None:
        self.pairs = pairs
        self.cache: dict[Any, Any] = {}

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = make()
        return self.cache[key]


class PairTable:
    """The numbers of some of a pairing's pairs (``idx``, in order; all of them when ``None``)."""

    def __init__(self, runs: _Runs, idx: Any = None) -> None:
        self._runs, self._idx = runs, idx
        self._cache: dict[Any, Any] = {}

    @classmethod
    def of(cls, pairs: list[RunPair]) -> PairTable:
        return cls(_Runs(pairs))

    def take(self, positions: list[int]) -> PairTable:
        """The table of this table's pairs at ``positions`` (in order)."""
        import numpy as np

        pos = np.asarray(positions, dtype=np.intp)
        return PairTable(self._runs, pos if self._idx is None else self._idx[pos])

    def _get(self, key: Any, make: Callable[[], Any]) -> Any:
        """The root's value of ``key``, sliced to this table's pairs (and kept)."""
        if key not in self._cache:
            whole = self._runs.get(key, make)
            self._cache[key] = whole if self._idx is None else _slice(whole, self._idx)
        return self._cache[key]

    def _rows(self) -> tuple[Any, Any, Any, Any, int]:
        """Baseline rows, candidate rows (compute.run_rows, no scorers), case index, cases, judged."""
        from agentctl.metrics.compute import run_rows

        def make() -> tuple[Any, Any, Any, Any, int]:
            pairs = self._runs.pairs
            base, case_idx, n_cases = run_rows([p.base for p in pairs], [])
            cand, _, _ = run_rows([p.cand for p in pairs], [])
            judged = (base[:, FLAG_COLUMNS["infra_error_rate"]] == 0) & (cand[:, FLAG_COLUMNS["infra_error_rate"]] == 0)
            return base, cand, case_idx, judged, n_cases

        return self._get("rows", make)  # type: ignore[no-any-return]

    def rows(self) -> tuple[Any, Any, Any, int]:
        """``(baseline rows, candidate rows, case index, cases)`` for compute.metrics_of_rows."""
        base, cand, case_idx, _, n_cases = self._rows()
        return base, cand, case_idx, n_cases

    def flag(self, metric: str) -> Columns:
        """The 0/1 values behind a rate: over the judged pairs (every pair for infra errors)."""
        col = FLAG_COLUMNS.get(metric)
        if col is None:  # a flag without a column of its own: read from the runs
            fn = RUN_FLAGS[metric]
            return self._judged(self._get(("flag", metric), lambda: self._from_runs(lambda r: float(fn(r)))), metric)
        base, cand, _, judged, _ = self._rows()
        x, y = base[:, col], cand[:, col]
        return (x, y) if metric == "infra_error_rate" else (x[judged], y[judged])

    def _judged(self, cols: Columns, metric: str) -> Columns:
        if metric == "infra_error_rate":
            return cols
        judged = self._rows()[3]
        return cols[0][judged], cols[1][judged]

    def value(self, metric: str) -> Columns:
        """The per-run numbers behind a value metric (cost, latency, steps), over every pair."""
        col = VALUE_COLUMNS.get(metric)
        if col is None:
            fn = RUN_VALUES[metric][0]
            return self._get(("value", metric), lambda: self._from_runs(lambda r: float(fn(r))))  # type: ignore[no-any-return]
        base, cand, _, _, _ = self._rows()
        return base[:, col], cand[:, col]

    def score(self, metric: str) -> Columns:
        """``score:NAME`` (passed, over judged pairs) or ``mean:NAME`` (score, over every pair):
        the pairs scored on both sides."""
        import numpy as np

        kind, name = metric.split(":", 1)
        get = run_is_scored if kind == "score" else run_score

        def make() -> tuple[Any, Any, Any, Any]:
            raw = [(get(p.base, name), get(p.cand, name)) for p in self._runs.pairs]
            known = [(b is not None, c is not None) for b, c in raw]
            values = [(float(b) if b is not None else 0.0, float(c) if c is not None else 0.0) for b, c in raw]
            arr = np.array(values, dtype=float).reshape(len(raw), 2)
            have = np.array(known, dtype=bool).reshape(len(raw), 2)
            return arr[:, 0], arr[:, 1], have[:, 0], have[:, 1]

        x, y, has_x, has_y = self._get(("score", kind, name), make)
        keep = has_x & has_y
        if kind == "score":
            keep &= self._rows()[3]
        return x[keep], y[keep]

    def _from_runs(self, fn: Callable[[RunResult], float]) -> Columns:
        import numpy as np

        pairs = self._runs.pairs
        return (np.array([fn(p.base) for p in pairs], dtype=float),
                np.array([fn(p.cand) for p in pairs], dtype=float))


def _slice(value: Any, idx: Any) -> Any:
    """The entries at ``idx`` of every per-pair array in ``value`` (other members kept)."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value[idx]
    if isinstance(value, tuple):
        return tuple(_slice(v, idx) for v in value)
    return value
