"""Gates on hand-made results: thresholds, Wilson bounds, regression tests, tags, case_pass_rate."""

from __future__ import annotations

from typing import Any

import pytest

from agentctl.config.models import Suite
from agentctl.core.values import GateResult
from agentctl.metrics.compute import compute_metrics
from agentctl.metrics.gates import evaluate_gates
from support.runs import run
from support.stats import mcnemar_by_hand, wilson_closed, z_of


def suite(gates: list[dict[str, Any]], baseline: str | None = "base") -> Suite:
    return Suite.model_validate(
        {
            "name": "s",
            "dataset": "d",
            "candidates": [{"name": "base", "model": "replay:prod"}, {"name": "new", "model": "openai/x"}],
            "baseline": baseline,
            "gates": gates,
        }
    )


def gate(gates: list[dict[str, Any]], results: list, baseline: str | None = "base") -> list[GateResult]:  # type: ignore[type-arg]
    return evaluate_gates(suite(gates, baseline), results, compute_metrics(results), baseline=baseline)


def runs_of(candidate: str, n: int, wrong: int = 0, **kw: Any) -> list:  # type: ignore[type-arg]
    return [run(f"c{i}", candidate, correct=i >= wrong, **kw) for i in range(n)]


def test_point_gate_pass_and_fail_with_readable_detail() -> None:
    results = runs_of("base", 10) + runs_of("new", 200, wrong=26)
    [g] = gate([{"metric": "success_rate", "min": 0.95}], results)
    assert g.candidate == "new" and g.gate == "success_rate >= 0.95"  # baseline is not gated
    assert not g.passed and g.decided_by == "point"
    assert g.value == pytest.approx(174 / 200)
    assert g.detail == "success_rate 0.87 < 0.95 (point estimate, 200 runs)"
    [g] = gate([{"metric": "success_rate", "min": 0.85}], results)
    assert g.passed


def test_confidence_gate_insufficient_names_runs_needed() -> None:
    results = runs_of("new", 200)
    [g] = gate([{"metric": "critical_error_rate", "max": 0.001, "confidence": 0.95}], results)
    z2 = z_of(0.95) ** 2
    needed = next(n for n in range(1, 10**6) if z2 / (n + z2) <= 0.001)  # zero-error upper bound
    assert g.insufficient and not g.passed and g.decided_by == "insufficient"
    assert g.runs_needed == needed
    assert g.detail == (
        f"needs at least {needed} runs to show critical_error_rate <= 0.001 at 95% confidence (has 200)"
    )
    [g] = gate(
        [{"metric": "critical_error_rate", "max": 0.001, "confidence": 0.95, "on_insufficient": "pass"}],
        results,
    )
    assert g.insufficient and g.passed


def test_confidence_gate_decided_by_the_wilson_bound() -> None:
    ok = gate([{"metric": "critical_error_rate", "max": 0.01, "confidence": 0.95}], runs_of("new", 400))[0]
    assert ok.passed and ok.decided_by == "wilson_bound"
    assert f"{wilson_closed(0, 400)[1]:.3g}" in ok.detail
    # 3 critical errors in 400 runs: upper bound above 1%, point estimate below it
    bad = [run(f"c{i}", "new", correct=i >= 3, critical=i < 3) for i in range(400)]
    [g] = gate([{"metric": "critical_error_rate", "max": 0.01, "confidence": 0.95}], bad)
    assert not g.passed and not g.insufficient and g.decided_by == "wilson_bound"
    assert wilson_closed(3, 400)[1] > 0.01
    # a min gate uses the lower bound
    [g] = gate([{"metric": "success_rate", "min": 0.9, "confidence": 0.9}], runs_of("new", 100, wrong=5))
    assert g.passed == (wilson_closed(95, 100, 0.9)[0] >= 0.9)


def test_on_insufficient_pass_does_not_hide_a_clear_failure() -> None:
    bad = [run(f"c{i}", "new", correct=i >= 2, critical=i < 2) for i in range(20)]
    [g] = gate(
        [{"metric": "critical_error_rate", "max": 0.001, "confidence": 0.95, "on_insufficient": "pass"}], bad
    )
    assert not g.passed and not g.insufficient


def test_metric_without_value_is_insufficient() -> None:
    [g] = gate([{"metric": "success_rate", "min": 0.9}], [run("a", "new", infra=True)])
    assert g.insufficient and not g.passed and g.value is None


def test_infra_errors_do_not_fail_a_rate_gate() -> None:
    results = runs_of("new", 10) + [run(f"x{i}", "new", infra=True) for i in range(10)]
    [g] = gate([{"metric": "success_rate", "min": 1.0}], results)
    assert g.passed and "10 runs" in g.detail


def test_tags_filter_restricts_runs() -> None:
    results = [run(f"p{i}", "new", correct=i >= 1, tags=["payments"]) for i in range(4)]
    results += [run(f"o{i}", "new", tags=["other"]) for i in range(16)]
    [everything, tagged] = gate(
        [
            {"metric": "success_rate", "min": 0.9},
            {"metric": "success_rate", "min": 0.9, "tags": ["payments", "nothing"]},
        ],
        results,
    )
    assert everything.passed and everything.value == pytest.approx(19 / 20)
    assert not tagged.passed and tagged.value == pytest.approx(3 / 4)
    assert tagged.gate == "success_rate >= 0.9 [tags: payments, nothing]"


def test_candidates_listed_and_no_baseline() -> None:
    results = runs_of("base", 4, wrong=4) + runs_of("new", 4)
    listed = gate([{"metric": "success_rate", "min": 0.5, "candidates": ["base"]}], results)
    assert [(g.candidate, g.passed) for g in listed] == [("base", False)]
    everyone = gate([{"metric": "success_rate", "min": 0.5}], results, baseline=None)
    assert [(g.candidate, g.passed) for g in everyone] == [("base", False), ("new", True)]


def test_case_pass_rate_gate() -> None:
    results = []
    for case, outcomes in {"a": [1, 1, 1], "b": [1, 0, 1], "c": [0, 0, 1], "d": [1, 1, None]}.items():
        for rep, ok in enumerate(outcomes):
            results.append(run(case, "new", rep, correct=bool(ok), infra=ok is None))
    [g] = gate([{"metric": "case_pass_rate", "min": 0.6}], results)
    # shares: a 3/3, b 2/3, c 1/3, d 2/2 (infra run left out) -> only c fails
    assert not g.passed and g.value == pytest.approx(3 / 4) and g.threshold == 0.6
    assert "c (1/3)" in g.detail and "1 of 4 cases" in g.detail
    assert gate([{"metric": "case_pass_rate", "min": 0.3}], results)[0].passed


def regression_runs(regressed: int, improved: int, same: int) -> list:  # type: ignore[type-arg]
    out = []
    for i in range(regressed):
        out += [run(f"r{i}", "base"), run(f"r{i}", "new", correct=False)]
    for i in range(improved):
        out += [run(f"i{i}", "base", correct=False), run(f"i{i}", "new")]
    for i in range(same):
        out += [run(f"s{i}", "base"), run(f"s{i}", "new")]
    return out


def test_regression_gate_mcnemar() -> None:
    results = regression_runs(19, 2, 179)
    [g] = gate([{"regression": "success_rate", "max_drop": 0.02, "alpha": 0.05}], results)
    assert not g.passed and g.decided_by == "mcnemar_exact"
    assert g.value == pytest.approx(17 / 200) and g.threshold == 0.02
    p = mcnemar_by_hand(19, 2)
    assert g.detail == (
        f"regression: success_rate 0.99 -> 0.905 (-0.085 > 0.02), McNemar exact p={p:.2g} (19 regressed, 2 improved)"
    )
    assert g.extra["p_value"] == pytest.approx(p)
    # the same drop without significance passes
    [g] = gate([{"regression": "success_rate", "max_drop": 0.02, "alpha": 0.05}], regression_runs(8, 4, 38))
    assert mcnemar_by_hand(8, 4) >= 0.05
    assert g.passed and "not significant" in g.detail
    # without alpha the point estimate decides
    [g] = gate([{"regression": "success_rate", "max_drop": 0.02}], regression_runs(8, 4, 38))
    assert not g.passed and g.decided_by == "point"


def test_regression_gate_too_few_discordant_pairs_is_insufficient() -> None:
    [g] = gate([{"regression": "success_rate", "max_drop": 0.02, "alpha": 0.05}], regression_runs(2, 0, 18))
    # DESIGN: a regression gate with alpha fails only on a significant drop, so by default
    # "cannot be significant" passes, saying how many runs would be needed ...
    assert g.insufficient and g.passed and "needs about 60 paired runs" in g.detail
    # ... and a suite that wants the stricter rule says so.
    [strict] = gate([{"regression": "success_rate", "max_drop": 0.02, "alpha": 0.05, "on_insufficient": "fail"}],
                    regression_runs(2, 0, 18))
    assert strict.insufficient and not strict.passed
    # 6 discordant pairs are needed for p < 0.05 (2 * 0.5**6); 2 in 20 pairs -> about 60 pairs
    assert mcnemar_by_hand(6, 0) < 0.05 <= mcnemar_by_hand(5, 0)
    assert g.runs_needed == 60


def test_regression_gate_on_a_lower_is_better_metric() -> None:
    results = []
    for i in range(12):
        results += [run(f"c{i}", "base", cost=0.010), run(f"c{i}", "new", cost=0.010 + 0.001 * (i + 1))]
    [g] = gate([{"regression": "mean_cost_usd", "max_drop": 0.001, "alpha": 0.05}], results)
    assert g.value == pytest.approx(0.0065)  # an increase is the drop
    assert not g.passed and g.decided_by == "bootstrap"
    [g] = gate([{"regression": "mean_cost_usd", "max_drop": 0.01, "alpha": 0.05}], results)
    assert g.passed and g.decided_by == "point"
    # a cheaper candidate never regresses on cost
    cheaper = [r for r in results if r.candidate == "base"] + [
        run(f"c{i}", "new", cost=0.001) for i in range(12)
    ]
    assert gate([{"regression": "cost_usd", "max_drop": 0.0}], cheaper)[0].passed


def test_regression_gate_without_baseline_results_is_insufficient() -> None:
    [g] = gate(
        [{"regression": "success_rate", "max_drop": 0.02, "candidates": ["new"]}],
        runs_of("new", 5),
        baseline=None,
    )
    assert g.insufficient and not g.passed and "no baseline" in g.detail


def test_regression_gate_on_different_case_subsets_uses_common_cases() -> None:
    results = runs_of("base", 10) + [run(f"c{i}", "new") for i in range(5, 15)]
    [g] = gate([{"regression": "success_rate", "max_drop": 0.0}], results)
    assert g.passed and g.extra["n"] == 5 and g.extra["dropped_runs"] == 10
