"""``eval compare`` as a library call: comparisons of stored runs."""

from __future__ import annotations

from agentctl.core.errors import InputError
from agentctl.metrics.compare import Comparison, compare_candidates, compare_runs
from agentctl.store.store import StoreHandle, open_store


def compare_stored(
    db: StoreHandle,
    run: str,
    run_b: str | None = None,
    *,
    baseline: str | None = None,
    candidates: list[str] | None = None,
) -> list[Comparison]:
    """Compare candidates with the baseline within one run, or candidates across two runs.

    With one run: each candidate (default: every one but the baseline) against the
    baseline (default: the suite's). With two runs: each candidate (default: those both
    runs have) in ``run`` (the baseline) against the same candidate in ``run_b``. ``db`` is a
    :class:`Store` or a path.
    """
    with open_store(db, read_only=True) as store:
        row = store.get_run(run)
        if row is None:
            raise InputError(f"no run {run!r} in {store.path} (see 'agentctl eval list')")
        results = store.load_results(row["run_id"])
        if run_b is None:
            base = baseline or (row.get("suite_config") or {}).get("baseline")
            if not base:
                raise InputError("the suite has no baseline: name one", key="baseline")
            names = candidates or sorted({r.candidate for r in results} - {base})
            if not names:
                raise InputError(f"run {row['run_id']} has no candidate besides the baseline '{base}'")
            return [compare_candidates(results, base, name) for name in names]
        row_b = store.get_run(run_b)
        if row_b is None:
            raise InputError(f"no run {run_b!r} in {store.path} (see 'agentctl eval list')")
        results_b = store.load_results(row_b["run_id"])
    common = sorted({r.candidate for r in results} & {r.candidate for r in results_b})
    names = candidates or common
    if not names:
        raise InputError(f"runs {row['run_id']} and {row_b['run_id']} have no candidate in common; name one",
                         key="candidate")
    return [compare_runs(results, results_b, name) for name in names]
