"""Paired comparison checked against figures computed by hand in the test."""

from __future__ import annotations

import json

import pytest

from agentctl.core.errors import InputError
from agentctl.metrics.compare import compare_candidates, compare_runs, comparison_rows, pair_runs
from agentctl.store import Store
from support.runs import run
from support.stats import mcnemar_by_hand


def two_candidates(base: list[bool], cand: list[bool], **kw) -> list:  # type: ignore[no-untyped-def]
    runs = [run(f"c{i}", "base", correct=ok, **kw) for i, ok in enumerate(base)]
    runs += [
        run(f"c{i}", "new", correct=ok, reasons=None if ok else [f"wrong c{i}"], **kw)
        for i, ok in enumerate(cand)
    ]
    return runs


def test_mcnemar_counts_and_p_value() -> None:
    # 12 pairs: 5 regressed (T->F), 1 improved (F->T), 4 both right, 2 both wrong
    base = [True] * 5 + [False] + [True] * 4 + [False] * 2
    cand = [False] * 5 + [True] + [True] * 4 + [False] * 2
    cmp = compare_candidates(two_candidates(base, cand), "base", "new")
    d = cmp.metrics["success_rate"]
    assert (d.regressed, d.improved) == (5, 1)
    assert d.p_value == pytest.approx(mcnemar_by_hand(5, 1))
    assert d.baseline == pytest.approx(9 / 12) and d.candidate == pytest.approx(5 / 12)
    assert d.delta == pytest.approx(-4 / 12) and d.worse
    assert d.ci_low is not None and d.ci_low <= d.delta <= d.ci_high
    assert d.significant == (mcnemar_by_hand(5, 1) < 0.05)
    assert [c.case_id for c in cmp.regressed] == ["c0", "c1", "c2", "c3", "c4"]
    assert cmp.regressed[0].reasons == ["wrong c0"]
    assert [c.case_id for c in cmp.improved] == ["c5"]
    assert cmp.improved[0].reasons == ["wrong action"]  # the baseline's reason
    assert [c.case_id for c in cmp.still_wrong] == ["c10", "c11"]


def test_zero_discordant_pairs_all_correct_and_all_wrong() -> None:
    for outcome in (True, False):
        cmp = compare_candidates(two_candidates([outcome] * 4, [outcome] * 4), "base", "new")
        d = cmp.metrics["success_rate"]
        assert (d.regressed, d.improved, d.p_value, d.delta) == (0, 0, 1.0, 0.0)
        assert (d.ci_low, d.ci_high) == (0.0, 0.0)
        assert not d.worse and not d.significant
        assert len(cmp.still_wrong) == (0 if outcome else 4)


def test_one_case() -> None:
    cmp = compare_candidates(two_candidates([True], [False]), "base", "new")
    d = cmp.metrics["success_rate"]
    assert d.n == 1 and d.regressed == 1 and d.p_value == 1.0
    assert d.ci_low is None  # no bootstrap on a single pair
    assert cmp.metrics["mean_cost_usd"].p_value is None


def test_candidates_with_different_case_subsets_are_compared_on_common_cases() -> None:
    runs = [run(c, "base") for c in ("a", "b", "c", "d")]
    runs += [run(c, "new", correct=c != "b") for c in ("b", "c", "e")]
    cmp = compare_candidates(runs, "base", "new")
    assert cmp.pairs == 2 and cmp.cases == 2
    assert (cmp.dropped_cases_baseline, cmp.dropped_cases_candidate) == (2, 1)
    assert (cmp.dropped_runs_baseline, cmp.dropped_runs_candidate) == (2, 1)
    assert cmp.metrics["success_rate"].candidate == 0.5


def test_infra_errors_leave_rates_but_not_infra_rate() -> None:
    runs = [run("a", "base"), run("b", "base"), run("c", "base", correct=False)]
    runs += [run("a", "new", infra=True), run("b", "new", correct=False), run("c", "new", correct=False)]
    cmp = compare_candidates(runs, "base", "new")
    assert cmp.metrics["success_rate"].n == 2
    assert cmp.metrics["success_rate"].regressed == 1
    infra = cmp.metrics["infra_error_rate"]
    assert infra.n == 3 and infra.regressed == 1 and infra.worse


def test_lower_is_better_metrics_count_increases_as_worse() -> None:
    runs = [run(f"c{i}", "base", critical=False, cost=0.01) for i in range(8)]
    runs += [run(f"c{i}", "new", correct=i >= 7, critical=i < 7, cost=0.03) for i in range(8)]
    cmp = compare_candidates(runs, "base", "new")
    crit = cmp.metrics["critical_error_rate"]
    assert (crit.regressed, crit.improved) == (7, 0) and crit.worse
    assert crit.p_value == pytest.approx(mcnemar_by_hand(7, 0)) and crit.significant
    cost = cmp.metrics["cost_usd"]
    assert cost.delta == pytest.approx(8 * 0.02) and cost.worse
    assert (cost.ci_low, cost.ci_high) == pytest.approx((0.16, 0.16))
    assert cost.significant  # every pair costs more, with enough pairs
    assert cmp.metrics["mean_cost_usd"].delta == pytest.approx(0.02)


def test_by_tag_and_significantly_worse_tags() -> None:
    runs = []
    for i in range(10):  # "pay" regresses in all ten cases; "ship" improves in all ten
        runs += [run(f"p{i}", "base", tags=["pay"]), run(f"p{i}", "new", correct=False, tags=["pay"])]
        runs += [run(f"s{i}", "base", correct=False, tags=["ship"]), run(f"s{i}", "new", tags=["ship"])]
    cmp = compare_candidates(runs, "base", "new")
    assert cmp.metrics["success_rate"].delta == 0.0  # the overall figure holds
    assert cmp.by_tag["pay"].metrics["success_rate"].regressed == 10
    assert cmp.by_tag["ship"].metrics["success_rate"].improved == 10
    assert cmp.significantly_worse_tags == ["pay"]


def test_flaky_cases_and_consistency() -> None:
    runs = []
    for rep, (b, c) in enumerate([(True, True), (True, False), (True, True)]):
        runs += [run("a", "base", rep, correct=b), run("a", "new", rep, correct=c)]
        runs += [run("z", "base", rep, correct=rep == 0), run("z", "new", rep, correct=False)]
    cmp = compare_candidates(runs, "base", "new")
    assert cmp.flaky == {"baseline": ["z"], "candidate": ["a"]}
    cons = {c.case_id: c for c in cmp.consistency}
    assert (cons["a"].candidate_correct, cons["a"].candidate_runs, cons["a"].regressed) == (2, 3, 1)
    assert [(c.case_id, c.repeats) for c in cmp.regressed] == [("a", [1]), ("z", [0])]
    assert cmp.metrics["pass^3"].baseline == pytest.approx((1 + 0) / 2)
    assert cmp.metrics["pass^3"].candidate == pytest.approx(0.0)


def test_bootstrap_results_are_reproducible() -> None:
    runs = [run(f"c{i}", "base", latency=1.0 + i % 3) for i in range(30)]
    runs += [run(f"c{i}", "new", latency=1.5 + (i * 7) % 5) for i in range(30)]
    first = compare_candidates(runs, "base", "new").to_dict()
    assert first == compare_candidates(runs, "base", "new").to_dict()


def test_to_dict_is_strict_json_and_rows_fit_the_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    runs = two_candidates([True, True, False, True], [False, False, False, True], tags=["t"])
    cmp = compare_candidates(runs, "base", "new")
    text = json.dumps(cmp.to_dict(), allow_nan=False)  # cost_per_success_usd may be infinite
    assert json.loads(text)["metrics"]["success_rate"]["regressed"] == 2
    rows = comparison_rows("run-1", cmp)
    store = Store(tmp_path / "store.duckdb")  # written as eval run writes them
    for table in ("comparisons", "comparison_cases"):
        store.replace_rows("run-1", table, rows[table])
    con = store.con
    got = con.execute(
        "SELECT baseline_value, candidate_value, regressed, improved, p_value FROM comparisons "
        "WHERE metric = 'success_rate' AND tag IS NULL"
    ).fetchone()
    assert got == pytest.approx((0.75, 0.25, 2, 0, mcnemar_by_hand(2, 0)))
    assert con.execute("SELECT count(*) FROM comparisons WHERE tag = 't'").fetchone()[0] == 16  # every metric, for tag t
    regressed = con.execute(
        "SELECT case_id, candidate_reasons FROM comparison_cases WHERE regressed > 0 ORDER BY case_id"
    ).fetchall()
    assert regressed == [("c0", ["wrong c0"]), ("c1", ["wrong c1"])]
    store.close()


def test_compare_runs_same_candidate_across_runs() -> None:
    a = [run(f"c{i}", "prod", run_id="A") for i in range(3)]
    b = [run(f"c{i}", "prod", correct=i != 1, run_id="B") for i in range(3)]
    cmp = compare_runs(a, b, "prod")
    assert (cmp.baseline_run_id, cmp.candidate_run_id) == ("A", "B")
    assert [c.case_id for c in cmp.regressed] == ["c1"]


def test_unknown_candidate_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no results for candidate 'nope'.*base, new"):
        compare_candidates(two_candidates([True], [True]), "nope", "new")


def test_pairing_uses_case_and_repeat() -> None:
    pairing = pair_runs([run("a", "b", 0), run("a", "b", 1)], [run("a", "n", 1), run("a", "n", 2)])
    assert [(p.case_id, p.repeat) for p in pairing.pairs] == [("a", 1)]
    assert (pairing.dropped_runs_baseline, pairing.dropped_runs_candidate) == (1, 1)
