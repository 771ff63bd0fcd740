"""compute_metrics on small hand-made results, checked against figures computed in the test."""

from __future__ import annotations

import math

import pytest

from agentctl.core.metric_names import RATE_METRICS, VALUE_METRICS
from agentctl.core.results import ScoreResult
from agentctl.metrics.compute import compute_metrics, metric_index
from support.runs import many_runs, run
from support.stats import wilson_closed


def overall(metrics, candidate: str = "cand", tag: str | None = None):  # type: ignore[no-untyped-def]
    return {m.metric: m for m in metrics if m.candidate == candidate and m.tag == tag}


def mixed_runs():  # type: ignore[no-untyped-def]
    return [
        run("c1", correct=True, cost=0.02, latency=1.0, steps=2, tool_calls=1, tags=["pay"]),
        run(
            "c2",
            correct=False,
            escaped=True,
            critical=True,
            cost=0.04,
            latency=3.0,
            steps=4,
            tags=["pay", "ship"],
        ),
        run(
            "c3",
            correct=False,
            status="escalated",
            violations=2,
            cost=0.10,
            latency=2.0,
            steps=3,
            tags=["ship"],
        ),
        run("c4", correct=False, status="failed", cost=0.01, latency=10.0, steps=12, tool_calls=7),
        run("c5", infra=True, cost=0.005, latency=30.0, steps=1, tool_calls=0, tags=["pay"]),
    ]


def test_rates_exclude_infra_errors_from_denominators() -> None:
    m = overall(compute_metrics(mixed_runs()))
    judged = 4  # five runs, one infra error
    expected = {
        "success_rate": 1,
        "completion_rate": 3,  # completed c1, c2 + escalated c3
        "escaped_error_rate": 1,
        "critical_error_rate": 1,
        "policy_violation_rate": 1,
        "escalation_rate": 1,
    }
    for name, k in expected.items():
        assert m[name].value == pytest.approx(k / judged), name
        assert m[name].n == judged
        low, high = wilson_closed(k, judged)
        assert (m[name].ci_low, m[name].ci_high) == pytest.approx((low, high), abs=1e-9)
    assert m["infra_error_rate"].value == pytest.approx(1 / 5)
    assert m["infra_error_rate"].n == 5
    assert m["runs"].value == 5


def test_cost_latency_and_steps() -> None:
    runs = mixed_runs()
    m = overall(compute_metrics(runs))
    total = 0.02 + 0.04 + 0.10 + 0.01 + 0.005
    assert m["cost_usd"].value == pytest.approx(total)
    assert m["mean_cost_usd"].value == pytest.approx(total / 5)
    assert m["cost_per_success_usd"].value == pytest.approx(total / 1)
    lat = sorted([1.0, 3.0, 2.0, 10.0, 30.0])
    # linear interpolation between order statistics, by hand
    pos = 0.95 * (len(lat) - 1)
    p95 = lat[int(pos)] + (lat[int(pos) + 1] - lat[int(pos)]) * (pos - int(pos))
    assert m["p50_latency_s"].value == pytest.approx(3.0)
    assert m["p95_latency_s"].value == pytest.approx(p95)
    assert m["mean_steps"].value == pytest.approx((2 + 4 + 3 + 12 + 1) / 5)
    assert m["mean_tool_calls"].value == pytest.approx((1 + 1 + 1 + 7 + 0) / 5)


def test_cost_per_success_is_infinite_without_success_and_rates_none_without_judged_runs() -> None:
    m = overall(compute_metrics([run("a", correct=False), run("b", infra=True)]))
    assert m["cost_per_success_usd"].value == math.inf
    m = overall(compute_metrics([run("a", infra=True)]))
    assert m["success_rate"].value is None and m["success_rate"].ci_low is None
    assert m["infra_error_rate"].value == 1.0


def test_per_tag_counts_a_case_in_each_of_its_tags() -> None:
    ms = compute_metrics(mixed_runs())
    pay, ship = overall(ms, tag="pay"), overall(ms, tag="ship")
    assert pay["runs"].value == 3 and ship["runs"].value == 2
    assert pay["success_rate"].value == pytest.approx(1 / 2)  # c1 right, c2 wrong, c5 infra
    assert ship["success_rate"].value == pytest.approx(0.0)
    assert ship["escalation_rate"].value == pytest.approx(1 / 2)
    assert {m.tag for m in ms} == {None, "pay", "ship"}


def test_every_named_metric_is_produced() -> None:
    m = overall(compute_metrics(mixed_runs()))
    for name in (*RATE_METRICS, *VALUE_METRICS):
        assert name in m, name


def test_pass_k_over_repeats_excludes_infra_runs() -> None:
    runs = []
    for case, outcomes in {"a": [1, 1, 1], "b": [1, 0, 1], "c": [0, 0, 0], "d": [1, 1, None]}.items():
        for i, ok in enumerate(outcomes):
            runs.append(run(case, repeat=i, correct=bool(ok), infra=ok is None))
    m = overall(compute_metrics(runs))
    # (n, c): a (3,3), b (3,2), c (3,0), d (2,2): pass^k = mean over n >= k of C(c,k)/C(n,k)
    assert m["pass^1"].value == pytest.approx((1 + 2 / 3 + 0 + 1) / 4)
    assert m["pass^2"].value == pytest.approx((1 + 1 / 3 + 0 + 1) / 4)
    assert m["pass^3"].value == pytest.approx((1 + 0 + 0) / 3)
    assert m["pass^3"].n == 3
    assert m["pass@3"].value == pytest.approx((1 + 1 + 0) / 3)
    assert m["case_pass_rate"].value == pytest.approx(2 / 4)  # a and d correct in every judged repeat
    assert "pass^4" not in m


def test_scorer_metrics() -> None:
    runs = [
        run("a", scores={"polite": ScoreResult("polite", 0.9, True)}),
        run("b", scores={"polite": ScoreResult("polite", 0.4, False)}),
        run("c", scores={"polite": ScoreResult("polite", None, None, error="judge down")}),
        run("d", scores={"polite": ScoreResult("polite", 0.8, True, cost_usd=0.003)}),
        run("e"),
    ]
    m = overall(compute_metrics(runs))
    assert m["score:polite"].value == pytest.approx(2 / 3) and m["score:polite"].n == 3
    assert (m["score:polite"].ci_low, m["score:polite"].ci_high) == pytest.approx(wilson_closed(2, 3))
    assert m["mean:polite"].value == pytest.approx((0.9 + 0.4 + 0.8) / 3)
    assert m["judge_cost_usd"].value == pytest.approx(0.003)
    named = overall(compute_metrics(runs[4:], scorers=["polite"]))
    assert named["score:polite"].value is None and named["mean:polite"].value is None


def test_candidates_are_kept_apart() -> None:
    runs = [run("a", "x"), run("b", "x", correct=False), run("a", "y")]
    idx = metric_index(compute_metrics(runs))
    assert idx[("x", None, "success_rate")].value == 0.5
    assert idx[("y", None, "success_rate")].value == 1.0


def test_many_runs_two_candidates_ten_tags_are_grouped_by_candidate_and_tag() -> None:
    # The speed of this on 10,000 runs per candidate is measured by tests/bench/bench_compute.py.
    runs = many_runs(500)
    metrics = compute_metrics(runs)
    assert {(m.candidate, m.tag) for m in metrics} == {
        (c, t) for c in ("base", "new") for t in [None, *(f"t{i}" for i in range(10))]}
    idx = metric_index(metrics)
    for cand in ("base", "new"):
        for tag in (None, "t3"):
            mine = [r for r in runs if r.candidate == cand and (tag is None or tag in r.tags)]
            judged = [r for r in mine if not r.infra_error]
            assert idx[(cand, tag, "success_rate")].value == pytest.approx(sum(r.correct for r in judged) / len(judged))
            assert idx[(cand, tag, "infra_error_rate")].value == pytest.approx(
                sum(r.infra_error for r in mine) / len(mine))
