"""Reading stored comparisons back: the rows of ``comparison_pairings``, ``comparisons`` and
``comparison_cases`` of a run, and what ``eval compare`` checks before trusting them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentctl.store.store import Store

_NEEDED = {
    "comparison_pairings": {"pairs", "dropped_runs_candidate", "bootstrap_resamples", "computed_at"},
    "comparisons": {"ordinal", "pairs", "cases", "nonfinite"},
    "comparison_cases": {"ordinal", "regressed_repeats", "still_wrong_reasons"},
}
"""Columns a store written before comparisons were stored in full lacks (opened read-only, it
is not migrated): without them a comparison is recomputed."""


@dataclass
class StoredComparison:
    """The rows of one stored comparison (see ``comparison_from_rows``)."""

    pairing: dict[str, Any]
    metrics: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CandidateRuns:
    """How many results a candidate has in a run, and when the last was written."""

    runs: int
    last_finished: datetime | None


def candidate_runs(store: Store, run_id: str) -> dict[str, CandidateRuns]:
    """Every candidate of a run with its results' count and latest ``finished_at``."""
    rows = store.con.execute(
        "SELECT candidate, count(*), max(finished_at) FROM results WHERE run_id = ? GROUP BY candidate",
        [run_id],
    ).fetchall()
    return {str(c): CandidateRuns(int(n), last) for c, n, last in rows}


def _dicts(store: Store, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = store.con.execute(sql, params)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def stores_full_comparisons(store: Store) -> bool:
    """The store has the tables and columns of complete comparisons."""
    have: dict[str, set[str]] = {}
    for table, column in store.con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'main' AND list_contains(?, table_name)", [list(_NEEDED)]
    ).fetchall():
        have.setdefault(table, set()).add(column)
    return all(cols <= have.get(table, set()) for table, cols in _NEEDED.items())


def load_comparisons(store: Store, run_id: str, baseline: str) -> dict[str, StoredComparison]:
    """The comparisons of candidates with ``baseline`` stored for one run, by candidate (none
    in a store without complete comparisons). Comparisons across two runs are not stored."""
    if not stores_full_comparisons(store):
        return {}
    where = "WHERE run_id = ? AND baseline = ? AND baseline_run_id IS NULL AND candidate_run_id IS NULL"
    found = {
        r["candidate"]: StoredComparison(r)
        for r in _dicts(store, f"SELECT * FROM comparison_pairings {where}", [run_id, baseline])
    }
    if not found:
        return {}
    for table, attr in (("comparisons", "metrics"), ("comparison_cases", "cases")):
        for r in _dicts(store, f"SELECT * FROM {table} {where} ORDER BY candidate, ordinal", [run_id, baseline]):
            stored = found.get(r["candidate"])
            if stored is not None:
                getattr(stored, attr).append(r)
    return found
