"""Metrics, comparisons and gates computed from stored results (``eval run`` and ``eval gate``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.config.models import Suite
from agentctl.core.errors import EXIT_BAD_INPUT, EXIT_GATE_FAILED, EXIT_OK, InputError
from agentctl.outcome import EvalOutcome
from agentctl.store.store import Store, StoreHandle, open_store

if TYPE_CHECKING:
    from agentctl.core.results import RunResult
    from agentctl.core.values import GateResult, MetricValue
    from agentctl.metrics.compare import Comparison


@dataclass
class Measured:
    results: list[RunResult]
    metrics: list[MetricValue]
    gates: list[GateResult]
    comparisons: list[Comparison]
    unjudged: list[str]
    """Why each gate that applied to no candidate had nothing to judge (exit 2)."""

    @property
    def exit_code(self) -> int:
        if self.unjudged:
            return EXIT_BAD_INPUT
        return gate_exit_code(self.gates)

    @property
    def gate_message(self) -> str | None:
        return "; ".join(self.unjudged) if self.unjudged else None


def measure(results: list[RunResult], suite: Suite) -> Measured:
    """Metrics, comparisons and gates of results in memory: one pass, one pairing per candidate.

    The comparison with the baseline and the regression gates share the pairing, so every
    paired test and bootstrap is computed once.
    """
    from agentctl.metrics.compare import Pairing, build_comparison, pair_runs
    from agentctl.metrics.compute import compute_metrics
    from agentctl.metrics.gates import evaluate_gates, unjudged_gates

    metrics = compute_metrics(results, scorers=[s.name for s in suite.scorers])
    by_candidate: dict[str, list[RunResult]] = {}
    for r in results:
        by_candidate.setdefault(r.candidate, []).append(r)
    candidates = sorted(by_candidate)
    baseline = suite.baseline if suite.baseline in by_candidate else None
    pairings: dict[str, Pairing] = {}
    comparisons = []
    if baseline:
        for cand in candidates:
            if cand != baseline:
                pairings[cand] = pair_runs(by_candidate[baseline], by_candidate[cand])
                comparisons.append(build_comparison(pairings[cand], baseline, cand))
    gates = evaluate_gates(suite, results, metrics, baseline=baseline, pairings=pairings)
    order = [c.name for c in suite.candidates]
    present = sorted(candidates, key=lambda c: (order.index(c) if c in order else len(order), c))
    return Measured(results, metrics, gates, comparisons, unjudged_gates(suite, present, baseline))


def store_measured(store: Store, run_id: str, m: Measured) -> None:
    """Replace a run's stored metrics, gates and comparisons with ``m``."""
    from agentctl.metrics.compare import comparison_rows
    from agentctl.store.rows import now

    store.replace_metrics(run_id, m.metrics)
    store.replace_gates(run_id, m.gates)
    tables: dict[str, list[dict[str, Any]]] = {"comparison_pairings": [], "comparisons": [], "comparison_cases": []}
    computed = now()
    for comparison in m.comparisons:
        for table, rows in comparison_rows(run_id, comparison, computed_at=computed).items():
            tables.setdefault(table, []).extend(rows)
    for table, rows in tables.items():
        if rows or m.comparisons:
            store.replace_rows(run_id, table, rows)


def finalize(store: Store, run_id: str, suite: Suite) -> Measured:
    """Compute metrics, comparisons and gates from the stored results, and store them."""
    m = measure(store.load_results(run_id), suite)
    store_measured(store, run_id, m)
    return m


NO_GATES = "the suite has no gates: nothing is gated, exit 0"


def gate_exit_code(gates: list[GateResult]) -> int:
    return EXIT_OK if all(g.passed for g in gates) else EXIT_GATE_FAILED


def gate_stored_run(db: StoreHandle, run_id: str, *, store_results: bool = False) -> EvalOutcome:
    """Re-evaluate a stored run's gates from its stored results (no model is called).

    ``db`` is a :class:`Store` or a path. Read-only: nothing in the store changes unless
    ``store_results`` (``eval gate --store``) asks to replace the run's metrics, gates and
    comparisons with the new ones.
    """
    with open_store(db, read_only=not store_results) as store:
        row = store.get_run(run_id)
        if row is None:
            raise InputError(f"no run {run_id!r} in {store.path}")
        config = dict(row["suite_config"] or {})
        source = config.pop("_source", None)
        suite = Suite.model_validate(config)
        if source:
            suite._source = Path(source)
        m = measure(store.load_results(row["run_id"]), suite)
        if store_results:
            store_measured(store, row["run_id"], m)
        return EvalOutcome(row["run_id"], suite, m.results, m.metrics, m.gates, m.exit_code, row["status"],
                           planned=row.get("planned_runs") or len(m.results), comparisons=m.comparisons,
                           message=m.gate_message, notes=[] if suite.gates else [NO_GATES])
