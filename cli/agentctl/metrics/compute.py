"""Metrics of each candidate, overall and per tag, from flat run results.

Runs with an ``infra_error`` (the provider failed after retries) are not the model's fault:
they are left out of the denominator of every rate but ``infra_error_rate`` and out of
pass^k, and they still count in ``runs`` and in money and time spent.

Each run becomes one row of numbers once; a (candidate, tag) group is then a set of row
indices summed with numpy, so 10,000 runs x 2 candidates x 10 tags take a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from operator import attrgetter
from typing import Any

from agentctl.core.results import RunResult
from agentctl.core.values import MetricValue
from agentctl.metrics.intervals import wilson
from agentctl.metrics.passk import pass_at_k, pass_hat_k


def run_is_scored(result: RunResult, scorer: str) -> bool | None:
    """Whether the run passed ``scorer``; ``None`` when it was not scored (or the scorer erred)."""
    score = result.scores.get(scorer)
    if score is None or score.error is not None or score.passed is None:
        return None
    return bool(score.passed)


def run_judge_cost(result: RunResult) -> float:
    """What judging this run cost; the scores' own costs when the run carries no total."""
    if result.judge_cost_usd or not result.scores:
        return result.judge_cost_usd
    return sum(s.cost_usd for s in result.scores.values())


def run_score(result: RunResult, scorer: str) -> float | None:
    """The run's score from ``scorer``; ``None`` when it was not scored (or the scorer erred)."""
    s = result.scores.get(scorer)
    return float(s.score) if s is not None and s.error is None and s.score is not None else None


RUN_FLAGS: dict[str, Callable[[RunResult], bool]] = {
    "success_rate": lambda r: r.correct,
    "completion_rate": lambda r: r.status in ("completed", "escalated"),
    "escaped_error_rate": lambda r: r.escaped_error,
    "critical_error_rate": lambda r: r.critical_error,
    "policy_violation_rate": lambda r: r.policy_violations > 0,
    "escalation_rate": lambda r: r.status == "escalated",
    "infra_error_rate": lambda r: r.infra_error,
    "divergence_rate": lambda r: r.unverifiable,
}
"""Per-run yes/no behind each rate (True counts in the numerator)."""

RUN_VALUES: dict[str, tuple[Callable[[RunResult], float], str]] = {
    "cost_usd": (lambda r: r.cost_usd, "sum"),
    "mean_cost_usd": (lambda r: r.cost_usd, "mean"),
    "judge_cost_usd": (run_judge_cost, "sum"),
    "user_cost_usd": (lambda r: r.user_cost_usd, "sum"),
    "p50_latency_s": (lambda r: r.latency_s, "p50"),
    "p95_latency_s": (lambda r: r.latency_s, "p95"),
    "mean_steps": (lambda r: float(r.steps), "mean"),
    "mean_tool_calls": (lambda r: float(r.tool_calls), "mean"),
}
"""Per-run number behind each value metric, and how runs are summarised (mean, sum, p50, p95)."""


# Columns of a run's row; scorer columns follow, four per scorer (see _row).
_INFRA, _VALID, _CORRECT, _DONE, _ESCAPED, _CRITICAL, _POLICY, _ESCALATED = range(8)
_COST, _JUDGE, _STEPS, _TOOLS, _LATENCY, _DIVERGED, _USER = range(8, 15)
_BASE_COLUMNS = 15

FLAG_COLUMNS = {
    "success_rate": _CORRECT, "completion_rate": _DONE, "escaped_error_rate": _ESCAPED,
    "critical_error_rate": _CRITICAL, "policy_violation_rate": _POLICY, "escalation_rate": _ESCALATED,
    "infra_error_rate": _INFRA, "divergence_rate": _DIVERGED,
}
"""The column of a run's row holding its RUN_FLAGS value (zero for an infra error but in
``infra_error_rate`` and ``divergence_rate``)."""

VALUE_COLUMNS = {
    "cost_usd": _COST, "mean_cost_usd": _COST, "judge_cost_usd": _JUDGE, "user_cost_usd": _USER,
    "p50_latency_s": _LATENCY, "p95_latency_s": _LATENCY, "mean_steps": _STEPS, "mean_tool_calls": _TOOLS,
}
"""The column of a run's row holding its RUN_VALUES number."""


_NUMBERS = attrgetter("infra_error", "correct", "escaped_error", "critical_error", "policy_violations", "cost_usd",
                      "steps", "tool_calls", "latency_s", "unverifiable", "user_cost_usd")
"""What a run's row is made of, read in one pass over the runs."""


def _rows(runs: list[RunResult], scorers: list[str]) -> Any:
    """One row per run, column by column: each value as ``float()`` makes it."""
    import numpy as np

    n = len(runs)
    (infra, correct, escaped, critical, violations, cost, steps, tools, latency, diverged,
     user) = np.array(list(map(_NUMBERS, runs)), dtype=float).reshape(n, 11).T
    judged = infra == 0  # an infra error counts in nothing but runs, infra_error_rate, cost and time
    status = [r.status for r in runs]
    done = np.array([s in ("completed", "escalated") for s in status], dtype=float)
    escalated = np.array([s == "escalated" for s in status], dtype=float)
    rows = np.zeros((n, _BASE_COLUMNS + 4 * len(scorers)))
    rows[:, _INFRA], rows[:, _VALID] = infra, judged
    for col, values in ((_CORRECT, correct), (_DONE, done), (_ESCAPED, escaped), (_CRITICAL, critical),
                        (_POLICY, violations > 0), (_ESCALATED, escalated)):
        rows[judged, col] = values[judged]
    rows[:, _COST], rows[:, _STEPS], rows[:, _TOOLS], rows[:, _LATENCY] = cost, steps, tools, latency
    rows[:, _JUDGE] = np.array([run_judge_cost(r) for r in runs], dtype=float)
    rows[:, _DIVERGED], rows[:, _USER] = diverged, user
    for i, name in enumerate(scorers):
        col = _BASE_COLUMNS + 4 * i
        for r_i, r in enumerate(runs):
            if r.infra_error:
                continue
            passed, score = run_is_scored(r, name), run_score(r, name)
            rows[r_i, col : col + 4] = [float(passed is not None), float(bool(passed)), float(score is not None),
                                        score or 0.0]
    return rows


def _rate(candidate: str, tag: str | None, metric: str, k: float, n: float) -> MetricValue:
    k, n = round(k), round(n)
    low, high = wilson(k, n)
    return MetricValue(candidate, metric, k / n if n else None, low, high, n=n, tag=tag)


def _finish(
    candidate: str, tag: str | None, rows: Any, case_idx: Any, n_cases: int, scorers: list[str]
) -> Iterator[MetricValue]:
    import numpy as np

    t = rows.sum(axis=0)
    runs, valid, correct = len(rows), t[_VALID], t[_CORRECT]
    yield _rate(candidate, tag, "success_rate", correct, valid)
    yield _rate(candidate, tag, "completion_rate", t[_DONE], valid)
    yield _rate(candidate, tag, "escaped_error_rate", t[_ESCAPED], valid)
    yield _rate(candidate, tag, "critical_error_rate", t[_CRITICAL], valid)
    yield _rate(candidate, tag, "policy_violation_rate", t[_POLICY], valid)
    yield _rate(candidate, tag, "escalation_rate", t[_ESCALATED], valid)
    yield _rate(candidate, tag, "infra_error_rate", t[_INFRA], runs)
    yield _rate(candidate, tag, "divergence_rate", t[_DIVERGED], runs)

    def value(metric: str, x: float | None, n: int = runs) -> MetricValue:
        return MetricValue(candidate, metric, None if x is None else float(x), n=n, tag=tag)

    cost = float(t[_COST])
    yield value("runs", runs)
    yield value("cost_usd", cost)
    yield value("mean_cost_usd", cost / runs)
    yield value("cost_per_success_usd", cost / correct if correct else float("inf"), round(correct))
    yield value("judge_cost_usd", t[_JUDGE])
    yield value("user_cost_usd", t[_USER])
    yield value("p50_latency_s", np.percentile(rows[:, _LATENCY], 50))
    yield value("p95_latency_s", np.percentile(rows[:, _LATENCY], 95))
    yield value("mean_steps", t[_STEPS] / runs)
    yield value("mean_tool_calls", t[_TOOLS] / runs)

    n_all = np.bincount(case_idx, minlength=n_cases)
    n_valid = np.bincount(case_idx, weights=rows[:, _VALID], minlength=n_cases).round().astype(int)
    n_correct = np.bincount(case_idx, weights=rows[:, _CORRECT], minlength=n_cases).round().astype(int)
    present = n_all > 0
    counts = list(zip(n_valid[present].tolist(), n_correct[present].tolist(), strict=True))
    # case_pass_rate without a gate threshold: the share of cases correct in every judged repeat.
    judged = [(n, c) for n, c in counts if n > 0]
    all_correct = sum(1 for n, c in judged if c == n)
    yield value("case_pass_rate", all_correct / len(judged) if judged else None, len(judged))
    max_repeats = int(n_all.max(initial=0))
    judged_n = n_valid[present]
    for kind, fn in (("pass^", pass_hat_k), ("pass@", pass_at_k)):
        for k in range(1, max_repeats + 1):
            yield value(f"{kind}{k}", fn(counts, k), int((judged_n >= k).sum()))

    for i, name in enumerate(scorers):
        scored, passed, n_score, score_sum = t[_BASE_COLUMNS + 4 * i : _BASE_COLUMNS + 4 * i + 4]
        yield _rate(candidate, tag, f"score:{name}", passed, scored)
        yield value(f"mean:{name}", score_sum / n_score if n_score else None, round(n_score))


def run_rows(runs: list[RunResult], scorers: list[str]) -> Any:
    """One row of numbers per run (see FLAG_COLUMNS, VALUE_COLUMNS), and the runs' cases
    numbered in order of appearance: ``(rows, case_idx, cases)``."""
    import numpy as np

    rows = _rows(runs, scorers)
    case_ids: dict[str, int] = {}
    case_idx = np.array([case_ids.setdefault(r.case_id, len(case_ids)) for r in runs], dtype=np.intp)
    return rows, case_idx, len(case_ids)


def metrics_of_rows(
    candidate: str, tag: str | None, rows: Any, case_idx: Any, n_cases: int, scorers: list[str]
) -> list[MetricValue]:
    """The metrics of the runs behind ``rows`` (some of the rows of :func:`run_rows`, in order,
    with their ``case_idx``): what compute_metrics gives for those runs."""
    return list(_finish(candidate, tag, rows, case_idx, n_cases, scorers))


def compute_metrics(
    results: Iterable[RunResult], *, scorers: list[str] | None = None, by_tag: bool = True
) -> list[MetricValue]:
    """Every metric of every candidate: overall (``tag=None``) first, then per tag, sorted
    (without ``by_tag``, overall only).

    A run of a case with several tags counts in each of them. ``scorers`` names the
    scorers to report (``score:<name>``, ``mean:<name>``) even when they scored nothing;
    by default, those found in the results.
    """
    import numpy as np

    by_candidate: dict[str, list[RunResult]] = {}
    for r in results:
        by_candidate.setdefault(r.candidate, []).append(r)
    if scorers is None:
        scorers = sorted({s for runs in by_candidate.values() for r in runs for s in r.scores})
    out: list[MetricValue] = []
    for candidate, runs in by_candidate.items():
        rows, case_idx, n_cases = run_rows(runs, scorers)
        tagged: dict[str, list[int]] = {}
        for i, r in enumerate(runs if by_tag else ()):
            for tag in dict.fromkeys(r.tags):  # a tag listed twice counts once
                tagged.setdefault(tag, []).append(i)
        out.extend(_finish(candidate, None, rows, case_idx, n_cases, scorers))
        for tag in sorted(tagged):
            idx = np.asarray(tagged[tag], dtype=np.intp)
            out.extend(_finish(candidate, tag, rows[idx], case_idx[idx], n_cases, scorers))
    return out


def metric_index(metrics: Iterable[MetricValue]) -> dict[tuple[str, str | None, str], MetricValue]:
    """Metrics keyed by (candidate, tag, metric), for look-ups by gates and reports."""
    return {(m.candidate, m.tag, m.metric): m for m in metrics}
