"""PolicyChecker: which calls the suite's policy refuses, and how the reason reads."""

from __future__ import annotations

from typing import Any

import pytest

from agentctl.config.models import Policy
from agentctl.datasets.models import Tool, ToolCatalog
from agentctl.engine.policy import PolicyChecker

CATALOG = ToolCatalog(
    tools=[
        Tool(name="get_ticket", effect="read"),
        Tool(name="update_ticket", effect="write"),
        Tool(name="issue_refund", effect="write"),
        Tool(name="close_ticket", effect="write"),
        Tool(name="escalate_to_human", effect="write"),
    ]
)


def checker(policy: dict[str, Any], escalation_tool: str | None = "escalate_to_human") -> PolicyChecker:
    return PolicyChecker(Policy.model_validate(policy), CATALOG, escalation_tool)


def test_require_approval_over_threshold_names_value_and_bound() -> None:
    pc = checker({"require_approval": [{"tool": "issue_refund", "when": {"arg": "amount_cents", "gt": 10000}}]})
    assert pc.check("issue_refund", {"amount_cents": 15000}, 0) == "require_approval: issue_refund amount_cents=15000 > 10000"
    assert pc.check("issue_refund", {"amount_cents": 10000}, 0) is None  # gt is strict
    assert pc.check("issue_refund", {"amount_cents": 10000.5}, 0) == (
        "require_approval: issue_refund amount_cents=10000.5 > 10000")
    assert pc.check("update_ticket", {"amount_cents": 15000}, 0) is None  # other tools untouched


def test_forbid_bulk_close_with_len_gt() -> None:
    pc = checker({"forbid": [{"tool": "close_ticket", "when": {"arg": "ticket_ids", "len_gt": 1}}]})
    assert pc.check("close_ticket", {"ticket_ids": [1, 2, 3]}, 0) == "forbid: close_ticket len(ticket_ids)=3 > 1"
    assert pc.check("close_ticket", {"ticket_ids": [1]}, 0) is None
    assert pc.check("close_ticket", {"ticket_ids": "1,2,3"}, 0) is None  # not a list


def test_allow_tools_refuses_others_but_never_the_hand_off() -> None:
    pc = checker({"allow_tools": ["get_ticket"]})
    assert pc.check("close_ticket", {}, 0) == "not_allowed: close_ticket is not in allow_tools"
    assert pc.check("get_ticket", {}, 0) is None
    assert pc.check("escalate_to_human", {}, 0) is None
    assert pc.offered_tools() == ["get_ticket", "escalate_to_human"]
    assert checker({}).offered_tools() == CATALOG.names


def test_max_tool_calls_counts_calls_before_this_one() -> None:
    pc = checker({"max_tool_calls": 20})
    assert pc.check("get_ticket", {}, 19) is None  # the 20th call
    assert pc.check("get_ticket", {}, 20) == "max_tool_calls: call 21 > 20"
    assert pc.check("escalate_to_human", {}, 25) is None


def test_forbid_wins_over_other_rules() -> None:
    pc = checker({"allow_tools": ["get_ticket"], "forbid": [{"tool": "close_ticket"}], "max_tool_calls": 1})
    assert pc.check("close_ticket", {"ticket_ids": [1]}, 5) == "forbid: close_ticket"


@pytest.mark.parametrize(
    ("when", "args", "caught"),
    [
        ({"arg": "priority", "eq": "urgent"}, {"priority": "urgent"}, "priority=\"urgent\" == \"urgent\""),
        ({"arg": "priority", "eq": "urgent"}, {"priority": "low"}, None),
        ({"arg": "amount", "eq": 5}, {"amount": 5.0}, "amount=5 == 5"),
        ({"arg": "priority", "ne": "low"}, {"priority": "urgent"}, "priority=\"urgent\" != \"low\""),
        ({"arg": "priority", "ne": "low"}, {}, None),  # missing never satisfies, not even ne
        ({"arg": "amount", "gte": 100}, {"amount": 100}, "amount=100 >= 100"),
        ({"arg": "amount", "lt": 100}, {"amount": 99}, "amount=99 < 100"),
        ({"arg": "amount", "lt": 100}, {"amount": 100}, None),
        ({"arg": "amount", "lte": 100}, {"amount": 100}, "amount=100 <= 100"),
        ({"arg": "amount", "gt": 0}, {"amount": "5"}, None),  # strings are not numbers
        ({"arg": "amount", "gt": 0}, {"amount": True}, None),
        ({"arg": "priority", "in": ["high", "urgent"]}, {"priority": "high"}, "priority=\"high\" in [\"high\", \"urgent\"]"),
        ({"arg": "priority", "in": ["high", "urgent"]}, {"priority": "low"}, None),
        ({"arg": "address.country", "eq": "FR"}, {"address": {"country": "FR"}}, "address.country=\"FR\" == \"FR\""),
        ({"arg": "address.country", "eq": "FR"}, {"address": "FR"}, None),
        ({"arg": "amount", "gt": 0}, None, None),  # unparsable arguments
        ({"arg": "urgent", "eq": 1}, {"urgent": True}, None),  # JSON keeps true and 1 apart
        ({"arg": "urgent", "in": [1, 2]}, {"urgent": True}, None),
        ({"arg": "urgent", "eq": True}, {"urgent": True}, "urgent=true == true"),
    ],
)
def test_conditions(when: dict[str, Any], args: dict[str, Any] | None, caught: str | None) -> None:
    pc = checker({"forbid": [{"tool": "update_ticket", "when": when}]})
    got = pc.check("update_ticket", args, 0)
    assert got == (None if caught is None else f"forbid: update_ticket {caught}")


def test_condition_list_needs_all_to_hold() -> None:
    pc = checker(
        {
            "require_approval": [
                {
                    "tool": "issue_refund",
                    "when": [{"arg": "amount_cents", "gt": 5000}, {"arg": "currency", "eq": "EUR"}],
                }
            ]
        }
    )
    assert pc.check("issue_refund", {"amount_cents": 6000, "currency": "USD"}, 0) is None
    assert pc.check("issue_refund", {"amount_cents": 6000}, 0) is None
    assert (
        pc.check("issue_refund", {"amount_cents": 6000, "currency": "EUR"}, 0)
        == 'require_approval: issue_refund amount_cents=6000 > 5000 and currency="EUR" == "EUR"'
    )


def test_rule_without_when_catches_every_call_even_with_bad_arguments() -> None:
    pc = checker({"require_approval": [{"tool": "issue_refund"}]})
    assert pc.check("issue_refund", None, 0) == "require_approval: issue_refund"
    assert pc.check("issue_refund", {"amount_cents": 1}, 0) == "require_approval: issue_refund"
