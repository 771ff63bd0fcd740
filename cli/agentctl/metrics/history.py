"""A suite's stored runs over time: key metrics per candidate, and which changes were significant.

Read from the results store's ``eval_runs`` and ``metrics`` tables. A run counts when it
finished and is a whole evaluation (shard runs are left out: their merge is the evaluation).
A change of a rate between one run and the next of the same candidate is *significant* when
Fisher's exact test (two-sided, on the runs' k/n) gives p < 0.05; cost and latency changes
are shown, never marked, as their runs are not paired across evaluations.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from agentctl.core.errors import InputError

if TYPE_CHECKING:
    import duckdb

HISTORY_METRICS = ("success_rate", "escaped_error_rate", "critical_error_rate", "cost_per_success_usd",
                   "p95_latency_s")
ALPHA = 0.05
TEST = "fisher_exact"


def fisher_exact(k1: int, n1: int, k2: int, n2: int) -> float:
    """Two-sided p-value of Fisher's exact test of k1/n1 against k2/n2 (tables no likelier than the one seen)."""
    if n1 <= 0 or n2 <= 0:
        return 1.0
    total_k, total_n = k1 + k2, n1 + n2

    def log_p(x: int) -> float:
        return _log_choose(n1, x) + _log_choose(n2, total_k - x) - _log_choose(total_n, total_k)

    observed = log_p(k1)
    p = sum(math.exp(log_p(x)) for x in range(max(0, total_k - n2), min(total_k, n1) + 1)
            if log_p(x) <= observed + 1e-9)
    return min(1.0, p)


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def is_rate(metric: str) -> bool:
    return metric.endswith("_rate") or metric.startswith(("pass^", "score:"))


@dataclass(frozen=True)
class HistoryPoint:
    """One metric of one candidate in one run, and how it changed since the candidate's previous run."""

    run_id: str
    candidate: str
    metric: str
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int | None
    delta: float | None = None
    """Against the candidate's previous run in the history."""
    p_value: float | None = None
    """Fisher's exact test against the previous run (rates only)."""
    significant: bool = False


@dataclass
class History:
    suite: str
    runs: list[dict[str, Any]]
    """``eval_runs`` rows (run_id, started_at, git_commit, status, exit_code), oldest first."""
    candidates: list[str]
    metrics: list[str]
    points: list[HistoryPoint] = field(default_factory=list)

    def series(self, candidate: str, metric: str) -> list[HistoryPoint | None]:
        """The candidate's values of a metric, one per run of :attr:`runs` (``None`` where it did not run)."""
        found = {p.run_id: p for p in self.points if p.candidate == candidate and p.metric == metric}
        return [found.get(r["run_id"]) for r in self.runs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite, "test": TEST, "alpha": ALPHA, "metrics": self.metrics,
            "runs": [{**{k: (str(v) if k == "started_at" and v is not None else v) for k, v in r.items()},
                      "candidates": {c: {p.metric: _point_dict(p) for p in self.points
                                         if p.run_id == r["run_id"] and p.candidate == c}
                                     for c in self.candidates}}
                     for r in self.runs],
        }


def _point_dict(p: HistoryPoint) -> dict[str, Any]:
    out = asdict(p)
    for key in ("run_id", "candidate", "metric"):
        out.pop(key)
    for key, value in out.items():
        if isinstance(value, float) and not math.isfinite(value):
            out[key] = None
    return out


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = con.execute(sql, params)
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def load_history(
    con: duckdb.DuckDBPyConnection,
    *,
    suite: str | None = None,
    candidate: str | None = None,
    metric: str | None = None,
    last: int | None = None,
    until_run: str | None = None,
) -> History:
    """The history of ``suite`` (default: the suite of the most recent run), oldest run first.

    ``until_run`` ends it at that run (a report's history); ``last`` keeps the most recent N runs.
    """
    if suite is None:
        latest = _rows(con, "SELECT suite FROM eval_runs ORDER BY started_at DESC LIMIT 1", [])
        if not latest:
            raise InputError("the results store holds no evaluation yet (run 'agentctl eval run' first)")
        suite = str(latest[0]["suite"])
    has_shard = bool(_rows(con, "SELECT 1 AS x FROM information_schema.columns "
                                "WHERE table_name = 'eval_runs' AND column_name = 'shard'", []))
    where = "suite = ? AND status = 'finished'" + (" AND (shard IS NULL OR shard = '1/1')" if has_shard else "")
    params: list[Any] = [suite]
    if until_run is not None:
        where += " AND started_at <= (SELECT started_at FROM eval_runs WHERE run_id = ?)"
        params.append(until_run)
    runs = _rows(con, f"SELECT run_id, started_at, git_commit, status, exit_code FROM eval_runs WHERE {where} "
                      "ORDER BY started_at, run_id", params)
    if not runs:
        known = [r["suite"] for r in _rows(con, "SELECT DISTINCT suite FROM eval_runs ORDER BY 1", [])]
        raise InputError(f"no finished evaluation of suite '{suite}' in the store "
                         f"(suites: {', '.join(known) or 'none'})", key="suite")
    if last is not None:
        if last < 1:
            raise InputError("must be at least 1", key="last")
        runs = runs[-last:]
    metrics = [metric] if metric else list(HISTORY_METRICS)
    ids = [r["run_id"] for r in runs]
    rows = _rows(con, f"SELECT run_id, candidate, metric, value, ci_low, ci_high, n FROM metrics "
                      f"WHERE tag IS NULL AND run_id IN ({','.join('?' * len(ids))}) "
                      f"AND metric IN ({','.join('?' * len(metrics))})", [*ids, *metrics])
    if candidate is not None:
        rows = [r for r in rows if r["candidate"] == candidate]
        if not rows:
            raise InputError(f"candidate '{candidate}' has no stored metrics in suite '{suite}'", key="candidate")
    if metric is not None and not rows:
        raise InputError(f"no stored metric '{metric}' in suite '{suite}'", key="metric")
    # The suite's candidate order (latest run first), then any others in the order they appear.
    named: list[str] = []
    for r in reversed(runs):
        stored = _rows(con, "SELECT candidates FROM eval_runs WHERE run_id = ?", [r["run_id"]])[0]["candidates"]
        for c in json.loads(stored) if isinstance(stored, str) else stored or []:
            if isinstance(c, dict) and c.get("name") not in named:
                named.append(str(c.get("name")))
    present = {r["candidate"] for r in rows}
    order = {rid: i for i, rid in enumerate(ids)}
    candidates = [c for c in named if c in present]
    candidates += [c for c in dict.fromkeys(r["candidate"] for r in sorted(rows, key=lambda r: order[r["run_id"]]))
                   if c not in candidates]
    history = History(suite, runs, candidates, metrics)
    by_series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in sorted(rows, key=lambda r: order[r["run_id"]]):
        by_series.setdefault((r["candidate"], r["metric"]), []).append(r)
    for (_cand, name), series in by_series.items():
        previous: dict[str, Any] | None = None
        for r in series:
            history.points.append(_point(r, previous, name))
            previous = r
    return history


def _point(r: dict[str, Any], previous: dict[str, Any] | None, metric: str) -> HistoryPoint:
    value, n = r["value"], r["n"]
    delta = p_value = None
    significant = False
    if previous is not None and value is not None and previous["value"] is not None \
            and math.isfinite(value) and math.isfinite(previous["value"]):
        delta = value - previous["value"]
        if is_rate(metric) and n and previous["n"]:
            p_value = fisher_exact(round(value * n), int(n), round(previous["value"] * previous["n"]),
                                   int(previous["n"]))
            significant = p_value < ALPHA
    return HistoryPoint(r["run_id"], r["candidate"], metric, value, r["ci_low"], r["ci_high"], n,
                        delta, p_value, significant)
