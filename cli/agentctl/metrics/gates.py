"""Release gates: thresholds on metrics, and regression tests against the baseline.

Everything is recomputed from flat run results, so ``eval gate RUN`` decides again from the
store without running anything. Every result says in one sentence which numbers and which
test decided it. When the data cannot decide (no runs, too few runs to show a bound, too
few discordant pairs for a test to ever be significant) the gate is ``insufficient`` and
``on_insufficient`` decides: by default a threshold gate fails (a release gate must not pass
on no evidence), while a regression gate with ``alpha`` passes when its drop cannot be shown
significant (DESIGN: it fails only on a significant drop); either way the detail says how
many runs would be needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from agentctl.config.models import Gate, Suite
from agentctl.core.metric_names import RATE_METRICS
from agentctl.core.results import RunResult
from agentctl.core.values import GateResult, MetricValue
from agentctl.metrics.compare import Pairing, pair_runs
from agentctl.metrics.compute import compute_metrics, metric_index
from agentctl.metrics.intervals import (
    min_pairs_for_significance,
    runs_needed_for_max,
    runs_needed_for_min,
    wilson,
)

MAX_FAILING_CASES_NAMED = 5


def fmt(x: float | None) -> str:
    """A number for a sentence: integers plainly, others to three significant digits."""
    if x is None:
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == int(x) and abs(x) < 1e12:
        return str(int(x))
    return f"{x:.1f}" if abs(x) >= 100 else f"{x:.3g}"


def _pct(confidence: float) -> str:
    return f"{confidence * 100:g}%"


def _is_rate(metric: str) -> bool:
    return metric in RATE_METRICS or metric.startswith("score:")


def _unit(metric: str) -> str:
    if metric == "cost_per_success_usd":
        return "correct runs"  # its n is the divisor: the successes, not all runs
    return "cases" if metric.startswith(("pass^", "pass@", "case_pass_rate")) else "runs"


def _insufficient(
    gate: Gate,
    candidate: str,
    detail: str,
    value: float | None = None,
    threshold: float | None = None,
    runs_needed: int | None = None,
    *,
    default_pass: bool = False,
) -> GateResult:
    passed = gate.on_insufficient == "pass" if gate.on_insufficient is not None else default_pass
    return GateResult(
        candidate,
        gate.name,
        passed,
        value,
        threshold,
        detail,
        decided_by="insufficient",
        insufficient=True,
        runs_needed=runs_needed,
    )


def _threshold_gate(gate: Gate, candidate: str, mv: MetricValue | None) -> GateResult:
    metric = gate.metric or ""
    is_min = gate.min is not None
    bound = gate.min if is_min else gate.max
    assert bound is not None
    if mv is None or mv.value is None:
        needed = None
        if gate.confidence is not None and _is_rate(metric):
            needed = (
                runs_needed_for_min(bound, gate.confidence)
                if is_min
                else runs_needed_for_max(bound, gate.confidence)
            )
        return _insufficient(
            gate,
            candidate,
            f"{metric} has no value: no {_unit(metric)} to compute it from",
            None,
            bound,
            needed,
        )
    value = mv.value
    if gate.confidence is None or not _is_rate(metric):
        ok = value >= bound if is_min else value <= bound
        op = (">=" if ok else "<") if is_min else ("<=" if ok else ">")
        note = "; confidence applies to rates only" if gate.confidence is not None else ""
        detail = f"{metric} {fmt(value)} {op} {fmt(bound)} (point estimate, {mv.n} {_unit(metric)}{note})"
        return GateResult(candidate, gate.name, ok, value, bound, detail, decided_by="point")
    return _confidence_gate(gate, candidate, mv, value, bound, is_min, gate.confidence)


def _confidence_gate(
    gate: Gate, candidate: str, mv: MetricValue, value: float, bound: float, is_min: bool, confidence: float
) -> GateResult:
    metric, n = gate.metric or "", mv.n
    k = round(value * n)
    low, high = wilson(k, n, confidence)
    assert low is not None and high is not None
    side, pessimistic = ("lower", low) if is_min else ("upper", high)
    counts = f"{k} of {n} runs, point estimate {fmt(value)}"
    if pessimistic >= bound if is_min else pessimistic <= bound:
        op = ">=" if is_min else "<="
        detail = (
            f"{metric} {side} {_pct(confidence)} Wilson bound {fmt(pessimistic)} {op} {fmt(bound)} ({counts})"
        )
        return GateResult(candidate, gate.name, True, value, bound, detail, decided_by="wilson_bound")
    needed = runs_needed_for_min(bound, confidence) if is_min else runs_needed_for_max(bound, confidence)
    point_ok = value >= bound if is_min else value <= bound
    if point_ok and (needed is None or n < needed):
        # Even a perfect record at this many runs could not show the bound.
        op = ">=" if is_min else "<="
        have = "no number of runs is enough" if needed is None else f"needs at least {needed} runs"
        detail = f"{have} to show {metric} {op} {fmt(bound)} at {_pct(confidence)} confidence (has {n})"
        return _insufficient(gate, candidate, detail, value, bound, needed)
    op = "<" if is_min else ">"
    detail = (
        f"{metric} {side} {_pct(confidence)} Wilson bound {fmt(pessimistic)} {op} {fmt(bound)} ({counts})"
    )
    more = (
        runs_needed_for_min(bound, confidence, value)
        if is_min
        else runs_needed_for_max(bound, confidence, value)
    )
    result = GateResult(candidate, gate.name, False, value, bound, detail, decided_by="wilson_bound")
    if point_ok and more is not None:
        result.detail += f"; about {more} runs at this rate would show it"
        result.extra["runs_needed_at_observed_rate"] = more
    return result


def _case_pass_gate(gate: Gate, candidate: str, runs: list[RunResult]) -> GateResult:
    share = gate.min if gate.min is not None else gate.max
    assert share is not None
    per_case: dict[str, list[int]] = {}
    for r in runs:
        if not r.infra_error:
            tally = per_case.setdefault(r.case_id, [0, 0])
            tally[0] += 1
            tally[1] += r.correct
    if not per_case:
        return _insufficient(
            gate, candidate, "case_pass_rate has no value: no cases with judged runs", None, share
        )
    failing = [
        (case, c, n)
        for case, (n, c) in per_case.items()
        if not (c / n >= share if gate.min is not None else c / n <= share)
    ]
    value = 1 - len(failing) / len(per_case)
    op = ">=" if gate.min is not None else "<="
    if not failing:
        detail = f"all {len(per_case)} cases have a share of correct runs {op} {fmt(share)}"
    else:
        named = ", ".join(f"{case} ({c}/{n})" for case, c, n in failing[:MAX_FAILING_CASES_NAMED])
        more = ", ..." if len(failing) > MAX_FAILING_CASES_NAMED else ""
        detail = (
            f"{len(failing)} of {len(per_case)} cases miss a share of correct runs {op} "
            f"{fmt(share)}: {named}{more}"
        )
    return GateResult(
        candidate,
        gate.name,
        not failing,
        value,
        share,
        detail,
        decided_by="point",
        extra={"failing_cases": [case for case, _, _ in failing]},
    )


def _regression_gate(gate: Gate, candidate: str, pairing: Pairing | None) -> GateResult:
    metric = gate.regression or ""
    max_drop = gate.max_drop or 0.0
    if pairing is None:
        return _insufficient(
            gate, candidate, f"regression: no baseline to compare {metric} with", None, max_drop
        )
    d = pairing.delta(metric)
    if d.delta is None or d.drop is None:
        return _insufficient(
            gate,
            candidate,
            f"regression: {metric} cannot be compared: no paired runs "
            f"with a value on both sides ({len(pairing.pairs)} pairs)",
            None,
            max_drop,
        )
    drop = d.drop
    head = f"regression: {metric} {fmt(d.baseline)} -> {fmt(d.candidate)}"
    extra = {
        k: v
        for k, v in d.to_dict().items()
        if k in ("baseline", "candidate", "delta", "p_value", "regressed", "improved", "n", "test")
    }
    extra["dropped_runs"] = pairing.dropped_runs_baseline + pairing.dropped_runs_candidate

    def result(passed: bool, detail: str, decided_by: str) -> GateResult:
        return GateResult(
            candidate, gate.name, passed, drop, max_drop, detail, decided_by=decided_by, extra=extra
        )

    signed = f"{d.delta:+.3g}"
    if drop <= max_drop:
        return result(
            True,
            f"{head} ({signed}, within the allowed drop of {fmt(max_drop)}; {d.n} paired {_unit(metric)})",
            "point",
        )
    head += f" ({signed} > {fmt(max_drop)})"
    if gate.alpha is None or d.test == "point":
        note = "" if gate.alpha is None else f"; no paired test for {metric}"
        return result(False, f"{head}, point estimate on {d.n} paired {_unit(metric)}{note}", "point")
    alpha, needed = gate.alpha, min_pairs_for_significance(gate.alpha)
    if d.test == "mcnemar_exact":
        b, c = d.regressed or 0, d.improved or 0
        counts = f"({b} regressed, {c} improved)"
        if b + c < needed:
            # At this discordance rate, how many pairs would give `needed` discordant ones.
            runs = math.ceil(needed * d.n / (b + c))
            r = _insufficient(
                gate,
                candidate,
                f"{head}, but McNemar cannot reach p < {fmt(alpha)} with "
                f"{b + c} discordant pairs {counts}: needs about {runs} paired runs "
                f"(has {d.n})",
                drop,
                max_drop,
                runs,
                default_pass=True,  # a regression gate fails only on a significant drop (DESIGN)
            )
            r.extra = extra
            return r
        p = d.p_value if d.p_value is not None else 1.0
        if d.significant_at(alpha):
            return result(False, f"{head}, McNemar exact p={p:.2g} {counts}", "mcnemar_exact")
        return result(
            True,
            f"{head} but not significant: McNemar exact p={p:.2g} >= {fmt(alpha)} {counts}",
            "mcnemar_exact",
        )
    if d.n < needed or d.p_value is None:
        r = _insufficient(
            gate,
            candidate,
            f"{head}, but a paired bootstrap needs at least {needed} pairs "
            f"to be significant at {fmt(alpha)} (has {d.n})",
            drop,
            max_drop,
            needed,
            default_pass=True,
        )
        r.extra = extra
        return r
    ci = f"95% CI of the difference [{fmt(d.ci_low)}, {fmt(d.ci_high)}], {d.n} pairs"
    if d.significant_at(alpha):
        return result(False, f"{head}, paired bootstrap p={d.p_value:.2g} ({ci})", "bootstrap")
    return result(
        True,
        f"{head} but not significant: paired bootstrap p={d.p_value:.2g} >= {fmt(alpha)} ({ci})",
        "bootstrap",
    )


def _with_tags(runs: Iterable[RunResult], tags: list[str] | None) -> list[RunResult]:
    if not tags:
        return list(runs)
    wanted = set(tags)
    return [r for r in runs if wanted.intersection(r.tags)]


def gate_targets(gate: Gate, present: list[str], baseline: str | None) -> list[str]:
    """Candidates a gate applies to, among those with results: the listed ones, else all but
    the baseline. A regression gate never applies to the baseline itself."""
    names = gate.candidates if gate.candidates is not None else [c for c in present if c != baseline]
    names = [c for c in names if c in present]
    return [c for c in names if c != baseline] if gate.regression is not None else names


def unjudged_gates(suite: Suite, present: list[str], baseline: str | None) -> list[str]:
    """Why each gate that applies to no candidate with results had nothing to judge.

    Such a gate is not a pass (DESIGN "Gates and exit codes"): the evaluation exits 2.
    """
    out: list[str] = []
    for gate in suite.gates:
        if gate_targets(gate, present, baseline):
            continue
        if gate.candidates is not None:
            why = f"none of its candidates ({', '.join(gate.candidates)}) has runs"
        elif baseline is not None and present == [baseline]:
            why = f"only the baseline '{baseline}' has runs, and gates do not apply to the baseline"
        elif not present:
            why = "no candidate has runs"
        else:
            why = "it applies to no candidate that has runs"
        out.append(f"gate '{gate.name}' had nothing to judge: {why}")
    return out


def evaluate_gates(
    suite: Suite, results: Iterable[RunResult], metrics: Iterable[MetricValue], *, baseline: str | None,
    pairings: dict[str, Pairing] | None = None,
) -> list[GateResult]:
    """Apply every gate of ``suite`` to the candidates it covers, in gate order.

    ``metrics`` are those ``compute_metrics`` produced for ``results`` (used as they are for
    gates without ``tags``; gates with tags recompute on the runs of their cases).
    ``pairings`` (candidate -> its pairing with the baseline, from ``pair_runs``) lets the
    regression gates reuse what a comparison already computed.
    """
    results = list(results)
    by_candidate: dict[str, list[RunResult]] = {}
    for r in results:
        by_candidate.setdefault(r.candidate, []).append(r)
    order = [c.name for c in suite.candidates if c.name in by_candidate]
    present = order + [c for c in by_candidate if c not in order]
    index = metric_index(metrics)
    out: list[GateResult] = []
    for gate in suite.gates:
        for candidate in gate_targets(gate, present, baseline):
            runs = _with_tags(by_candidate[candidate], gate.tags)
            if gate.regression is not None:
                pairing = None
                if not gate.tags and pairings and candidate in pairings:
                    pairing = pairings[candidate]
                elif baseline is not None and baseline in by_candidate:
                    pairing = pair_runs(_with_tags(by_candidate[baseline], gate.tags), runs)
                out.append(_regression_gate(gate, candidate, pairing))
            elif gate.metric == "case_pass_rate":
                out.append(_case_pass_gate(gate, candidate, runs))
            else:
                metric = gate.metric or ""
                mv = None if gate.tags else index.get((candidate, None, metric))
                if mv is None:
                    scorers = [metric.split(":", 1)[1]] if metric.startswith(("score:", "mean:")) else None
                    mv = metric_index(compute_metrics(runs, scorers=scorers)).get((candidate, None, metric))
                out.append(_threshold_gate(gate, candidate, mv))
    return out

