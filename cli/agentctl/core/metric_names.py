"""Names of the metrics gates and reports may use (DESIGN.md, Metrics)."""

from __future__ import annotations

import re

RATE_METRICS = (
    "success_rate",
    "completion_rate",
    "escaped_error_rate",
    "critical_error_rate",
    "policy_violation_rate",
    "escalation_rate",
    "infra_error_rate",
    "divergence_rate",
)
"""Shares of runs; each carries a 95% Wilson interval."""

VALUE_METRICS = (
    "cost_usd",
    "cost_per_success_usd",
    "mean_cost_usd",
    "judge_cost_usd",
    "user_cost_usd",
    "p50_latency_s",
    "p95_latency_s",
    "mean_steps",
    "mean_tool_calls",
    "runs",
    "case_pass_rate",
)

LOWER_IS_BETTER = {
    "escaped_error_rate",
    "critical_error_rate",
    "policy_violation_rate",
    "escalation_rate",
    "infra_error_rate",
    "divergence_rate",
    "cost_usd",
    "cost_per_success_usd",
    "mean_cost_usd",
    "judge_cost_usd",
    "user_cost_usd",
    "p50_latency_s",
    "p95_latency_s",
    "mean_steps",
    "mean_tool_calls",
}

_PATTERNS = (
    re.compile(r"^pass\^[1-9][0-9]*$"),
    re.compile(r"^pass@[1-9][0-9]*$"),
    re.compile(r"^(score|mean):.+$"),
)


def is_known_metric(name: str) -> bool:
    return name in RATE_METRICS or name in VALUE_METRICS or any(p.match(name) for p in _PATTERNS)


def all_metric_names() -> list[str]:
    return [*RATE_METRICS, *VALUE_METRICS, "pass^k", "pass@k", "score:<scorer>", "mean:<scorer>"]
