"""``load_report_data`` reads the known run (tests/support/reports.py, written through ``Store``) back as stored."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from agentctl.core.errors import InputError
from agentctl.reports import load_report_data
from support.reports import CANARY, RUN_ID, XSS_CASE, build_known_run, build_synthetic_run


@pytest.fixture
def known(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    return build_known_run(tmp_path)


def test_load_reads_the_stored_run(known: duckdb.DuckDBPyConnection) -> None:
    data = load_report_data(known, RUN_ID)
    assert data.baseline == "prod" and data.candidates == ["prod", "mini"]
    assert not data.passed and {g.gate for g in data.failed_gates} == {"success_rate >= 0.95", "regression(success_rate)"}
    assert data.run_count() == 12
    t4 = next(c for c in data.cases if c.case_id == "T-4" and c.candidate == "mini")
    assert (t4.n, t4.correct, t4.verdict) == (2, 1, "fail")
    assert len(t4.runs[0].timeline) == 3 and t4.runs[0].timeline[0]["kind"] == "model"


def test_changed_cases_regressed_first_and_infra_is_not_a_regression(known: duckdb.DuckDBPyConnection) -> None:
    changed = load_report_data(known, RUN_ID).changed_cases()
    assert [(c.case_id, c.change) for c in changed] == [
        ("T-2", "regressed"), ("T-4", "regressed"), (XSS_CASE, "improved")]


def test_expected_actions_diff_shows_the_wrong_argument(known: duckdb.DuckDBPyConnection) -> None:
    data = load_report_data(known, RUN_ID)
    mini = next(c for c in data.cases if c.case_id == "T-2" and c.candidate == "mini")
    prod = next(c for c in data.cases if c.case_id == "T-2" and c.candidate == "prod")
    assert prod.diff is not None and prod.diff.clean
    assert mini.diff is not None and [line.op for line in mini.diff.lines] == ["changed"]
    bad = [a for a in mini.diff.lines[0].args if not a.same]
    assert [(a.key, a.expected, a.actual) for a in bad] == [("amount_cents", "7500", "750")]


def test_secrets_in_stored_options_are_scrubbed(known: duckdb.DuckDBPyConnection) -> None:
    data = load_report_data(known, RUN_ID)
    assert CANARY not in json.dumps(data.run, default=str)
    assert data.run["candidates"][1]["params"]["temperature"] == 0


def test_unknown_run_is_an_input_error(known: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(InputError, match="no evaluation with run_id 'nope'"):
        load_report_data(known, "nope")


def test_action_diff_pairs_by_tool_and_shows_missing_and_extra_writes() -> None:
    from agentctl.reports.actions import diff_actions

    expected = [{"tool": "issue_refund", "args": {"charge_id": {"$regex": "^ch_"}, "amount_cents": {"$approx": [7500, 1]}}},
                {"tool": "update_ticket", "args": {"ticket_id": 7, "priority": {"$in": ["high", "urgent"]}}}]
    timeline = [
        {"kind": "tool", "tool": "get_ticket", "effect": "read", "args": {"ticket_id": 7}},
        {"kind": "tool", "tool": "close_ticket", "effect": "write", "args": {"ticket_ids": [7, 8]}},
        {"kind": "tool", "tool": "issue_refund", "effect": "write", "args": {"amount_cents": 7500.0, "charge_id": "ch_9"}},
        {"kind": "tool", "tool": "update_ticket", "effect": "write", "policy": "forbid: x", "args": {"ticket_id": 7}},
        {"kind": "tool", "tool": "update_ticket", "effect": "write", "error": True, "args": {"ticket_id": 7}},
    ]
    diff = diff_actions(expected, timeline)
    assert [(line.op, line.tool) for line in diff.lines] == [
        ("same", "issue_refund"), ("missing", "update_ticket"), ("extra", "close_ticket")]
    assert not diff.clean
    assert diff.lines[2].args[0].actual == "[7, 8]" and diff.lines[2].args[0].expected is None


def test_importing_reports_stays_light() -> None:
    import subprocess
    import sys

    code = ("import sys, agentctl.reports; heavy = {'litellm', 'deepeval', 'ragas', 'pandas', 'scipy', 'jinja2'}"
            " & set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_big_reports_carry_bounded_timelines_failures_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond MAX_TIMELINE_RUNS, step timelines go only to that many runs, failing cases first."""
    from agentctl.reports import data as report_data

    con = build_synthetic_run(tmp_path / "big.duckdb", 200)
    monkeypatch.setattr(report_data, "MAX_TIMELINE_RUNS", 40)
    data = load_report_data(con, "r-bench")
    with_steps = [r for c in data.cases for r in c.runs if r.timeline]
    assert len(with_steps) == 40
    failing = {c.case_id for c in data.cases if c.change or not c.all_correct}
    detailed = {r.case_id for r in with_steps}
    assert detailed <= failing or failing <= detailed
    assert all(c.diff is None for c in data.cases if c.case_id not in detailed)
