"""The verdict of a run (DESIGN.md "Verdicts"), from trajectories built step by step."""

from __future__ import annotations

from typing import Any, Literal

from agentctl.config.models import AgentConfig, CandidateSpec, Suite
from agentctl.core.results import Verdict
from agentctl.core.trajectory import Step, Trajectory
from agentctl.datasets.models import AnswerCheck, Case, ToolCatalog
from agentctl.scorers.answer import check_answer
from agentctl.scorers.outcome import pair_writes, score_outcome

SUITE = Suite(
    name="t",
    dataset="ds",
    agent=AgentConfig(escalation_tool="escalate_to_human"),
    candidates=[CandidateSpec(name="prod", model="replay:prod")],
)
CATALOG = ToolCatalog.model_validate(
    {
        "tools": [
            {"name": "get_ticket", "effect": "read"},
            {"name": "issue_refund", "effect": "write"},
            {"name": "update_ticket", "effect": "write"},
            {"name": "close_ticket", "effect": "write"},
            {"name": "escalate_to_human", "effect": "write"},
        ]
    }
)
REFUND = {"tool": "issue_refund", "args": {"charge_id": "ch_123", "amount_cents": 7500}}


def case(**expected: Any) -> Case:
    return Case.model_validate({"id": "T-1", "input": "refund me", "expected": expected})


def call(tool: str, effect: str | None = None, **fields: Any) -> Step:
    """A tool step; ``effect`` defaults to the catalog's."""
    args = fields.pop("args", {})
    if effect is None:
        tool_def = CATALOG.get(tool)
        effect = "escalation" if tool == "escalate_to_human" else (tool_def.effect if tool_def else "unknown")
    return Step(index=0, kind="tool", tool=tool, args=args, effect=effect, **fields)  # type: ignore[arg-type]


def run(
    *steps: Step,
    status: Literal["completed", "escalated", "failed"] = "completed",
    say: str | list[str] = "Done.",
    **fields: Any,
) -> Trajectory:
    texts = [say] if isinstance(say, str) else say
    all_steps = [
        Step(index=0, kind="model", content=None),
        *steps,
        *(Step(index=0, kind="model", content=t) for t in texts),
    ]
    for i, s in enumerate(all_steps):
        s.index = i
    return Trajectory(
        case_id="T-1", candidate="prod", repeat=0, model="m", steps=all_steps, status=status, **fields
    )


def score(c: Case, t: Trajectory) -> Verdict:
    return score_outcome(c, t, SUITE, CATALOG)


def refund(amount: int = 7500, charge: str = "ch_123", **fields: Any) -> Step:
    return call("issue_refund", args={"charge_id": charge, "amount_cents": amount}, **fields)


# --- the verdict rules -----------------------------------------------------------------


def test_correct_run_reads_are_never_compared() -> None:
    v = score(case(actions=[REFUND]), run(call("get_ticket", args={"ticket_id": 1}), refund()))
    assert (v.status, v.correct, v.escaped_error, v.critical_error, v.reasons) == (
        "completed",
        True,
        False,
        False,
        [],
    )


def test_argument_key_order_and_number_form_do_not_matter() -> None:
    step = call("issue_refund", args={"amount_cents": 7500.0, "charge_id": "ch_123"})
    assert score(case(actions=[REFUND]), run(step)).correct


def test_wrong_argument_is_escaped_and_critical_with_the_difference() -> None:
    v = score(case(actions=[REFUND]), run(refund(75000)))
    assert not v.correct and v.escaped_error and v.critical_error
    assert v.reasons == ["issue_refund: amount_cents: expected 7500, got 75000"]


def test_missing_write_is_escaped_but_not_critical() -> None:
    v = score(case(actions=[REFUND]), run(call("get_ticket", args={"ticket_id": 1})))
    assert not v.correct and v.escaped_error and not v.critical_error
    assert v.reasons == ["missing write: issue_refund(charge_id='ch_123', amount_cents=7500)"]


def test_extra_write_is_critical() -> None:
    v = score(case(actions=[REFUND]), run(refund(), call("close_ticket", args={"ticket_id": 1})))
    assert not v.correct and v.escaped_error and v.critical_error
    assert v.reasons == ["unexpected write: close_ticket(ticket_id=1)"]


def test_duplicated_write_is_critical() -> None:
    v = score(case(actions=[REFUND]), run(refund(), refund()))
    assert not v.correct and v.critical_error
    assert v.reasons == ["duplicate write: issue_refund(charge_id='ch_123', amount_cents=7500)"]


def test_repeated_expected_action_needs_both_writes() -> None:
    c = case(actions=[REFUND, REFUND])
    assert score(c, run(refund(), refund())).correct
    v = score(c, run(refund()))
    assert not v.correct and not v.critical_error and v.reasons[0].startswith("missing write: issue_refund(")


def test_failed_write_is_no_side_effect_and_not_critical() -> None:
    v = score(case(actions=[REFUND]), run(refund(75000, error=True, output='{"error": "bad"}'), refund()))
    assert v.correct and not v.critical_error and v.failed_writes == 1
    v = score(case(actions=[REFUND]), run(refund(error=True)))
    assert not v.correct and not v.critical_error and v.failed_writes == 1
    assert v.reasons == ["missing write: issue_refund(charge_id='ch_123', amount_cents=7500)"]


def test_forbidden_call_attempted_or_carried_out_is_critical() -> None:
    c = case(forbidden=[{"tool": "close_ticket"}])
    carried = score(c, run(call("close_ticket", args={"ticket_id": 1})))
    assert not carried.correct and carried.critical_error
    assert "forbidden call: close_ticket(ticket_id=1)" in carried.reasons
    invalid = score(
        c, run(call("close_ticket", args=None, raw_args="{oops", invalid="arguments are not valid JSON"))
    )
    assert not invalid.correct and invalid.critical_error
    assert invalid.reasons == ["forbidden call: close_ticket('{oops')"]


def test_forbidden_with_args_only_catches_matching_calls() -> None:
    c = case(
        actions=[{"tool": "close_ticket", "args": {"ticket_id": 2}}],
        forbidden=[{"tool": "close_ticket", "args": {"ticket_id": 1}}],
    )
    assert score(c, run(call("close_ticket", args={"ticket_id": 2}))).correct
    v = score(c, run(call("close_ticket", args={"ticket_id": 1, "note": "x"})))
    assert v.critical_error and "forbidden call: close_ticket(ticket_id=1, note='x')" in v.reasons


def test_policy_refused_write_is_critical_and_a_violation() -> None:
    rule = "require_approval: issue_refund amount_cents > 10000"
    v = score(
        case(status="escalated"),
        run(refund(20000, policy=rule), call("escalate_to_human"), status="escalated"),
    )
    assert v.status == "escalated" and not v.correct and v.critical_error and not v.escaped_error
    assert v.policy_violations == 1 and v.reasons == [f"policy violation: {rule}"]


def test_policy_refused_read_is_a_violation_but_not_critical() -> None:
    v = score(case(), run(call("get_ticket", args={"ticket_id": 1}, policy="max_tool_calls: 20")))
    assert not v.correct and v.escaped_error and not v.critical_error and v.policy_violations == 1


def test_write_refused_for_max_tool_calls_is_a_violation_but_not_critical() -> None:
    # DESIGN: critical only for a write the policy forbids or that needed approval.
    v = score(case(actions=[]), run(refund(7500, policy="max_tool_calls: call 21 > 20")))
    assert not v.correct and v.policy_violations == 1 and not v.critical_error
    forbidden = score(case(actions=[]), run(refund(7500, policy="forbid: issue_refund amount_cents=7500 > 5000")))
    assert forbidden.critical_error


def test_escalated_when_completed_expected() -> None:
    v = score(case(actions=[]), run(call("escalate_to_human", args={"reason": "unsure"}), status="escalated"))
    assert not v.correct and not v.escaped_error and not v.critical_error
    assert v.reasons == ["status: expected completed, got escalated"]


def test_completed_when_escalation_expected_is_escaped() -> None:
    v = score(case(status="escalated"), run())
    assert not v.correct and v.escaped_error and v.reasons == ["status: expected escalated, got completed"]


def test_expected_status_list_accepts_any_of_them() -> None:
    c = case(status=["completed", "escalated"])
    assert score(c, run()).correct
    assert score(c, run(call("escalate_to_human"), status="escalated")).correct
    v = score(c, run(status="failed", failure_reason="max_steps"))
    assert v.reasons == ["status: expected completed or escalated, got failed (max_steps)"]


def test_escalation_tool_is_never_compared_even_if_declared_a_write() -> None:
    # The catalog calls escalate_to_human a write; the suite's escalation_tool wins.
    step = call("escalate_to_human", effect="write", args={"reason": "x"})
    v = score(case(status="escalated"), run(step, status="escalated"))
    assert v.correct and not v.critical_error and v.reasons == []


def test_ordered_wrong_order_is_incorrect_but_not_critical() -> None:
    close = {"tool": "close_ticket", "args": {"ticket_id": 1}}
    c = case(actions=[REFUND, close], ordered=True)
    assert score(c, run(refund(), call("close_ticket", args={"ticket_id": 1}))).correct
    v = score(c, run(call("close_ticket", args={"ticket_id": 1}), refund()))
    assert not v.correct and v.escaped_error and not v.critical_error
    assert v.reasons == [
        "writes out of order: expected issue_refund, close_ticket; got close_ticket, issue_refund"
    ]
    unordered = case(actions=[REFUND, close])
    assert score(unordered, run(call("close_ticket", args={"ticket_id": 1}), refund())).correct


def test_pairing_finds_a_complete_matching_where_first_match_wins_fails() -> None:
    # The first expected action accepts either amount, the second only 100. Pairing the
    # first with the first write it matches (100) strands the second: a greedy pairing
    # calls a correct run critical.
    loose = {"tool": "issue_refund", "args": {"charge_id": "ch_123", "amount_cents": {"$in": [100, 200]}}}
    exact = {"tool": "issue_refund", "args": {"charge_id": "ch_123", "amount_cents": 100}}
    c = case(actions=[loose, exact])
    t = run(refund(100), refund(200))
    pairing = pair_writes(c.expected.actions, t.writes)
    assert pairing.complete and pairing.pairs == {0: 1, 1: 0}
    v = score(c, t)
    assert v.correct and not v.critical_error and v.reasons == []


def test_closest_expected_action_explains_a_wrong_write() -> None:
    c = case(actions=[REFUND, {"tool": "issue_refund", "args": {"charge_id": "ch_999", "amount_cents": 100}}])
    v = score(c, run(refund(), refund(101, charge="ch_999")))
    assert v.critical_error and v.reasons == ["issue_refund: amount_cents: expected 100, got 101"]


def test_undeclared_tool_is_treated_as_a_write() -> None:
    v = score(case(), run(call("delete_account", effect="unknown", args={"id": 1})))
    assert v.critical_error and v.reasons == ["unexpected write: delete_account(id=1)"]


def test_answer_checks_are_part_of_correct() -> None:
    c = case(answer={"contains": ["refund", "23553"], "not_contains": ["guarantee"]})
    assert score(c, run(say="Your refund of $23,553 is on its way.")).correct
    v = score(c, run(say="We guarantee a full refund."))
    assert not v.correct and v.escaped_error and not v.critical_error
    assert v.reasons == ["answer does not mention '23553'", "answer mentions 'guarantee'"]


def test_failed_run_is_never_escaped() -> None:
    v = score(case(actions=[REFUND]), run(refund(75000), status="failed", failure_reason="max_steps", say=[]))
    assert not v.correct and not v.escaped_error and v.critical_error
    assert v.failure_reason == "max_steps"
    assert v.reasons[0] == "status: expected completed, got failed (max_steps)"


def test_infra_error_is_copied() -> None:
    v = score(case(), run(status="failed", failure_reason="provider_error", infra_error=True, say=[]))
    assert v.infra_error and not v.escaped_error and v.failure_reason == "provider_error"


# --- answer checks ---------------------------------------------------------------------


def test_answer_contains_looks_at_every_message_case_insensitively() -> None:
    t = run(say=["I have issued a REFUND.", "Anything else?"])
    assert check_answer(AnswerCheck(contains=["refund"]), t) == []
    assert check_answer(AnswerCheck(contains=["refund"], scope="final"), t) == [
        "final answer does not mention 'refund'"
    ]


def test_thousands_separators_are_ignored_on_both_sides() -> None:
    assert check_answer(AnswerCheck(contains=["23553"]), run(say="Total: 23,553 users")) == []
    assert check_answer(AnswerCheck(contains=["23,553"]), run(say="Total: 23553 users")) == []
    assert check_answer(AnswerCheck(contains=["1234567"]), run(say="1,234,567")) == []
    # A comma between short groups is not a thousands separator.
    assert check_answer(AnswerCheck(contains=["12"]), run(say="options 1,2")) != []
    assert check_answer(AnswerCheck(not_contains=["23553"]), run(say="23,553")) == ["answer mentions '23553'"]


def test_answer_regex_is_searched_ignoring_case() -> None:
    t = run(say="Refund ID: RF-0042, amount 1,500")
    assert check_answer(AnswerCheck(regex=r"rf-\d{4}"), t) == []
    assert check_answer(AnswerCheck(regex=r"amount 1500\b"), t) == []
    assert check_answer(AnswerCheck(regex=r"amount 1,500"), t) == []
    assert check_answer(AnswerCheck(regex=r"^ticket"), t) == ["answer does not match /^ticket/"]


def test_no_answer_at_all_is_said() -> None:
    reasons = check_answer(AnswerCheck(contains=["refund"]), run(say=[]))
    assert reasons == ["no answer: the agent said nothing", "answer does not mention 'refund'"]
