"""``eval compare`` as a library call: comparisons of stored runs.

A run that was measured (``eval run``, ``eval merge``, ``eval gate --store``) has its
comparisons with the suite's baseline stored; they are read back as they were computed. A
comparison is recomputed from the stored results when it is not stored (another baseline, two
runs, a store written before comparisons were stored in full), when it may be stale (the
candidate's results changed since), or when ``recompute`` asks for it.
"""

from __future__ import annotations

from agentctl.core.errors import InputError
from agentctl.core.results import RunResult
from agentctl.metrics.compare import Comparison, compare_candidates, compare_runs, comparison_from_rows
from agentctl.metrics.intervals import BOOTSTRAP_RESAMPLES
from agentctl.store.comparisons import CandidateRuns, StoredComparison, candidate_runs, load_comparisons
from agentctl.store.store import StoreHandle, open_store


def compare_stored(
    db: StoreHandle,
    run: str,
    run_b: str | None = None,
    *,
    baseline: str | None = None,
    candidates: list[str] | None = None,
    recompute: bool = False,
) -> list[Comparison]:
    """Compare candidates with the baseline within one run, or candidates across two runs.

    With one run: each candidate (default: every one but the baseline) against the
    baseline (default: the suite's), read from the stored comparison when there is a current
    one (unless ``recompute``). With two runs: each candidate (default: those both runs have)
    in ``run`` (the baseline) against the same candidate in ``run_b``, always computed. ``db``
    is a :class:`Store` or a path.
    """
    with open_store(db, read_only=True) as store:
        row = store.get_run(run)
        if row is None:
            raise InputError(f"no run {run!r} in {store.path} (see 'agentctl eval list')")
        run_id = row["run_id"]
        if run_b is None:
            base = baseline or (row.get("suite_config") or {}).get("baseline")
            if not base:
                raise InputError("the suite has no baseline: name one", key="baseline")
            have = candidate_runs(store, run_id)
            names = candidates or sorted(set(have) - {base})
            if not names:
                raise InputError(f"run {run_id} has no candidate besides the baseline '{base}'")
            stored = {} if recompute else load_comparisons(store, run_id, base)
            results: list[RunResult] | None = None
            out = []
            for name in names:
                found = stored.get(name)
                if found is not None and _current(found, have, base, name):
                    out.append(comparison_from_rows(found.pairing, found.metrics, found.cases))
                    continue
                if results is None:
                    results = store.load_results(run_id)
                out.append(compare_candidates(results, base, name))
            return out
        row_b = store.get_run(run_b)
        if row_b is None:
            raise InputError(f"no run {run_b!r} in {store.path} (see 'agentctl eval list')")
        results_a = store.load_results(run_id)
        results_b = store.load_results(row_b["run_id"])
    common = sorted({r.candidate for r in results_a} & {r.candidate for r in results_b})
    names = candidates or common
    if not names:
        raise InputError(f"runs {run_id} and {row_b['run_id']} have no candidate in common; name one",
                         key="candidate")
    return [compare_runs(results_a, results_b, name) for name in names]


def _current(found: StoredComparison, have: dict[str, CandidateRuns], baseline: str, candidate: str) -> bool:
    """The stored comparison is of the results there are now, computed as this version would:
    each side's runs are those it paired or dropped, none written after it was computed, and
    its bootstraps drew as many resamples."""
    p = found.pairing
    base, cand = have.get(baseline), have.get(candidate)
    if base is None or cand is None or p["bootstrap_resamples"] != BOOTSTRAP_RESAMPLES:
        return False
    if (base.runs, cand.runs) != (p["pairs"] + p["dropped_runs_baseline"], p["pairs"] + p["dropped_runs_candidate"]):
        return False
    return all(side.last_finished is None or side.last_finished <= p["computed_at"] for side in (base, cand))
