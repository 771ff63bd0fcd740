"""Metrics, intervals, pass^k, gates and baseline comparison, all computed from run results.

Nothing here imports scipy or numpy at module level: they load on first computation.
"""

from agentctl.core.values import GateResult, MetricValue
from agentctl.metrics.compare import (
    Comparison,
    MetricDelta,
    compare_candidates,
    compare_runs,
    comparison_rows,
    pair_runs,
)
from agentctl.metrics.compute import compute_metrics, metric_index
from agentctl.metrics.gates import evaluate_gates
from agentctl.metrics.intervals import (
    mcnemar_exact,
    paired_bootstrap,
    runs_needed_for_max,
    runs_needed_for_min,
    wilson,
)
from agentctl.metrics.passk import pass_at_k, pass_hat_k

__all__ = [
    "Comparison",
    "GateResult",
    "MetricDelta",
    "MetricValue",
    "compare_candidates",
    "compare_runs",
    "comparison_rows",
    "compute_metrics",
    "evaluate_gates",
    "mcnemar_exact",
    "metric_index",
    "pair_runs",
    "paired_bootstrap",
    "pass_at_k",
    "pass_hat_k",
    "runs_needed_for_max",
    "runs_needed_for_min",
    "wilson",
]
