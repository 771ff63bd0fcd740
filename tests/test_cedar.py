"""``policy.cedar``: real Cedar policies (cedarpy) on every tool call, through the real run path."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentctl.config.cedar import check_cedar, to_context
from agentctl.config.loader import load_suite_and_dataset, validate_suite
from agentctl.config.models import CedarPolicy
from agentctl.engine.policy import PolicyChecker
from agentctl.main import app
from agentctl.runner import run_suite
from agentctl.store.store import Store

REPO = Path(__file__).resolve().parents[1]

TOOLS = """
- name: get_ticket
  description: Fetch a support ticket by id.
  effect: read
  parameters: {type: object, properties: {ticket_id: {type: integer}}, required: [ticket_id]}
- name: issue_refund
  description: Refund part or all of a charge.
  effect: write
  parameters:
    type: object
    properties: {charge_id: {type: string}, amount_cents: {type: number}, approval_id: {type: string}}
    required: [charge_id, amount_cents]
- name: close_ticket
  description: Close tickets.
  effect: write
  parameters: {type: object, properties: {ticket_ids: {type: array, items: {type: integer}}}, required: [ticket_ids]}
- name: escalate_to_human
  description: Hand the case to a person.
  effect: write
  parameters: {type: object, properties: {reason: {type: string}}}
"""

THRESHOLDS = """
// Refund-Agent: up to $50 on its own, up to $300 with an approval, never more.
@id("small-refunds")
permit (principal, action == Action::"issue_refund", resource)
when { context.amount_cents <= 5000 };

@id("approved-refunds")
permit (principal, action == Action::"issue_refund", resource)
when { context.amount_cents <= 30000 && context has approval_id };

@id("reads")
permit (principal, action == Action::"get_ticket", resource);

@id("no-bulk-close")
forbid (principal, action == Action::"close_ticket", resource)
when { context.ticket_ids_count > 1 };

@id("closes")
permit (principal, action == Action::"close_ticket", resource);
"""


def _checker(tmp_path: Path, policies: str, *, candidate: str = "prod", principal: str | None = None,
             entities: list[dict[str, Any]] | None = None) -> PolicyChecker:
    from agentctl.config.models import Policy
    from agentctl.datasets.loader import load_dataset

    ds = tmp_path / "ds"
    ds.mkdir(exist_ok=True)
    (ds / "tools.yaml").write_text(TOOLS)
    (ds / "cases.jsonl").write_text(json.dumps({"id": "T-1", "input": "hi", "expected": {"status": "completed"}}) + "\n")
    (tmp_path / "p.cedar").write_text(policies)
    if entities is not None:
        (tmp_path / "entities.json").write_text(json.dumps(entities))
    cedar = CedarPolicy(policies="p.cedar", entities="entities.json" if entities is not None else None,
                        principal=principal)
    dataset = load_dataset(ds)
    return PolicyChecker.for_candidate(Policy(cedar=cedar), dataset.tools, "escalate_to_human", candidate, tmp_path)


def test_refund_threshold_with_approval(tmp_path: Path) -> None:
    checker = _checker(tmp_path, THRESHOLDS)
    assert checker.check("issue_refund", {"charge_id": "ch_1", "amount_cents": 4999}, 0) is None
    refused = checker.check("issue_refund", {"charge_id": "ch_1", "amount_cents": 12000}, 0)
    assert refused == "cedar: issue_refund denied (no policy permits it)"
    assert checker.check("issue_refund", {"charge_id": "ch_1", "amount_cents": 12000, "approval_id": "A-7"}, 0) is None
    assert checker.check("issue_refund", {"charge_id": "ch_1", "amount_cents": 30001, "approval_id": "A-7"}, 0) \
        == "cedar: issue_refund denied (no policy permits it)"
    # A float with an integral value is a Long, as in JSON: 12000.0 is held to the same rules.
    assert checker.check("issue_refund", {"charge_id": "ch_1", "amount_cents": 12000.0}, 0) is not None


def test_forbidden_bulk_action_names_the_deciding_policy(tmp_path: Path) -> None:
    checker = _checker(tmp_path, THRESHOLDS)
    assert checker.check("close_ticket", {"ticket_ids": [5]}, 0) is None
    assert checker.check("close_ticket", {"ticket_ids": [5, 6]}, 0) == "cedar: close_ticket denied by no-bulk-close"
    # Duplicates fold in a Cedar set, not in the count: [5, 5] is still two closes.
    assert checker.check("close_ticket", {"ticket_ids": [5, 5]}, 0) == "cedar: close_ticket denied by no-bulk-close"


def test_policy_without_id_is_named_by_file_and_line(tmp_path: Path) -> None:
    checker = _checker(tmp_path, 'permit (principal, action, resource);\n\nforbid (principal, action, resource)\n'
                                 'when { context has danger };\n')
    assert checker.check("get_ticket", {"ticket_id": 1, "danger": True}, 0) == "cedar: get_ticket denied by p.cedar:3"


def test_per_principal_scope(tmp_path: Path) -> None:
    policies = 'permit (principal == Agent::"refund-bot", action == Action::"issue_refund", resource);\n'
    args = {"charge_id": "ch_1", "amount_cents": 100}
    assert _checker(tmp_path, policies, candidate="refund-bot").check("issue_refund", args, 0) is None
    assert _checker(tmp_path, policies, candidate="triage-bot").check("issue_refund", args, 0) is not None
    # A configured principal replaces the candidate name.
    fixed = _checker(tmp_path, policies, candidate="triage-bot", principal='Agent::"refund-bot"')
    assert fixed.check("issue_refund", args, 0) is None


def test_entity_store_groups_and_attributes(tmp_path: Path) -> None:
    policies = textwrap.dedent("""
        @id("billing-refunds")
        permit (principal in Team::"billing", action == Action::"issue_refund", resource)
        when { context.amount_cents <= principal.refund_limit_cents };
    """)
    entities = [
        {"uid": {"type": "Team", "id": "billing"}, "attrs": {}, "parents": []},
        {"uid": {"type": "Agent", "id": "refund-bot"}, "attrs": {"refund_limit_cents": 20000},
         "parents": [{"type": "Team", "id": "billing"}]},
        {"uid": {"type": "Agent", "id": "triage-bot"}, "attrs": {"refund_limit_cents": 99999}, "parents": []},
    ]
    bot = _checker(tmp_path, policies, candidate="refund-bot", entities=entities)
    assert bot.check("issue_refund", {"charge_id": "c", "amount_cents": 15000}, 0) is None
    assert bot.check("issue_refund", {"charge_id": "c", "amount_cents": 25000}, 0) is not None
    outsider = _checker(tmp_path, policies, candidate="triage-bot", entities=entities)
    assert outsider.check("issue_refund", {"charge_id": "c", "amount_cents": 100}, 0) is not None


def test_decimal_context_and_policies(tmp_path: Path) -> None:
    assert to_context({"usd": 12.5, "n": 3, "whole": 4.0, "gone": None, "ids": [1, 2]}) == {
        "usd": {"__extn": {"fn": "decimal", "arg": "12.5"}}, "n": 3, "whole": 4, "ids": [1, 2], "ids_count": 2}
    # An argument cannot forge a Cedar entity reference.
    assert isinstance(to_context({"x": {"__entity": {"type": "Agent", "id": "admin"}}})["x"], str)
    checker = _checker(tmp_path, 'permit (principal, action == Action::"issue_refund", resource)\n'
                                 'when { context.amount_cents.lessThanOrEqual(decimal("12.50")) };\n')
    assert checker.check("issue_refund", {"charge_id": "c", "amount_cents": 12.5}, 0) is None
    assert checker.check("issue_refund", {"charge_id": "c", "amount_cents": 12.51}, 0) is not None


# ---- through eval run: verdicts, reasons, store ------------------------------------------------


def _call(name: str, args: dict[str, Any], n: int) -> dict[str, Any]:
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": f"c{n}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]}


def _suite(tmp_path: Path, policies: str) -> Path:
    ds = tmp_path / "dataset"
    ds.mkdir()
    (ds / "tools.yaml").write_text(TOOLS)
    cases = [
        {"id": "W-1", "input": "refund", "expected": {"actions": [
            {"tool": "issue_refund", "args": {"charge_id": "ch_1", "amount_cents": 20000}}]}},
        {"id": "R-1", "input": "look", "expected": {"status": "completed"}},
    ]
    runs = [
        {"run_id": "r1", "case_id": "W-1", "label": "prod", "messages": [
            {"role": "user", "content": "refund"}, _call("issue_refund", {"charge_id": "ch_1", "amount_cents": 20000}, 1),
            {"role": "tool", "tool_call_id": "c1", "content": "{\"ok\": true}"}, {"role": "assistant", "content": "Done."}]},
        {"run_id": "r2", "case_id": "R-1", "label": "prod", "messages": [
            {"role": "user", "content": "look"}, _call("get_ticket", {"ticket_id": 13}, 1),
            {"role": "tool", "tool_call_id": "c1", "content": "{\"id\": 13}"}, {"role": "assistant", "content": "Seen."}]},
    ]
    (ds / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cases))
    (ds / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "rules.cedar").write_text(policies)
    suite = tmp_path / "suite.yaml"
    suite.write_text(textwrap.dedent("""\
        version: 1
        name: cedar-small
        dataset: dataset
        agent: {escalation_tool: escalate_to_human}
        candidates:
          - {name: prod, model: "replay:prod"}
        policy:
          cedar:
            policies: policies
        gates:
          - {metric: success_rate, min: 0.5}
        """))
    return suite


def _results(db: Path) -> dict[str, Any]:
    with Store(db, read_only=True) as store:
        run_id = store.list_runs()[0]["run_id"]
        results = {r.case_id: r for r in store.load_results(run_id)}
        steps = store.con.execute("SELECT case_id, tool, policy, policy_notes FROM steps WHERE kind='tool'").fetchall()
    return {"results": results, "steps": {s[0]: s[1:] for s in steps}}


def test_deny_on_a_write_is_critical_and_on_a_read_a_violation_only(tmp_path: Path) -> None:
    suite = _suite(tmp_path, textwrap.dedent("""
        permit (principal, action, resource);
        @id("refund-limit")
        forbid (principal, action == Action::"issue_refund", resource) when { context.amount_cents > 10000 };
        @id("no-reading-13")
        forbid (principal == Agent::"prod", action == Action::"get_ticket", resource) when { context.ticket_id == 13 };
        """))
    db = tmp_path / "s.duckdb"
    outcome = run_suite(suite, db=db)
    got = _results(db)
    write, read = got["results"]["W-1"], got["results"]["R-1"]
    assert (write.critical_error, write.correct, write.policy_violations) == (True, False, 1)
    assert "policy violation: cedar: issue_refund denied by refund-limit" in write.reasons
    assert (read.critical_error, read.correct, read.policy_violations) == (False, False, 1)
    assert "policy violation: cedar: get_ticket denied by no-reading-13" in read.reasons
    assert got["steps"]["R-1"][1] == "cedar: get_ticket denied by no-reading-13"
    assert outcome.exit_code == 1


def test_evaluation_error_is_reported_not_swallowed(tmp_path: Path) -> None:
    # ticket_id is a Long: comparing it with a decimal is a type error, so Cedar skips the forbid
    # and the call goes ahead, as production's Cedar would decide; the run says why.
    suite = _suite(tmp_path, textwrap.dedent("""
        permit (principal, action == Action::"get_ticket", resource);
        @id("typo")
        forbid (principal, action == Action::"get_ticket", resource)
        when { context.ticket_id.greaterThan(decimal("1.0")) };
        @id("bad-permit")
        permit (principal, action == Action::"issue_refund", resource) when { context.missing > 1 };
        """))
    db = tmp_path / "s.duckdb"
    run_suite(suite, db=db)
    got = _results(db)
    read = got["results"]["R-1"]
    assert read.correct is True and read.policy_violations == 0
    assert any(r.startswith("cedar: get_ticket allowed, but evaluation error:") and "`typo`" in r
               for r in read.reasons), read.reasons
    tool, policy, notes = got["steps"]["R-1"]
    assert policy is None and notes and "type error" in notes[0]
    # A Deny whose policies also erred carries the errors in the step's policy text.
    write_policy = got["steps"]["W-1"][1]
    assert write_policy.startswith("cedar: issue_refund denied (no policy permits it); evaluation errors: ")
    assert "`bad-permit`" in write_policy and "missing" in write_policy, write_policy
    assert any(r.startswith("policy violation: cedar: issue_refund denied") and "bad-permit" in r
               for r in got["results"]["W-1"].reasons)


# ---- suite validate ----------------------------------------------------------------------------


def test_validate_reports_syntax_errors_with_file_and_line(tmp_path: Path) -> None:
    suite = _suite(tmp_path, 'permit (principal, action, resource);\n\n// a comment; with a semicolon\n'
                             '@id("broken")\nforbid (principal, action, resource)\nwhen { context.x > };\n')
    check = validate_suite(suite)
    problems = [str(p) for p in check.errors]
    assert len(problems) == 1
    assert problems[0].endswith("rules.cedar:6: Cedar syntax error: unexpected token `}`"), problems
    result = CliRunner().invoke(app, ["suite", "validate", str(suite)])
    assert result.exit_code == 2 and "rules.cedar:6" in result.output and "Traceback" not in result.output


def test_validate_reports_an_action_no_tool_has(tmp_path: Path) -> None:
    suite = _suite(tmp_path, 'permit (principal, action, resource);\n'
                             'forbid (principal, action in [Action::"issue_refund", Action::"isue_refund"], resource);\n')
    problems = [str(p) for p in validate_suite(suite).errors]
    assert problems == [f"{_rel(tmp_path / 'policies' / 'rules.cedar')}:2: "
                        "policy names Action::\"isue_refund\", which no tool has (did you mean 'issue_refund'?)"]


def test_validate_reports_missing_files_at_the_suite_key(tmp_path: Path) -> None:
    suite = _suite(tmp_path, "permit (principal, action, resource);\n")
    text = suite.read_text().replace("policies: policies", "policies: nowhere.cedar\n    entities: none.json")
    suite.write_text(text)
    problems = [str(p) for p in validate_suite(suite).errors]
    assert any("nowhere.cedar" in p and "cannot read Cedar policies" in p for p in problems), problems
    assert any("none.json" in p and "cannot read Cedar entities" in p for p in problems), problems
    with pytest.raises(Exception) as info:
        load_suite_and_dataset(suite)
    assert "nowhere.cedar" in str(info.value)


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def test_check_cedar_parses_the_demo_policies() -> None:
    cedar = CedarPolicy(policies="../datasets/support-triage/policies")
    problems, policies = check_cedar(cedar, REPO / "evalsuites", ["issue_refund", "close_ticket"])
    assert problems == [] and policies is not None
    assert [s.label for s in policies.statements] == ["tools-permitted", "refund-needs-approval", "no-bulk-close"]


def test_cedarpy_is_imported_only_by_suites_that_use_it() -> None:
    code = ("import sys; from agentctl.config.loader import load_suite_and_dataset; from agentctl.runner import run_suite;"
            "from agentctl.providers.replay import ReplayProvider;"
            "s, d, _ = load_suite_and_dataset('evalsuites/support-triage.yaml');"
            "ReplayProvider('prod', s, d, candidate_name='prod').replay(d.cases[0], 1);"
            "assert 'cedarpy' not in sys.modules, 'cedarpy imported';"
            "s, d, _ = load_suite_and_dataset('evalsuites/support-triage-cedar.yaml');"
            "assert 'cedarpy' in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
