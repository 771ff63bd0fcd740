"""Budgets: per run, total (suite and --max-cost), review costs apart; --dry-run estimates."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from agentctl.core.errors import EXIT_CANNOT_RUN
from agentctl.runner import RunOptions, run_suite
from support.fake_openai import FakeOpenAI, tool_calls
from support.faults import CALL_USD, FaultSchedule, write_suite


def test_total_budget_stops_new_calls(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=10, budget={"max_usd_total": 5 * CALL_USD})
    db = tmp_path / "x.duckdb"
    outcome = run_suite(suite, db=db, options=RunOptions(concurrency=1))
    # 2 calls per run: 5 calls make the budget; the run whose 6th call is refused is not a verdict
    assert len(fake_openai.requests) == 5
    assert (len(outcome.results), outcome.not_run, outcome.exit_code) == (2, 8, EXIT_CANNOT_RUN)
    assert "total budget of $0.10 reached" in (outcome.message or "") and "8 run(s) not run" in outcome.message
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT status, exit_code FROM eval_runs").fetchone() == ("aborted", 3)
    con.close()


def test_max_cost_flag_bounds_spend_with_calls_in_flight(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None, delay_s=0.05))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=12)
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=3, max_cost=4 * CALL_USD))
    # spend may exceed the limit by at most the calls in flight (concurrency - 1)
    assert 4 <= len(fake_openai.requests) <= 4 + 2
    assert outcome.exit_code == EXIT_CANNOT_RUN and outcome.not_run >= 12 - 3
    assert len(outcome.results) + outcome.not_run == 12


def test_per_run_budget_fails_the_run(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(FaultSchedule(lambda c, t, a: None))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=2, budget={"max_usd_per_run": 0.03})
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions())
    assert [(r.status, r.failure_reason, r.infra_error) for r in outcome.results] == [("failed", "budget", False)] * 2
    assert len(fake_openai.requests) == 4 and outcome.not_run == 0


def test_review_cost_is_not_provider_spend(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    fake_openai.script(lambda body: tool_calls(("escalate_to_human", {"reason": "x"})))
    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=4, costs={"review_usd": 2.0},
                        budget={"max_usd_total": 1.0})
    outcome = run_suite(suite, db=tmp_path / "x.duckdb", options=RunOptions(concurrency=1))
    assert outcome.not_run == 0 and len(fake_openai.requests) == 4
    assert sum(r.cost_usd for r in outcome.results) == pytest.approx(4 * (2.0 + CALL_USD))


def test_dry_run_estimates_from_recordings_and_calls_nothing(tmp_path: Path, fake_openai: FakeOpenAI) -> None:
    import json

    suite = write_suite(tmp_path, fake_openai.base_url, n_cases=2, candidates=[
        {"name": "prod", "model": "replay:prod"},
        {"name": "live", "model": "openai/fake-agent", "params": {"api_base": fake_openai.base_url}},
        {"name": "mini", "model": "openai/gpt-4o-mini", "params": {"api_base": fake_openai.base_url}},
    ])
    runs = []
    for i in range(2):
        runs.append({"run_id": f"r{i}", "case_id": f"case-{i:02d}", "label": "prod", "cost_usd": 0.5 + i,
                     "usage": {"prompt_tokens": 1000, "completion_tokens": 100},
                     "messages": [{"role": "user", "content": "x"},
                                  {"role": "assistant", "content": None, "tool_calls": [
                                      {"id": "a", "type": "function",
                                       "function": {"name": "get_ticket", "arguments": json.dumps({"ticket_id": i})}}]},
                                  {"role": "tool", "tool_call_id": "a", "content": "{}"},
                                  {"role": "assistant", "content": f"answer {i}"}]})
    (tmp_path / "data" / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    db = tmp_path / "x.duckdb"
    outcome = run_suite(suite, db=db, options=RunOptions(dry_run=True))
    est = outcome.estimates
    assert outcome.status == "dry_run" and not fake_openai.requests and not db.exists()
    assert est[("calls", "case-00", "prod", 1)] == 0 and est[("cost", "case-01", "prod", 1)] == 1.5
    assert est[("calls", "case-00", "live", 1)] == 2
    assert est[("cost", "case-00", "live", 1)] == pytest.approx((1000 * 1000 + 100 * 2000) / 1e6)  # suite pricing
    assert est[("cost", "case-00", "mini", 1)] == pytest.approx((1000 * 0.15 + 100 * 0.60) / 1e6)  # litellm map
