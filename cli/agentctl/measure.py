"""Metrics, comparisons and gates computed from stored results (``eval run`` and ``eval gate``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentctl.config.models import Suite
from agentctl.core.errors import EXIT_GATE_FAILED, EXIT_OK, InputError
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


def finalize(store: Store, run_id: str, suite: Suite) -> Measured:
    """Compute metrics, comparisons and gates from the stored results, and store them."""
    from agentctl.metrics.compare import compare_candidates, comparison_rows
    from agentctl.metrics.compute import compute_metrics
    from agentctl.metrics.gates import evaluate_gates

    results = store.load_results(run_id)
    metrics = compute_metrics(results, scorers=[s.name for s in suite.scorers])
    candidates = sorted({r.candidate for r in results})
    baseline = suite.baseline if suite.baseline in candidates else None
    gates = evaluate_gates(suite, results, metrics, baseline=baseline)
    store.replace_metrics(run_id, metrics)
    store.replace_gates(run_id, gates)
    comparisons = []
    if baseline:
        tables: dict[str, list[dict[str, Any]]] = {}
        for cand in candidates:
            if cand == baseline:
                continue
            comparison = compare_candidates(results, baseline, cand)
            comparisons.append(comparison)
            for table, rows in comparison_rows(run_id, comparison).items():
                tables.setdefault(table, []).extend(rows)
        for table, rows in tables.items():
            store.replace_rows(run_id, table, rows)
    return Measured(results, metrics, gates, comparisons)


def gate_exit_code(gates: list[GateResult]) -> int:
    return EXIT_OK if all(g.passed for g in gates) else EXIT_GATE_FAILED


def gate_stored_run(db: StoreHandle, run_id: str) -> EvalOutcome:
    """Re-evaluate a stored run's gates from its stored results (no model is called).

    ``db`` is a :class:`Store` or a path."""
    with open_store(db) as store:
        row = store.get_run(run_id)
        if row is None:
            raise InputError(f"no run {run_id!r} in {store.path}")
        config = dict(row["suite_config"] or {})
        source = config.pop("_source", None)
        suite = Suite.model_validate(config)
        if source:
            suite._source = Path(source)
        m = finalize(store, row["run_id"], suite)
        code = gate_exit_code(m.gates)
        return EvalOutcome(row["run_id"], suite, m.results, m.metrics, m.gates, code, row["status"],
                           planned=row.get("planned_runs") or len(m.results), comparisons=m.comparisons)
