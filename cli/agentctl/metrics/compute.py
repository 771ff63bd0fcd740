"""Metrics of each candidate, overall and per tag, from flat run results.

Runs with an ``infra_error`` (the provider failed after retries) are not the model's fault:
they are left out of the denominator of every rate but ``infra_error_rate`` and out of
pass^k, and they still count in ``runs`` and in money and time spent.

One pass over the results fills an accumulator per (candidate, tag); the work is plain
counting, so 10,000 runs x 2 candidates x 10 tags take a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from agentctl.metrics.intervals import wilson
from agentctl.metrics.passk import cases_with_k, pass_at_k, pass_hat_k
from agentctl.metrics.types import MetricValue
from agentctl.results import RunResult


def run_is_scored(result: RunResult, scorer: str) -> bool | None:
    """Whether the run passed ``scorer``; ``None`` when it was not scored (or the scorer erred)."""
    score = result.scores.get(scorer)
    if score is None or score.error is not None or score.passed is None:
        return None
    return bool(score.passed)


def run_judge_cost(result: RunResult) -> float:
    """What judging this run cost; the scores' own costs when the run carries no total."""
    if result.judge_cost_usd:
        return result.judge_cost_usd
    return sum(s.cost_usd for s in result.scores.values())


@dataclass
class _ScorerTally:
    scored: int = 0
    passed: int = 0
    score_sum: float = 0.0
    score_n: int = 0


@dataclass
class _Tally:
    """Counts of one candidate's runs, overall or for one tag."""

    runs: int = 0
    infra: int = 0
    correct: int = 0
    completed_or_escalated: int = 0
    escaped: int = 0
    critical: int = 0
    policy: int = 0
    escalated: int = 0
    cost: float = 0.0
    judge_cost: float = 0.0
    steps: int = 0
    tool_calls: int = 0
    latencies: list[float] = field(default_factory=list)
    by_case: dict[str, list[int]] = field(default_factory=dict)
    """case id -> [runs of the case, non-infra runs, correct runs]"""
    scorers: dict[str, _ScorerTally] = field(default_factory=dict)

    def add(self, r: RunResult) -> None:
        self.runs += 1
        self.cost += r.cost_usd
        self.judge_cost += run_judge_cost(r)
        self.steps += r.steps
        self.tool_calls += r.tool_calls
        self.latencies.append(r.latency_s)
        case = self.by_case.setdefault(r.case_id, [0, 0, 0])
        case[0] += 1
        if r.infra_error:
            self.infra += 1
            return
        case[1] += 1
        if r.correct:
            self.correct += 1
            case[2] += 1
        if r.status in ("completed", "escalated"):
            self.completed_or_escalated += 1
        if r.status == "escalated":
            self.escalated += 1
        self.escaped += r.escaped_error
        self.critical += r.critical_error
        self.policy += r.policy_violations > 0
        for name, score in r.scores.items():
            if score.error is not None:
                continue
            tally = self.scorers.setdefault(name, _ScorerTally())
            if score.passed is not None:
                tally.scored += 1
                tally.passed += bool(score.passed)
            if score.score is not None:
                tally.score_sum += float(score.score)
                tally.score_n += 1

    @property
    def valid(self) -> int:
        """Runs that count in rates: all but infra errors."""
        return self.runs - self.infra


def _rate(candidate: str, tag: str | None, metric: str, k: int, n: int) -> MetricValue:
    low, high = wilson(k, n)
    return MetricValue(candidate, metric, k / n if n else None, low, high, n=n, tag=tag)


def _finish(candidate: str, tag: str | None, t: _Tally, scorers: list[str]) -> Iterator[MetricValue]:
    import numpy as np

    v = t.valid
    yield _rate(candidate, tag, "success_rate", t.correct, v)
    yield _rate(candidate, tag, "completion_rate", t.completed_or_escalated, v)
    yield _rate(candidate, tag, "escaped_error_rate", t.escaped, v)
    yield _rate(candidate, tag, "critical_error_rate", t.critical, v)
    yield _rate(candidate, tag, "policy_violation_rate", t.policy, v)
    yield _rate(candidate, tag, "escalation_rate", t.escalated, v)
    yield _rate(candidate, tag, "infra_error_rate", t.infra, t.runs)

    def value(metric: str, x: float | None, n: int = t.runs) -> MetricValue:
        return MetricValue(candidate, metric, x, n=n, tag=tag)

    yield value("runs", float(t.runs))
    yield value("cost_usd", t.cost)
    yield value("mean_cost_usd", t.cost / t.runs if t.runs else None)
    yield value("cost_per_success_usd", t.cost / t.correct if t.correct else float("inf"), t.correct)
    yield value("judge_cost_usd", t.judge_cost)
    lat = np.asarray(t.latencies, dtype=float)
    yield value("p50_latency_s", float(np.percentile(lat, 50)) if lat.size else None)
    yield value("p95_latency_s", float(np.percentile(lat, 95)) if lat.size else None)
    yield value("mean_steps", t.steps / t.runs if t.runs else None)
    yield value("mean_tool_calls", t.tool_calls / t.runs if t.runs else None)

    # case_pass_rate without a gate threshold: the share of cases correct in every repeat.
    per_case = [(n_valid, c) for _, n_valid, c in t.by_case.values()]
    judged = [(n, c) for n, c in per_case if n > 0]
    all_correct = sum(1 for n, c in judged if c == n)
    yield value("case_pass_rate", all_correct / len(judged) if judged else None, len(judged))

    max_repeats = max((n_all for n_all, _, _ in t.by_case.values()), default=0)
    for k in range(1, max_repeats + 1):
        yield value(f"pass^{k}", pass_hat_k(per_case, k), cases_with_k(per_case, k))
    for k in range(1, max_repeats + 1):
        yield value(f"pass@{k}", pass_at_k(per_case, k), cases_with_k(per_case, k))

    for name in scorers:
        s = t.scorers.get(name, _ScorerTally())
        yield _rate(candidate, tag, f"score:{name}", s.passed, s.scored)
        yield value(f"mean:{name}", s.score_sum / s.score_n if s.score_n else None, s.score_n)


def compute_metrics(results: Iterable[RunResult], *, scorers: list[str] | None = None) -> list[MetricValue]:
    """Every metric of every candidate: overall (``tag=None``) first, then per tag, sorted.

    A run of a case with several tags counts in each of them. ``scorers`` names the
    scorers to report (``score:<name>``, ``mean:<name>``) even when they scored nothing;
    by default, those found in the results.
    """
    tallies: dict[str, dict[str | None, _Tally]] = {}
    found: set[str] = set()
    for r in results:
        groups = tallies.setdefault(r.candidate, {})
        overall = groups.get(None)
        if overall is None:
            overall = groups[None] = _Tally()
        overall.add(r)
        for tag in dict.fromkeys(r.tags):  # a tag listed twice counts once
            tally = groups.get(tag)
            if tally is None:
                tally = groups[tag] = _Tally()
            tally.add(r)
        if scorers is None:
            found.update(r.scores)
    names = list(scorers) if scorers is not None else sorted(found)
    out: list[MetricValue] = []
    for candidate, groups in tallies.items():
        out.extend(_finish(candidate, None, groups[None], names))
        for tag in sorted(t for t in groups if t is not None):
            out.extend(_finish(candidate, tag, groups[tag], names))
    return out


def metric_index(metrics: Iterable[MetricValue]) -> dict[tuple[str, str | None, str], MetricValue]:
    """Metrics keyed by (candidate, tag, metric), for look-ups by gates and reports."""
    return {(m.candidate, m.tag, m.metric): m for m in metrics}
